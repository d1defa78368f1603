// Exit node on Linux: IPv4 forwarding via /proc/sys, source NAT and the unsolicited-traffic
// drop in an nftables table of our own (see nft.ts). The order is: find every route's LAN path
// (read-only), record the old ip_forward in the state file, create the table in one
// transaction, set ip_forward. Any failure undoes what was done, so nothing is left half-set.
import { readFileSync } from 'node:fs';
import { cidrNetwork, formatCidr, type Cidr } from '../../../src-shared/lib/ip/ipv4.js';
import type { Logger } from '../../../src-shared/lib/log.js';
import { runCommand, type CommandRunner } from '../../../src-shared/lib/command.js';
import { MAX_ROUTES, type ExitNode, type ExitNodeEnv, type ExitNodeOptions } from './index.js';
import { buildNftScript, droppedFromNftJson, exitTableName, type ResolvedRoute } from './nft.js';
import { parseDefaultRoute, parseRouteGet, probeAddresses } from './route.js';
import { clearExitNodeState, readExitNodeState, writeExitNodeState } from './state.js';
import { buildIptablesRestore, droppedFromIptables, iptablesChainBase, removeIptables } from './iptables.js';

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
import { DEFAULT_SYSCTL_DIR, readIpForward, writeIpForward } from './sysctl.js';

const IFNAME_RE = /^[A-Za-z0-9_.-]{1,15}$/;

function nftMissing(stderr: string): boolean {
  return /ENOENT/.test(stderr);
}

/** resolveRoute finds the interface and our source address for a provided route. */
export async function resolveRoute(run: CommandRunner, route: Cidr, adapter: string): Promise<ResolvedRoute> {
  const cidr = formatCidr(cidrNetwork(route));
  if (route.bits === 0) {
    const r = await run('ip', ['-j', '-4', 'route', 'show', 'default']);
    const dr = r.ok ? parseDefaultRoute(r.stdout) : null;
    if (dr === null) throw new Error(`exit node route ${cidr}: this machine has no IPv4 default route`);
    if (dr.dev === adapter)
      throw new Error(`exit node route ${cidr}: the default route leads through the Warren adapter ${adapter}`);
    let src = dr.prefsrc;
    if (src === null && dr.gateway !== null) {
      const g = await run('ip', ['-j', 'route', 'get', dr.gateway]);
      const path = g.ok ? parseRouteGet(g.stdout) : null;
      if (path !== null && path.dev === dr.dev) src = path.prefsrc;
    }
    if (src === null)
      throw new Error(
        `exit node route ${cidr}: cannot tell this machine's address on ${dr.dev}, the default route's interface`,
      );
    return { route: cidrNetwork(route), via: dr.dev, snatTo: src };
  }
  for (const probe of probeAddresses(route)) {
    const r = await run('ip', ['-j', 'route', 'get', probe]);
    const path = r.ok ? parseRouteGet(r.stdout) : null;
    if (path === null) continue;
    if (path.dev === adapter)
      throw new Error(
        `exit node route ${cidr}: it leads back through the Warren adapter ${adapter}, not to a local network`,
      );
    return { route: cidrNetwork(route), via: path.dev, snatTo: path.prefsrc };
  }
  throw new Error(`exit node route ${cidr}: this machine has no local path to it (no interface or source address)`);
}

async function tableExists(run: CommandRunner, table: string): Promise<boolean> {
  return (await run('nft', ['list', 'table', 'ip', table])).ok;
}

// removeTable deletes our table if present; it reports success and never throws.
async function removeTable(run: CommandRunner, table: string, log: Logger): Promise<boolean> {
  if (!(await tableExists(run, table))) return true;
  const r = await run('nft', ['delete', 'table', 'ip', table]);
  if (!r.ok) log.error(`exit node: could not delete nft table ip ${table}: ${r.stderr.trim()}`);
  return r.ok;
}

