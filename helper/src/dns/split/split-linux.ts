// Split DNS on Linux. With systemd-resolved: the adapter gets Warren's nameserver and the
// routing-only domain ~ZONE (resolvectl(1), systemd.network(5) Domains=), so only the zone goes
// to Warren. Without it: a managed first nameserver in resolv.conf (see resolv-conf.ts). Every
// change is recorded in STATE_DIR/dns.json before it is made, so a crash is undone next start.
import { existsSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { parseIPv4 } from '../../../../src-shared/lib/ip/ipv4.js';
import type { Logger } from '../../../../src-shared/lib/log.js';
import { normaliseName } from '../names.js';
import { runCommand, type CommandRunner } from '../../../../src-shared/lib/command.js';
import type { SplitDns, SplitDnsEnv, SplitDnsOptions } from './index.js';
import { addManaged, readResolvConf, removeManaged, writeResolvConf } from './resolv-conf.js';
import { clearDnsState, readDnsState, writeDnsState } from './state.js';

/** DEFAULT_RESOLV_CONF and DEFAULT_RESOLVED_DIR are the real machine's paths. */
export const DEFAULT_RESOLV_CONF = '/etc/resolv.conf';
export const DEFAULT_RESOLVED_DIR = '/run/systemd/resolve';

const NONE: SplitDns = Object.freeze({ kind: 'none', undo: async () => undefined });

/** applyLinuxSplitDns applies the best available integration; it never throws. */
export async function applyLinuxSplitDns(opts: SplitDnsOptions): Promise<SplitDns> {
  const { log } = opts;
  const run = opts.run ?? runCommand;
  const zone = normaliseName(opts.zone);
  if (zone === null || parseIPv4(opts.address) === null || !/^[A-Za-z0-9_.-]{1,15}$/.test(opts.adapter)) {
    log.warn(
      `split DNS not set up: adapter ${JSON.stringify(opts.adapter)}, address ${JSON.stringify(opts.address)} or zone ${JSON.stringify(opts.zone)} is not valid`,
    );
    return NONE;
  }
  await recoverLinuxSplitDns(opts.stateDir, log, opts);
  const sameNetns = (opts.sameNetnsAsInit ?? sameNetnsAsInit)();

  if (
    sameNetns &&
    existsSync(opts.resolvedRunDir ?? DEFAULT_RESOLVED_DIR) &&
    (await run('resolvectl', ['status'])).ok
  ) {
    return applyResolved(opts.adapter, opts.address, zone, opts.stateDir, log, run);
  }

  const path = opts.resolvConfPath ?? DEFAULT_RESOLV_CONF;
  if (path === DEFAULT_RESOLV_CONF && !sameNetns && !isMountPoint(path)) {
    // `ip netns exec` gives a namespace its own resolv.conf only if /etc/netns/NAME/resolv.conf
    // exists; without it this file is the host's, and pointing the host at an address that
    // lives in another namespace would slow every lookup on the machine.
    log.warn(
      `split DNS not set up: this helper runs in its own network namespace but ${path} is the host's; ` +
        'create /etc/netns/NAME/resolv.conf to give the namespace its own',
    );
    return NONE;
  }
  return applyResolvConf(path, opts.address, opts.stateDir, log);
}

async function applyResolved(
  adapter: string,
  address: string,
  zone: string,
  stateDir: string,
  log: Logger,
  run: CommandRunner,
): Promise<SplitDns> {
  writeDnsState(stateDir, { kind: 'systemd-resolved', adapter, pid: process.pid });
  const steps: string[][] = [
    ['dns', adapter, address],
    ['domain', adapter, `~${zone}`],
  ];
  for (const args of steps) {
    const r = await run('resolvectl', args);
    if (!r.ok) {
      log.warn(`split DNS not set up: resolvectl ${args.join(' ')}: ${r.stderr.trim() || 'failed'}`);
      await run('resolvectl', ['revert', adapter]);
      clearDnsState(stateDir);
      return NONE;
    }
  }
  // Routing-only domains already keep the link from being the default DNS route; saying it
  // explicitly guards against older defaults. Versions before 240 lack the verb: not fatal.
  await run('resolvectl', ['default-route', adapter, 'false']);
  log.info(`split DNS: systemd-resolved sends *.${zone} to ${address} on ${adapter}`);
  return {
    kind: 'systemd-resolved',
    undo: once(async () => {
      // The link and its settings vanish with the adapter anyway; revert covers a kept adapter.
      await run('resolvectl', ['revert', adapter]);
      clearDnsState(stateDir);
    }),
  };
}

function applyResolvConf(path: string, address: string, stateDir: string, log: Logger): SplitDns {
  try {
    writeDnsState(stateDir, { kind: 'resolv.conf', path, address, pid: process.pid });
    const { text, warnings } = addManaged(readResolvConf(path), address);
    writeResolvConf(path, text);
    for (const w of warnings) log.warn(`split DNS: ${w}`);
    log.info(`split DNS: ${path} lists ${address} as the first nameserver while Warren runs`);
  } catch (e) {
    log.warn(`split DNS not set up: ${path}: ${(e as Error).message}`);
    removeFromResolvConf(path, address, log);
    clearDnsState(stateDir);
    return NONE;
  }
  return {
    kind: 'resolv.conf',
    undo: once(async () => {
      if (removeFromResolvConf(path, address, log)) clearDnsState(stateDir);
    }),
  };
}

// removeFromResolvConf takes our lines out; it says whether the file is now clean.
function removeFromResolvConf(path: string, address: string, log: Logger): boolean {
  try {
    const before = readResolvConf(path);
    const { text, removed } = removeManaged(before, address);
    if (removed > 0) writeResolvConf(path, text);
    return true;
  } catch (e) {
    log.warn(`split DNS: could not remove Warren's nameserver from ${path}: ${(e as Error).message}`);
    return false;
  }
}

/** recoverLinuxSplitDns undoes the change recorded in STATE_DIR/dns.json, if any. */
export async function recoverLinuxSplitDns(stateDir: string, log: Logger, env: SplitDnsEnv = {}): Promise<void> {
  const state = readDnsState(stateDir);
  if (state === null) {
    clearDnsState(stateDir); // unreadable or absent: nothing we can trust to undo
    return;
  }
  if (state.kind === 'systemd-resolved') {
    await (env.run ?? runCommand)('resolvectl', ['revert', state.adapter]);
    clearDnsState(stateDir);
    log.warn(
      `split DNS: reverted systemd-resolved settings of ${state.adapter} left by a helper (pid ${state.pid}) that did not stop cleanly`,
    );
    return;
  }
  if (removeFromResolvConf(state.path, state.address, log)) clearDnsState(stateDir);
  log.warn(
    `split DNS: removed the nameserver ${state.address} from ${state.path} left by a helper (pid ${state.pid}) that did not stop cleanly`,
  );
}

// once makes undo idempotent: the daemon's teardown and a crash handler may both call it.
function once(fn: () => Promise<void>): () => Promise<void> {
  let p: Promise<void> | null = null;
  return () => (p ??= fn());
}

/** sameNetnsAsInit compares our network namespace with PID 1's (true if that cannot be read). */
export function sameNetnsAsInit(): boolean {
  try {
    return readlinkSync('/proc/self/ns/net') === readlinkSync('/proc/1/ns/net');
  } catch {
    // PID 1's namespace can be unreadable (containers, hardened /proc): then a namespace
    // made with `ip netns add` is the tell, and otherwise we assume the machine's own.
    return !inNamedNetns();
  }
}

/** inNamedNetns says whether this process runs in a namespace listed in /run/netns. */
export function inNamedNetns(): boolean {
  try {
    const self = statSync('/proc/self/ns/net');
    return readdirSync('/run/netns').some((n) => {
      try {
        const st = statSync(`/run/netns/${n}`);
        return st.ino === self.ino && st.dev === self.dev;
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

/** isMountPoint says whether path is itself a mount point (e.g. a bind-mounted file). */
export function isMountPoint(path: string): boolean {
  try {
    // mountinfo field 5 is the mount point, with spaces and backslashes octal-escaped.
    return readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .some((l) => l.split(' ')[4] === path);
  } catch {
    return false;
  }
}
