// The app's domain model (DESIGN.md convention 5): what the renderer and the tray show, made
// from the helper's wire Status in exactly one place (fromStatus). The renderer never sees a
// Status; when the wire changes, only this file follows. No Node or DOM imports here.
import { joinPhrases, type HelperDownReport } from './leftovers.js';
import type { CoordinatorCondition, CoordinatorSummary, PeerPath, PeerStatus, Status, TunnelState } from './status.js';
import { conditionOf, HELD_WORDS, tunnelHeld } from './coordinator-view.js';
import { STATE_WORDS } from './format.js';
import { peerOnline } from './peer-online.js';
import { loginViewOf, signInViewOf, type LoginView, type SignInView } from './login-view.js';

export type { TunnelState } from './status.js';

export { ONLINE_WINDOW_MS } from './peer-online.js';

/** LinkState is how the app reaches the helper: 'starting' before the first answer. */
export type LinkState = 'starting' | 'up' | 'down';

/** ProblemCode names what keeps the app from the helper, or an action that failed. */
export type ProblemCode =
  | 'helper-not-running'
  | 'helper-stopped'
  | 'permission-denied'
  | 'untrusted-socket'
  | 'forbidden'
  | 'bad-request'
  | 'not-found'
  | 'helper-error'
  | 'backend-unreachable'
  | 'internal';

/** Problem is a failure worded for the person: what happened and what to do. */
export interface Problem {
  code: ProblemCode;
  message: string;
  /** title is a one-line headline where the code alone says too little ('helper-stopped'). */
  title?: string;
}

/** helperStoppedProblem words what a helper that is gone left on the machine (the report of
 * src-shared/lib/helper-client/leftovers.ts), or returns null when it left nothing that still
 * changes the machine, so the caller says "not running" as usual. A kill switch still in place
 * keeps the machine offline (fail-closed, as it should), so the person must hear that, and the
 * two ways out: start the helper, which undoes the changes first, or `warren cleanup`. */
export function helperStoppedProblem(r: HelperDownReport | null): Problem | null {
  if (r === null || r.stop !== 'left-changes' || r.effects.length === 0) return null;
  const l = r.leftovers;
  const title =
    l?.fullTunnel?.killSwitch === true
      ? 'Helper stopped; the kill switch is holding traffic'
      : l?.dns?.kind === 'resolv.conf'
        ? 'Helper stopped; DNS still points at its nameserver'
        : 'Helper stopped and left changes behind';
  return {
    code: 'helper-stopped',
    title,
    message:
      `The Warren helper stopped without undoing its changes${r.pid === null ? '' : ` (pid ${r.pid} is gone)`}. ` +
      `It left ${joinPhrases(r.effects)}. Run \`sudo warren cleanup\` to remove them, or start the helper ` +
      '(`sudo warren start`), which removes them before it connects again; this window reconnects by itself.',
  };
}

/** Access is what the helper says this user may do. */
export interface Access {
  privileged: boolean;
  operatorGroup: string;
  operatorGroupExists: boolean;
}

/** CoordinatorView is the coordinator as the header shows it: condition is read from older
 * helpers' fields where they do not send it (coordinator-view.ts). */
export type CoordinatorView = Pick<CoordinatorSummary, 'url' | 'reachable' | 'state' | 'lastContact' | 'lastError'> & {
  condition: CoordinatorCondition;
  since: number | null;
  detail: string | null;
};

/** PROBLEMS_MAX and PROBLEM_CHARS bound the helper's problems the window shows. */
const PROBLEMS_MAX = 8;
const PROBLEM_CHARS = 1000;

/** TunnelView is this system and its tunnel. */
export interface TunnelView {
  state: TunnelState;
  error: string | null;
  identity: string;
  publicKey: string;
  virtualAddress: string;
  virtualNetwork: string;
  /** virtualAddress6 and virtualNetwork6 are the IPv6 address and overlay prefix, or null. */
  virtualAddress6: string | null;
  virtualNetwork6: string | null;
  adapter: string;
  listenPort: number;
  version: string;
  mode: Status['mode'];
  startedAt: number;
  coordinator: CoordinatorView | null;
  /** held says why a tunnel that is up reaches nobody because of the coordinator (pending
   * approval, revoked, ...), or null. */
  held: CoordinatorCondition | null;
  /** problems are the helper's problems, each saying what to do. */
  problems: string[];
  policy: { mode: 'allow-all' | 'policy'; active: number; total: number } | null;
  dnsZone: string | null;
  /** providesRoutes are the subnets this system is an exit node for. */
  providesRoutes: string[];
  /** login is the sign-in the helper runs for the Enrol tab (or how the last one ended), or null. */
  login: LoginView | null;
  /** signIn is this system's own sign-in (its user, and whether it lapsed), or null. */
  signIn: SignInView | null;
}

