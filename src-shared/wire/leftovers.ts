// What a helper that no longer answers left on the machine, as `warren status` and the app tell
// it (docs/architecture.md, "Lifecycle"). Crash recovery reads the same facts from the state
// directory, which holds secrets and stays root-only; so the helper also keeps a copy of them,
// and nothing else, in a record beside its API socket that every user may read
// (LeftoverRecord, written by helper/src/daemon/leftovers.ts). No Node or DOM imports here.

/** LEFTOVER_RECORD_VERSION is the record's format. */
export const LEFTOVER_RECORD_VERSION = 1;

/** LeftoverDns is a split-DNS change (helper/src/dns/split/state.ts). */
export type LeftoverDns =
  { kind: 'resolv.conf'; path: string; address: string } | { kind: 'systemd-resolved'; adapter: string };

/** Leftovers are the changes a helper's state files record; null or 0 where there is none. */
export interface Leftovers {
  /** adapter is the adapter of the helper's state record (helper.json). */
  adapter: string | null;
  /** routes counts routes recorded outside the adapter. */
  routes: number;
  /** fullTunnel: its rules; killSwitch null when the record predates saying so. */
  fullTunnel: { killSwitch: boolean | null } | null;
  dns: LeftoverDns | null;
  /** exitNode: its firewall table (or iptables chains) and the ip_forward value it found. */
  exitNode: LeftoverExitNode | null;
}

/** LeftoverExitNode is an exit node's record (helper/src/exitnode/state.ts): ipForward and
 * ipv6Forward are the values found before the helper set 1 (ipv6Forward absent when IPv6 was
 * not touched); acceptRa the interfaces whose accept_ra it raised to 2, since forwarding on
 * would otherwise make the kernel ignore router advertisements there (ip-sysctl.rst). */
export interface LeftoverExitNode {
  table: string;
  ipForward: '0' | '1';
  ipv6Forward?: '0' | '1';
  acceptRa?: string[];
}

/** LeftoverRecord is the readable record beside the socket. */
export interface LeftoverRecord {
  version: typeof LEFTOVER_RECORD_VERSION;
  /** pid is the helper that keeps the record (or whose changes remain), null if unknown. */
  pid: number | null;
  stateDir: string;
  updatedAt: number;
  leftovers: Leftovers;
}

/** HelperStop is how a helper that does not answer stopped: 'clean' (nothing of it remains),
 * 'left-changes' (changes remain and the recorded helper is gone: it crashed, was killed, or
 * could not undo them), 'unanswered' (the recorded helper still runs but not on this socket),
 * 'unknown' (nothing readable says). */
export type HelperStop = 'clean' | 'left-changes' | 'unanswered' | 'unknown';

/** HelperDownReport is `warren status --json` when no helper answers. */
export interface HelperDownReport {
  running: false;
  stop: HelperStop;
  pid: number | null;
  /** source: the state directory (root) or the readable record; null when neither was readable. */
  source: 'state-dir' | 'record' | null;
  /** where is that directory's or record's path. */
  where: string | null;
  leftovers: Leftovers | null;
  /** adapterPresent says whether the recorded adapter still exists (null: none recorded, or unknown). */
  adapterPresent: boolean | null;
  /** effects says what each leftover does to this machine now, one phrase each. */
  effects: string[];
  /** message is the whole report for a person, ending with what to do. */
  message: string;
}

/** NO_LEFTOVERS is a clean machine. */
export const NO_LEFTOVERS: Leftovers = Object.freeze({
  adapter: null,
  routes: 0,
  fullTunnel: null,
  dns: null,
  exitNode: null,
});

/** hasLeftovers says whether anything is recorded. */
export function hasLeftovers(l: Leftovers): boolean {
  return l.adapter !== null || l.routes > 0 || l.fullTunnel !== null || l.dns !== null || l.exitNode !== null;
}

const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;
const EXIT_TABLE = /^(warren_exit_[A-Za-z0-9_]{1,15}|WRN-[A-Za-z0-9_.-]{1,15})$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const isPath = (v: unknown): v is string => typeof v === 'string' && v.startsWith('/') && v.length <= 4096;
const isPid = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;