function restoreIpForward(sysctlDir: string, value: '0' | '1', log: Logger): boolean {
  try {
    if (readIpForward(sysctlDir) !== value) writeIpForward(sysctlDir, value);
    return true;
  } catch (e) {
    log.error(`exit node: could not restore net.ipv4.ip_forward=${value}: ${(e as Error).message}`);
    return false;
  }
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
  const sysctlBack = restoreIpForward(env.sysctlDir ?? DEFAULT_SYSCTL_DIR, old.ipForward, log);
  // The state stays if something could not be undone, so the next start tries again.
  if (tableGone && sysctlBack) clearExitNodeState(stateDir);
  log.warn(
    `exit node: cleaned up after a helper (pid ${old.pid}) that did not stop cleanly: ` +
      `${old.backend === 'iptables' ? 'iptables chains' : 'nft table ip'} ${old.table}, net.ipv4.ip_forward=${old.ipForward}`,
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

/** applyLinuxExitNode is applyExitNode on Linux. */
export async function applyLinuxExitNode(opts: ExitNodeOptions): Promise<ExitNode> {
  const { adapter, stateDir, log } = opts;
  const run = opts.run ?? runCommand;
  const sysctlDir = opts.sysctlDir ?? DEFAULT_SYSCTL_DIR;
  if (!IFNAME_RE.test(adapter)) throw new Error(`exit node: bad adapter name ${JSON.stringify(adapter.slice(0, 32))}`);
  if (opts.routes.length === 0) throw new Error('exit node: no routes to provide');
  if (opts.routes.length > MAX_ROUTES)
    throw new Error(`exit node: ${opts.routes.length} routes, at most ${MAX_ROUTES} are allowed`);
  await recoverLinuxExitNode(stateDir, log, { run, sysctlDir });
  const backend = await chooseBackend(run);
  const table = backend === 'nft' ? exitTableName(adapter) : iptablesChainBase(adapter);

  const seen = new Set<string>();
  const resolved: ResolvedRoute[] = [];
  for (const route of opts.routes) {
    const key = formatCidr(cidrNetwork(route));
    if (seen.has(key)) continue;
    seen.add(key);
    resolved.push(await resolveRoute(run, route, adapter));
  }
  const script =
    backend === 'nft'
      ? buildNftScript({ table, adapter, overlay: opts.overlay, routes: resolved })
      : buildIptablesRestore(table, adapter, opts.overlay, resolved);
  const remove = (): Promise<boolean> =>
    backend === 'nft' ? removeTable(run, table, log) : removeIptables(run, table);

  const oldForward = readIpForward(sysctlDir);
  writeExitNodeState(stateDir, { pid: process.pid, table, ipForward: oldForward, backend });
  let done = false;
  const undo = async (): Promise<void> => {
    if (done) return;
    done = true;
    const tableGone = await remove();
    const sysctlBack = restoreIpForward(sysctlDir, oldForward, log);
    if (tableGone && sysctlBack) clearExitNodeState(stateDir);
  };
  try {
    const r =
      backend === 'nft'
        ? await run('nft', ['-f', '-'], script)
        : await run('iptables-restore', ['-w', '5', '--noflush'], script);
    if (!r.ok) {
      if (nftMissing(r.stderr))
        throw new Error(`exit node: the \`${backend === 'nft' ? 'nft' : 'iptables-restore'}\` command is missing`);
      throw new Error(`exit node: ${backend} refused the rules: ${r.stderr.trim()}`);
    }
    writeIpForward(sysctlDir, '1');
  } catch (e) {
    await undo();
    throw e;
  }
  await warnIfForwardBlocked(run, table, adapter, log);

  const routes = resolved.map((r) => ({ cidr: formatCidr(r.route), via: r.via, snatTo: r.snatTo }));
  log.info(
    `exit node up: ${routes.map((r) => `${r.cidr} via ${r.via} as ${r.snatTo}`).join(', ')} ` +
      `(${backend === 'nft' ? `nft table ip ${table}` : `iptables chains ${table}-NAT and ${table}-FWD`})`,
  );
  return {
    routes,
    table,
    counters: async () => {
      if (backend === 'iptables') {
        const r = await run('iptables', ['-w', '5', '-t', 'filter', '-L', `${table}-FWD`, '-v', '-x', '-n']);
        return { unsolicitedDropped: r.ok ? droppedFromIptables(r.stdout) : 0 };
      }
      const r = await run('nft', ['-j', 'list', 'table', 'ip', table]);
      return { unsolicitedDropped: r.ok ? droppedFromNftJson(r.stdout) : 0 };
    },
    undo: async () => {
      try {
        await undo();
      } catch (e) {
        log.error(`exit node: undo failed: ${(e as Error).message}`);
      }
    },
  };
}