/** PeerView is one peer row. */
export interface PeerView {
  identity: string;
  /** label is the name, or the identity when the peer has none. */
  label: string;
  name: string | null;
  dnsName: string | null;
  virtualIp: string | null;
  /** virtualIp6 is the peer's IPv6 overlay address, or null. */
  virtualIp6: string | null;
  endpoint: string | null;
  lastHandshake: number | null;
  online: boolean;
  rxBytes: number;
  txBytes: number;
  tags: string[];
  /** exitRoutes are the subnets this peer is an exit node for (for this system). */
  exitRoutes: string[];
  exitInUse: boolean;
  /** path is how packets reach the peer (coordinated mode), or null where the helper does not say. */
  path: PeerPath | null;
}

/** AppState is everything the UI shows; main sends it whole after every change. */
export interface AppState {
  link: LinkState;
  /** problem says why the link is down (or why the last snapshot is stale). */
  problem: Problem | null;
  /** retryInMs is when the next attempt to reach the helper is due, while down. */
  retryInMs: number | null;
  access: Access | null;
  tunnel: TunnelView | null;
  peers: PeerView[];
  /** updatedAt is when main last heard from the helper (Unix ms), or null. */
  updatedAt: number | null;
}

/** initialAppState is the state before the helper has answered. */
export function initialAppState(): AppState {
  return { link: 'starting', problem: null, retryInMs: null, access: null, tunnel: null, peers: [], updatedAt: null };
}

/** canChange says whether the UI should offer actions (unknown access counts as yes: the
 * helper still decides, and a refusal is shown). */
export function canChange(s: AppState): boolean {
  return s.link === 'up' && s.tunnel !== null && (s.access?.privileged ?? true);
}

// Fields some helpers send per peer beyond PeerStatus; read defensively, shown when present.
interface PeerExtras {
  tags?: unknown;
  dnsName?: unknown;
  dnsNames?: unknown;
}

const str = (v: unknown, max = 256): string | null => (typeof v === 'string' ? v.slice(0, max) : null);
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const strList = (v: unknown, max = 64, chars = 256): string[] =>
  Array.isArray(v)
    ? v
        .filter((x): x is string => typeof x === 'string')
        .slice(0, max)
        .map((x) => x.slice(0, chars))
    : [];