function parseDns(v: unknown): LeftoverDns | null | undefined {
  if (v === null) return null;
  const d = v as Record<string, unknown> | undefined;
  if (d?.kind === 'resolv.conf' && isPath(d.path) && typeof d.address === 'string' && IPV4.test(d.address))
    return { kind: 'resolv.conf', path: d.path, address: d.address };
  if (d?.kind === 'systemd-resolved' && typeof d.adapter === 'string' && IFNAME.test(d.adapter))
    return { kind: 'systemd-resolved', adapter: d.adapter };
  return undefined;
}

function parseLeftovers(v: unknown): Leftovers | null {
  if (typeof v !== 'object' || v === null) return null;
  const l = v as Record<string, unknown>;
  const ft = l.fullTunnel as Record<string, unknown> | null | undefined;
  const ex = l.exitNode as Record<string, unknown> | null | undefined;
  const dns = parseDns(l.dns);
  const adapterOk = l.adapter === null || (typeof l.adapter === 'string' && IFNAME.test(l.adapter));
  const routesOk = typeof l.routes === 'number' && Number.isInteger(l.routes) && l.routes >= 0 && l.routes <= 1e6;
  const ftOk =
    ft === null || (typeof ft === 'object' && (typeof ft.killSwitch === 'boolean' || ft.killSwitch === null));
  const exitNode = parseExitNode(ex);
  if (!adapterOk || !routesOk || !ftOk || exitNode === undefined || dns === undefined) return null;
  return {
    adapter: l.adapter as string | null,
    routes: l.routes as number,
    fullTunnel: ft ? { killSwitch: ft.killSwitch as boolean | null } : null,
    dns,
    exitNode,
  };
}

// The helper records at most 256 interfaces (helper/src/exitnode/sysctl.ts); a longer list is not its.
const MAX_RA_INTERFACES = 256;
const isSysctlBit = (v: unknown): v is '0' | '1' => v === '0' || v === '1';

// parseExitNode: null when none is recorded, undefined when the record is malformed. A record
// without the IPv6 fields (written before they existed) stays valid.
function parseExitNode(ex: Record<string, unknown> | null | undefined): LeftoverExitNode | null | undefined {
  if (ex === null) return null;
  if (typeof ex !== 'object' || typeof ex.table !== 'string' || !EXIT_TABLE.test(ex.table)) return undefined;
  if (!isSysctlBit(ex.ipForward)) return undefined;
  const out: LeftoverExitNode = { table: ex.table, ipForward: ex.ipForward };
  if (ex.ipv6Forward !== undefined) {
    if (!isSysctlBit(ex.ipv6Forward)) return undefined;
    out.ipv6Forward = ex.ipv6Forward;
  }
  if (ex.acceptRa !== undefined) {
    const ra = ex.acceptRa;
    if (
      !Array.isArray(ra) ||
      ra.length > MAX_RA_INTERFACES ||
      !ra.every((n) => typeof n === 'string' && IFNAME.test(n))
    )
      return undefined;
    out.acceptRa = [...(ra as string[])];
  }
  return out;
}

/** parseLeftoverRecord checks every field of a record read from disk; null if any is wrong. */
export function parseLeftoverRecord(v: unknown): LeftoverRecord | null {
  if (typeof v !== 'object' || v === null) return null;
  const r = v as Record<string, unknown>;
  if (r.version !== LEFTOVER_RECORD_VERSION || !isPath(r.stateDir) || typeof r.updatedAt !== 'number') return null;
  if (r.pid !== null && !isPid(r.pid)) return null;
  const leftovers = parseLeftovers(r.leftovers);
  if (leftovers === null) return null;
  return { version: LEFTOVER_RECORD_VERSION, pid: r.pid, stateDir: r.stateDir, updatedAt: r.updatedAt, leftovers };
}

/** leftoverEffects words what each leftover does to the machine now. adapterPresent is whether
 * the recorded adapter still exists (the kernel removes it with the helper's process, and a
 * systemd-resolved setting goes with it); gone says the recorded helper no longer runs. */
