// Exit node on Linux: forwarding via /proc/sys (sysctl.ts), source NAT and the
// unsolicited-traffic drop in an nftables table of our own (see nft.ts). The order is: find every
// route's LAN path (read-only), record the old forwarding values in the state file, create the
// table in one transaction, turn forwarding on. Any failure undoes what was done, so nothing is
// left half-set.
import { readFileSync } from 'node:fs';
import { formatIpPrefix, prefixNetwork } from '../../../src-shared/lib/ip/addr.js';
import type { Logger } from '../../../src-shared/lib/log.js';
import { runCommand, type CommandRunner } from '../../../src-shared/lib/command.js';
import { MAX_ROUTES, type ExitNode, type ExitNodeEnv, type ExitNodeOptions } from './index.js';
import { buildNftScript, droppedFromNftJson, exitTableName, NFT_FAMILY, type ResolvedRoute } from './nft.js';
import { resolveRoute } from './resolve.js';
import { clearExitNodeState, readExitNodeState, writeExitNodeState } from './state.js';
import {
  buildIptablesRestore,
  droppedFromIptables,
  iptablesChainBase,
  IPV6_NEEDS_NFT,
  removeIptables,
} from './iptables.js';
import {
  captureForwarding,
  DEFAULT_SYSCTL_DIR,
  enableForwarding,
  restoreForwarding,
  type ForwardingRecord,
} from './sysctl.js';

/** Backend is how the exit node's rules are installed: nft, or iptables where nft is absent
 * (or WARREN_FIREWALL_BACKEND=iptables asks for it). */
type Backend = 'nft' | 'iptables';

async function chooseBackend(run: CommandRunner, env: NodeJS.ProcessEnv = process.env): Promise<Backend> {
  const forced = env.WARREN_FIREWALL_BACKEND;
  if (forced === 'iptables' || forced === 'nft') return forced;
  const nft = await run('nft', ['--version']);
  if (nft.ok) return 'nft';
  const ipt = await run('iptables-restore', ['--version']);
  if (ipt.ok) return 'iptables';
  throw new Error(
    'exit node: neither `nft` (nftables) nor `iptables-restore` (iptables) is installed; install nftables',
  );
}

const IFNAME_RE = /^[A-Za-z0-9_.-]{1,15}$/;

function nftMissing(stderr: string): boolean {
  return /ENOENT/.test(stderr);
}

// removeTable deletes our table if present, in our family and in the `ip` family that helpers
// before IPv6 exit routes used (a crash of such a helper may have left one); it reports success
// and never throws.
async function removeTable(run: CommandRunner, table: string, log: Logger): Promise<boolean> {
  let ok = true;
  for (const family of [NFT_FAMILY, 'ip']) {
    if (!(await run('nft', ['list', 'table', family, table])).ok) continue;
    const r = await run('nft', ['delete', 'table', family, table]);
    if (!r.ok) log.error(`exit node: could not delete nft table ${family} ${table}: ${r.stderr.trim()}`);
    ok &&= r.ok;
  }
  return ok;
}

function restoreSysctls(sysctlDir: string, rec: ForwardingRecord, log: Logger): boolean {
  const problems = restoreForwarding(sysctlDir, rec);
  for (const p of problems) log.error(`exit node: ${p}`);
  return problems.length === 0;
}

function describeSysctls(rec: ForwardingRecord): string {
  const parts = [`net.ipv4.ip_forward=${rec.ipForward}`];
  if (rec.ipv6Forward !== undefined) parts.push(`net.ipv6.conf.all.forwarding=${rec.ipv6Forward}`);
  if (rec.acceptRa !== undefined && rec.acceptRa.length > 0) parts.push(`accept_ra=1 on ${rec.acceptRa.join(', ')}`);
  return parts.join(', ');
}

function isLiveWarren(pid: number): boolean {
  if (pid === process.pid || pid <= 0) return false;
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes('warren') || cmdline.includes('cli/main');
  } catch {
    return false;
  }
}