/** parseIPv4 reads dotted quad text into a 32-bit number, or null. */
function parseIPv4(s: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return null;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

/** inCidr says whether address lies in cidr ("a.b.c.d/n"). */
export function inCidr(address: string, cidr: string): boolean {
  const [net, bitsText] = cidr.split('/');
  const a = parseIPv4(address);
  const n = parseIPv4(net ?? '');
  const bits = Number(bitsText);
  if (a === null || n === null || !Number.isInteger(bits) || bits < 0 || bits > 32) return false;
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return (a & mask) >>> 0 === (n & mask) >>> 0;
}

/** ipv6Text passes on an IPv6 address or prefix from the helper (another process: trust
 * nothing) if it looks like one: hex digits and colons (an optional /n), at most 49 characters. */
export function ipv6Text(v: unknown): string | null {
  return typeof v === 'string' && /^[0-9a-f:.]{2,45}(\/\d{1,3})?$/i.test(v) && v.includes(':') ? v : null;
}

/** virtualIpOf picks the peer's own address: a /32 inside the virtual network, else any /32. */
export function virtualIpOf(allowedIps: readonly string[], virtualNetwork: string): string | null {
  const hosts = allowedIps.filter((c) => c.endsWith('/32')).map((c) => c.slice(0, -3));
  return hosts.find((h) => inCidr(h, virtualNetwork)) ?? hosts[0] ?? null;
}

// pathView copies a peer's path field by field (the helper is another process: trust nothing).
function pathView(v: unknown): PeerPath | null {
  if (typeof v !== 'object' || v === null) return null;
  const p = v as Partial<PeerPath>;
  if (p.type !== 'direct' && p.type !== 'relay' && p.type !== 'none') return null;
  return {
    type: p.type,
    endpoint: str(p.endpoint, 64),
    relay: str(p.relay, 64),
    rttMs: typeof p.rttMs === 'number' && Number.isFinite(p.rttMs) ? p.rttMs : null,
    candidates: num(p.candidates),
  };
}

function peerView(p: PeerStatus & PeerExtras, virtualNetwork: string, tunnelUp: boolean, now: number): PeerView {
  const name = str(p.name, 128);
  const identity = str(p.identity, 16) ?? '?';
  const lastHandshake = typeof p.lastHandshake === 'number' ? p.lastHandshake : null;
  const dnsNames = strList(p.dnsNames);
  const path = pathView(p.path);
  return {
    identity,
    label: name ?? identity,
    name,
    dnsName: str(p.dnsName) ?? dnsNames[0] ?? null,
    virtualIp: virtualIpOf(strList(p.allowedIps, 4096), virtualNetwork),
    virtualIp6: ipv6Text(p.virtualAddress6),
    endpoint: str(p.endpoint, 64),
    lastHandshake,
    online: peerOnline({ lastHandshake, path }, tunnelUp, now),
    rxBytes: num(p.rxBytes),
    txBytes: num(p.txBytes),
    tags: strList(p.tags),
    exitRoutes: strList(p.exitNodeFor, 1024),
    exitInUse: p.exitNodeInUse === true,
    path,
  };
}

/** fromStatus converts the helper's wire Status into the tunnel and peer views. */
export function fromStatus(s: Status, now: number): { tunnel: TunnelView; peers: PeerView[] } {
  const c = s.coordinator;
  const tunnel: TunnelView = {
    state: s.state,
    error: s.error ?? null,
    identity: s.identity,
    publicKey: s.publicKey,
    virtualAddress: s.virtualAddress,
    virtualNetwork: s.virtualNetwork,
    virtualAddress6: ipv6Text(s.virtualAddress6),
    virtualNetwork6: ipv6Text(s.virtualNetwork6),
    adapter: s.adapter,
    listenPort: s.listenPort,
    version: s.version,
    mode: s.mode,
    startedAt: s.startedAt,
    coordinator: c
      ? {
          url: c.url,
          reachable: c.reachable === true,
          state: c.state,
          lastContact: c.lastContact ?? null,
          lastError: c.lastError ?? null,
          condition: conditionOf(c),
          since: typeof c.since === 'number' && Number.isFinite(c.since) ? c.since : null,
          detail: str(c.detail, 500),
        }
      : null,
    held: s.mode === 'coordinated' ? tunnelHeld(c) : null,
    problems: strList(s.problems, PROBLEMS_MAX, PROBLEM_CHARS),
    policy: s.policy ? { mode: s.policy.mode, active: s.policy.active, total: s.policy.total } : null,
    dnsZone: s.dns?.zone ?? null,
    providesRoutes: (s.providesRoutes ?? []).map((r) => r.cidr),
    login: loginViewOf(s.login),
    signIn: signInViewOf(s.signIn),
  };
  const peers = s.peers
    .map((p) => peerView(p, s.virtualNetwork, s.state === 'connected', now))
    .sort((a, b) => a.label.localeCompare(b.label) || a.identity.localeCompare(b.identity));
  return { tunnel, peers };
}

/** headline is the tunnel in a word or two for the header and the tray: a coordinated tunnel
 * that is up but held by the coordinator says why ("Waiting for approval"), never "Connected".
 * key is the header dot's data-state. */
export function tunnelHeadline(t: Pick<TunnelView, 'state' | 'held'>): { key: string; words: string } {
  if (t.state === 'connected' && t.held !== null)
    return { key: 'held', words: HELD_WORDS[t.held] ?? 'Waiting for the coordinator' };
  return { key: t.state, words: STATE_WORDS[t.state] };
}

/** noPeersText is what the peer list says when it is empty: an enrolled system is told why the
 * coordinator gives it none, not to enrol. */
export function noPeersText(t: Pick<TunnelView, 'mode' | 'held'> | null): string {
  if (t?.mode !== 'coordinated') return 'No peers yet. Enrol with a coordinator, or add peers to the profile.';
  switch (t.held) {
    case null:
      return "No peers yet: the coordinator's policy gives this system none.";
    case 'pending-approval':
      return 'No peers yet: this system waits for an admin to approve it on the coordinator.';
    case 'revoked':
    case 'rejected':
    case 'key-mismatch':
      return 'No peers: the coordinator does not serve this system (see the problem above).';
    default:
      return 'No peers yet: waiting for the first map from the coordinator.';
  }
}

/** ExitChoice is one exit node the person can switch on or off. */
export interface ExitChoice {
  identity: string;
  label: string;
  routes: string[];
  inUse: boolean;
}

/** exitChoices lists the peers that offer exit routes, in peer order. */
export function exitChoices(s: AppState): ExitChoice[] {
  return s.peers
    .filter((p) => p.exitRoutes.length > 0)
    .map((p) => ({ identity: p.identity, label: p.label, routes: p.exitRoutes, inUse: p.exitInUse }));
}