export function leftoverEffects(l: Leftovers, adapterPresent: boolean | null, gone = true): string[] {
  const out: string[] = [];
  if (l.fullTunnel?.killSwitch === true) {
    out.push(
      "a full tunnel with the kill switch on: this machine's traffic beyond its local networks is blocked (fail-closed)",
    );
  } else if (l.fullTunnel?.killSwitch === false) {
    out.push(
      'the routing rules of a full tunnel that no longer carries traffic: it goes out over the normal network, not through the exit node',
    );
  } else if (l.fullTunnel) {
    out.push(
      'the routing rules of a full tunnel (and its kill switch, if it was on, which blocks traffic outside the tunnel)',
    );
  }
  if (l.dns?.kind === 'resolv.conf') {
    out.push(
      `DNS pointing at Warren's nameserver ${l.dns.address} (first in ${l.dns.path}), which ${gone ? 'is gone' : 'does not answer'}: ` +
        'every lookup waits for it before trying the next nameserver',
    );
  } else if (l.dns?.kind === 'systemd-resolved' && adapterPresent !== false) {
    out.push(`systemd-resolved settings that send the overlay's names to ${l.dns.adapter}`);
  }
  if (l.exitNode) out.push(exitNodeEffect(l.exitNode));
  if (l.adapter !== null && adapterPresent === true) out.push(`the adapter ${l.adapter}`);
  if (l.routes > 0) out.push(`${l.routes} route${l.routes === 1 ? '' : 's'} through it`);
  return out;
}

// exitNodeEffect words an exit node's leftovers: its rules, and each forwarding sysctl it
// turned on that stays on (a value found at 1 was the machine's own and is no leftover).
function exitNodeEffect(ex: LeftoverExitNode): string {
  const forwarding = [ex.ipForward === '0' ? 'IPv4' : '', ex.ipv6Forward === '0' ? 'IPv6' : ''].filter(Boolean);
  const ra = ex.acceptRa ?? [];
  let text = `the exit node's firewall rules (${ex.table})`;
  if (forwarding.length > 0) text += ` and ${forwarding.join(' and ')} forwarding left on`;
  if (ra.length > 0) text += `, with router advertisements still accepted on ${ra.join(', ')} (accept_ra 2)`;
  return text;
}

/** joinPhrases joins phrases that may hold commas: "a; b; and c". */
export function joinPhrases(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join('; ')}; and ${items.at(-1)}`;
}

/** helperDownMessage words a report for a person; notRunning opens it (e.g. "the helper is not
 * running (no socket at /run/warren/warren.sock)"), so each caller keeps its own first words. */
export function helperDownMessage(r: Omit<HelperDownReport, 'message'>, notRunning: string): string {
  const pid = r.pid === null ? 'its process' : `pid ${r.pid}`;
  switch (r.stop) {
    case 'clean':
      return `${notRunning}, and nothing of it is left on this machine. Start it with \`sudo warren start\` (the service) or \`sudo warren run\``;
    case 'unknown':
      return (
        `${notRunning}. Whether it left changes behind is recorded in its state directory, which only root may read: ` +
        'run `sudo warren status` to see. Start it with `sudo warren start` (the service) or `sudo warren run`'
      );
    case 'unanswered':
      return (
        `${notRunning}, but a helper (${pid}) is still running with its changes in place` +
        (r.effects.length > 0 ? ` (${joinPhrases(r.effects)})` : '') +
        ': it may be starting or stopping, or serving another socket. Wait for it, or stop it (`sudo warren stop`)'
      );
    case 'left-changes':
      if (r.effects.length === 0) {
        return (
          `${notRunning}. It did not stop cleanly (${pid} is gone), but what it left no longer changes this machine: ` +
          'its adapter went with its process. Starting it again (`sudo warren start`) or `sudo warren cleanup` clears its record'
        );
      }
      return (
        `${notRunning}, but it left ${joinPhrases(r.effects)}. ` +
        `It did not stop cleanly (${pid} is gone: it crashed, was killed, or could not undo its changes). ` +
        'Start the helper again (`sudo warren start`, or `sudo warren run`): it undoes them before it sets up afresh. ' +
        'Or undo them alone with `sudo warren cleanup`'
      );
  }
}