/** recoverLinuxExitNode removes the table and restores ip_forward recorded by a crashed helper. */
export async function recoverLinuxExitNode(stateDir: string, log: Logger, env: ExitNodeEnv = {}): Promise<void> {
  const old = readExitNodeState(stateDir);
  if (old === null) return;
  if (isLiveWarren(old.pid)) {
    throw new Error(`another Warren helper (pid ${old.pid}) runs an exit node with state directory ${stateDir}`);
  }
  const run = env.run ?? runCommand;
  const tableGone =
    old.backend === 'iptables' ? await removeIptables(run, old.table) : await removeTable(run, old.table, log);
  const sysctlBack = restoreSysctls(env.sysctlDir ?? DEFAULT_SYSCTL_DIR, old, log);
  // The state stays if something could not be undone, so the next start tries again.
  if (tableGone && sysctlBack) clearExitNodeState(stateDir);
  log.warn(
    `exit node: cleaned up after a helper (pid ${old.pid}) that did not stop cleanly: ` +
      `${old.backend === 'iptables' ? 'iptables chains' : 'nft table'} ${old.table}, ${describeSysctls(old)}`,
  );
}

// warnIfForwardBlocked reports a host forward policy of drop; it is the host's, so we leave it.
async function warnIfForwardBlocked(run: CommandRunner, table: string, adapter: string, log: Logger): Promise<void> {
  const blockers: string[] = [];
  const chains = await run('nft', ['-j', 'list', 'chains']);
  if (chains.ok) {
    try {
      const doc = JSON.parse(chains.stdout) as { nftables?: unknown };
      for (const item of Array.isArray(doc.nftables) ? doc.nftables : []) {
        const c = (
          item as {
            chain?: { family?: unknown; table?: unknown; name?: unknown; hook?: unknown; policy?: unknown };
          } | null
        )?.chain;
        if (!c || c.hook !== 'forward' || c.policy !== 'drop' || c.table === table) continue;
        blockers.push(`nft ${String(c.family)} ${String(c.table)} ${String(c.name)}`);
      }
    } catch {
      // unreadable listing: nothing to report
    }
  }
  const ipt = await run('iptables', ['-S', 'FORWARD']);
  if (ipt.ok && /^-P FORWARD DROP$/m.test(ipt.stdout) && !blockers.some((b) => b.includes('filter FORWARD'))) {
    blockers.push('iptables FORWARD');
  }
  if (blockers.length > 0) {
    log.warn(
      `exit node: the host's forward policy is drop (${blockers.join(', ')}); traffic between ${adapter} and ` +
        'the provided subnets may be blocked there. Warren does not change rules it did not create.',
    );
  }
}

// checkOptions refuses what cannot be set up, before anything is looked at or changed.
function checkOptions(opts: ExitNodeOptions, backend: Backend): void {
  if (!IFNAME_RE.test(opts.adapter))
    throw new Error(`exit node: bad adapter name ${JSON.stringify(opts.adapter.slice(0, 32))}`);
  if (opts.routes.length === 0) throw new Error('exit node: no routes to provide');
  if (opts.routes.length > MAX_ROUTES)
    throw new Error(`exit node: ${opts.routes.length} routes, at most ${MAX_ROUTES} are allowed`);
  const v6 = opts.routes.filter((r) => r.addr.family === 6);
  if (v6.length === 0) return;
  const list = v6.map((r) => formatIpPrefix(prefixNetwork(r))).join(', ');
  if (opts.overlay6 == null || opts.overlay6.addr.family !== 6)
    throw new Error(`exit node: IPv6 routes (${list}) but this network has no IPv6 overlay, so no traffic for them`);
  if (backend === 'iptables') throw new Error(`exit node: ${IPV6_NEEDS_NFT} (IPv6 routes: ${list})`);
}

async function resolveAll(run: CommandRunner, opts: ExitNodeOptions): Promise<ResolvedRoute[]> {
  const seen = new Set<string>();
  const resolved: ResolvedRoute[] = [];
  for (const route of opts.routes) {
    const key = formatIpPrefix(prefixNetwork(route));
    if (seen.has(key)) continue;
    seen.add(key);
    resolved.push(await resolveRoute(run, route, opts.adapter));
  }
  return resolved;
}

async function installRules(run: CommandRunner, backend: Backend, script: string): Promise<void> {
  const r =
    backend === 'nft'
      ? await run('nft', ['-f', '-'], script)
      : await run('iptables-restore', ['-w', '5', '--noflush'], script);
  if (r.ok) return;
  if (nftMissing(r.stderr))
    throw new Error(`exit node: the \`${backend === 'nft' ? 'nft' : 'iptables-restore'}\` command is missing`);
  throw new Error(`exit node: ${backend} refused the rules: ${r.stderr.trim()}`);
}

async function readCounters(run: CommandRunner, backend: Backend, table: string): Promise<number> {
  if (backend === 'iptables') {
    const r = await run('iptables', ['-w', '5', '-t', 'filter', '-L', `${table}-FWD`, '-v', '-x', '-n']);
    return r.ok ? droppedFromIptables(r.stdout) : 0;
  }
  const r = await run('nft', ['-j', 'list', 'table', NFT_FAMILY, table]);
  return r.ok ? droppedFromNftJson(r.stdout) : 0;
}

/** applyLinuxExitNode is applyExitNode on Linux. */
export async function applyLinuxExitNode(opts: ExitNodeOptions): Promise<ExitNode> {
  const { adapter, stateDir, log } = opts;
  const run = opts.run ?? runCommand;
  const sysctlDir = opts.sysctlDir ?? DEFAULT_SYSCTL_DIR;
  checkOptions(opts, 'nft');
  await recoverLinuxExitNode(stateDir, log, { run, sysctlDir });
  const backend = await chooseBackend(run);
  checkOptions(opts, backend);
  const table = backend === 'nft' ? exitTableName(adapter) : iptablesChainBase(adapter);
  const resolved = await resolveAll(run, opts);
  const script =
    backend === 'nft'
      ? buildNftScript({ table, adapter, overlay: opts.overlay, overlay6: opts.overlay6, routes: resolved })
      : buildIptablesRestore(table, adapter, opts.overlay, resolved);
  const remove = (): Promise<boolean> =>
    backend === 'nft' ? removeTable(run, table, log) : removeIptables(run, table);

  const ipv6 = resolved.some((r) => r.route.addr.family === 6);
  const old = captureForwarding(sysctlDir, ipv6);
  writeExitNodeState(stateDir, { pid: process.pid, table, backend, ...old });
  let done = false;
  const undo = async (): Promise<void> => {
    if (done) return;
    done = true;
    const tableGone = await remove();
    const sysctlBack = restoreSysctls(sysctlDir, old, log);
    if (tableGone && sysctlBack) clearExitNodeState(stateDir);
  };
  try {
    await installRules(run, backend, script);
    enableForwarding(sysctlDir, old);
  } catch (e) {
    await undo();
    throw e;
  }
  await warnIfForwardBlocked(run, table, adapter, log);

  const routes = resolved.map((r) => ({ cidr: formatIpPrefix(r.route), via: r.via, snatTo: r.snatTo }));
  log.info(
    `exit node up: ${routes.map((r) => `${r.cidr} via ${r.via} as ${r.snatTo}`).join(', ')} ` +
      `(${backend === 'nft' ? `nft table ${NFT_FAMILY} ${table}` : `iptables chains ${table}-NAT and ${table}-FWD`}` +
      `${old.acceptRa && old.acceptRa.length > 0 ? `; accept_ra=2 on ${old.acceptRa.join(', ')}` : ''})`,
  );
  return {
    routes,
    table,
    counters: async () => ({ unsolicitedDropped: await readCounters(run, backend, table) }),
    undo: async () => {
      try {
        await undo();
      } catch (e) {
        log.error(`exit node: undo failed: ${(e as Error).message}`);
      }
    },
  };
}
