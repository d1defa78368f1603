// The human form of `warren status`: a fixed-width label column, one block per peer, in the
// spirit of `wg show`. Text from the helper is escaped: peer names travel from profiles and,
// later, from the coordinator, and must not be able to drive the terminal.
import type {
  CoordinatorSummary,
  PeerStatus,
  PolicySummary,
  RelayStatus,
  SignInState,
  Status,
} from '../../../src-shared/wire/status.js';
import { clockTime as dayTime } from '../control/sign-in.js';
import { CONDITION_WORDS, conditionOf, heldPhrase, tunnelHeld } from '../../../src-shared/wire/coordinator-view.js';
import { formatPath } from '../../../src-shared/wire/format.js';
import { escapeControl } from '../../../src-shared/lib/log.js';
import { onlineReason, onlineSummary, type OnlineReason } from '../../../src-shared/wire/peer-online.js';

const UNITS = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** formatBytes writes a byte count as "512 B" or "1.20 MiB". */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '?';
  if (n < 1024) return `${Math.round(n)} B`;
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(2)} ${UNITS[i]}`;
}

/** formatAgo writes how long ago a Unix-millisecond time was: "12 seconds ago", "never". */
export function formatAgo(then: number | null, now: number): string {
  if (then === null || !Number.isFinite(then) || then <= 0) return 'never';
  let s = Math.floor((now - then) / 1000);
  if (s < 1) return 'just now';
  const parts: string[] = [];
  const units: [number, string][] = [
    [86400, 'day'],
    [3600, 'hour'],
    [60, 'minute'],
    [1, 'second'],
  ];
  for (const [size, name] of units) {
    const k = Math.floor(s / size);
    if (k > 0) {
      parts.push(`${k} ${name}${k === 1 ? '' : 's'}`);
      s -= k * size;
    }
  }
  return `${parts.join(', ')} ago`;
}

// relayWords: "near [eu-west] (udp, 12.3 ms, in use)"; region, round trip and the relay in use
// appear when the helper reports them (newer helpers), "not answering" for one that stopped,
// "not measured" for one registered without a round trip (TCP).
function relayWords(r: RelayStatus): string {
  const how = r.transport ? clean(r.transport) : r.error ? clean(r.error) : 'not registered';
  const parts = [how];
  if (typeof r.rttMs === 'number') parts.push(`${clean(r.rttMs)} ms`);
  // A registered relay without a round trip: over TCP (probes go over UDP only), or before its
  // first answer. It is chosen after the measured ones, in the map's order.
  else if (r.transport && r.live !== undefined) parts.push('not measured');
  if (r.live === false && r.transport) parts.push('not answering');
  if (r.inUse === true) parts.push('in use');
  return `${clean(r.name)}${typeof r.region === 'string' ? ` [${clean(r.region)}]` : ''} (${parts.join(', ')})`;
}

function clean(s: unknown): string {
  return escapeControl(String(s));
}

function list(items: readonly unknown[] | undefined, empty: string): string {
  return items && items.length > 0 ? items.map(clean).join(', ') : empty;
}

/** formatDrops writes non-zero drop counters, largest first, e.g. "no-route 3, bad-mac 1". */
export function formatDrops(drops: Record<string, number> | undefined, max = 8): string | null {
  const entries = Object.entries(drops ?? {})
    .filter(([, n]) => typeof n === 'number' && n > 0)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  if (entries.length === 0) return null;
  const shown = entries.slice(0, max).map(([k, n]) => `${clean(k)} ${n}`);
  if (entries.length > max) shown.push(`and ${entries.length - max} more`);
  return shown.join(', ');
}

const ONLINE_WORDS: Record<OnlineReason, string> = {
  handshake: 'yes (recent handshake)',
  path: 'yes (direct path answers; idle, no recent handshake)',
  none: 'no (nothing heard recently)',
};

function formatPeer(p: PeerStatus, now: number, reason: OnlineReason): string[] {
  const title = p.name ? `Peer: ${clean(p.identity)} (${clean(p.name)})` : `Peer: ${clean(p.identity)}`;
  return [
    title,
    `   Public key:     ${clean(p.publicKey)}`,
    `   Endpoint:       ${p.endpoint ? clean(p.endpoint) : '(none)'}`,
    ...(typeof p.virtualAddress6 === 'string' ? [`   IPv6 address:   ${clean(p.virtualAddress6)}`] : []),
    `   Allowed IPs:    ${list(p.allowedIps, '(none)')}`,
    `   Online:         ${ONLINE_WORDS[reason]}`,
    `   Last handshake: ${formatAgo(p.lastHandshake, now)}`,
    `   Transfer:       ${formatBytes(p.rxBytes)} received, ${formatBytes(p.txBytes)} sent`,
    `   Keepalive:      ${p.persistentKeepalive > 0 ? `every ${p.persistentKeepalive} s` : 'off'}`,
    `   Exit node for:  ${list(p.exitNodeFor, '-')}${p.exitNodeFor.length > 0 && p.exitNodeInUse !== undefined ? (p.exitNodeInUse ? ' (in use)' : ' (off)') : ''}`,
    ...(p.path ? [`   Path:           ${clean(formatPath(p.path))}`] : []),
  ];
}

/** offloadWords is "udp-gso on, udp-gro off, tun-tso on, tun-gro on, threads 2, wake-ticker on,
 * js-slice 100us, warm-up 180ms" (the JSON comes from any helper: booleans and counts only; an
 * older helper has no tun, threads, wake-ticker, js-slice or warm-up words, and a helper that
 * did not warm up no warm-up word). */
function offloadWords(o: NonNullable<Status['offloads']>): string {
  const word = (b: unknown): string => (b === true ? 'on' : 'off');
  const tun =
    o.tunTso === undefined && o.tunGro === undefined ? '' : `, tun-tso ${word(o.tunTso)}, tun-gro ${word(o.tunGro)}`;
  const n = o.cryptoThreads;
  const threads =
    typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 64 ? '' : `, threads ${n === 1 ? 'off' : n}`;
  const ticker = typeof o.wakeTicker === 'boolean' ? `, wake-ticker ${word(o.wakeTicker)}` : '';
  const us = o.jsSliceUs;
  const slice =
    typeof us !== 'number' || !Number.isInteger(us) || us < 0 || us > 1e6
      ? ''
      : `, js-slice ${us === 0 ? 'default' : `${us}us`}`;
  const ms = o.warmUpMs;
  const warm = typeof ms !== 'number' || !Number.isInteger(ms) || ms < 0 || ms > 1e7 ? '' : `, warm-up ${ms}ms`;
  return `udp-gso ${word(o.udpGso)}, udp-gro ${word(o.udpGro)}${tun}${threads}${ticker}${slice}${warm}`;
}

/** formatStatus renders a status snapshot for people; now is the current Unix-millisecond time. */
export function formatStatus(s: Status, now: number): string {
  const peers = Array.isArray(s.peers) ? s.peers : [];
  const lines = [
    `Local identity:  ${clean(s.identity)}`,
    `Public key:      ${clean(s.publicKey)}`,
    `Virtual address: ${clean(s.virtualAddress)} (network ${clean(s.virtualNetwork)}) on ${clean(s.adapter)}${takenWords(s)}`,
    ...(typeof s.virtualAddress6 === 'string'
      ? [`IPv6 address:    ${clean(s.virtualAddress6)} (network ${clean(s.virtualNetwork6 ?? '?')})`]
      : []),
    `Listen port:     ${clean(s.listenPort)}`,
    ...(s.offloads ? [`Offloads:        ${offloadWords(s.offloads)}`] : []),
    `Tunnel:          ${tunnelWords(s)}${s.starting === true ? ' (helper still starting)' : ''}`,
  ];
  if (s.mode === 'coordinated') lines.push('Mode:            coordinated');
  if (s.coordinator) lines.push(`Coordinator:     ${coordinatorLine(s.coordinator, now)}`);
  if (s.signIn) lines.push(`Signed in as:    ${signInLine(s.signIn, now)}`);
  if (s.nat) {
    const relays = s.nat.relays.map(relayWords);
    lines.push(
      `Public mapping:  ${s.nat.mapping ? clean(s.nat.mapping) : 'unknown'}; relays: ${relays.length ? relays.join(', ') : 'none'}`,
    );
  }
  if (s.policy) {
    lines.push(
      s.policy.mode === 'allow-all'
        ? 'Policy:          allow all between configured peers (the profile has no Policies)'
        : `Policy:          default deny; ${clean(s.policy.active)} of ${clean(s.policy.total)} policies active`,
    );
    if (typeof s.policy.flows === 'number') lines.push(`Flows:           ${flowsLine(s.policy)}`);
  }
  if (s.dns) {
    lines.push(
      `DNS:             ${clean(s.dns.zone)} at ${clean(s.dns.address)} (${s.dns.integration === 'none' ? 'not wired into the system resolver' : `via ${clean(s.dns.integration)}`})`,
    );
  }
  if (s.providesRoutes && s.providesRoutes.length > 0) {
    lines.push(
      `Exit node for:   ${s.providesRoutes.map((r) => `${clean(r.cidr)} (via ${clean(r.via)} as ${clean(r.snatTo)})`).join(', ')}`,
    );
  }
  const drops = formatDrops(s.drops);
  if (drops) lines.push(`Dropped packets: ${drops}`);
  for (const p of Array.isArray(s.problems) ? s.problems : []) lines.push(`Problem:         ${clean(p)}`);
  if (s.inactiveProfileKeys && s.inactiveProfileKeys.length > 0) {
    lines.push(`Not active yet:  ${list(s.inactiveProfileKeys, '-')} (profile keys for later versions)`);
  }
  // The same definition of online as the window's (src-shared/wire/peer-online.ts).
  const reasons = peers.map((p) => onlineReason(p, s.state === 'connected', now));
  const online = reasons.filter((r) => r !== 'none').length;
  lines.push(`Peers:           ${peers.length}${peers.length > 0 ? ` (${onlineSummary(online, peers.length)})` : ''}`);
  peers.forEach((p, i) => lines.push('', ...formatPeer(p, now, reasons[i]!)));
  return lines.join('\n') + '\n';
}

/** takenWords says why the adapter is not warren0: another program's link had that name. */
function takenWords(s: Status): string {
  const taken = Array.isArray(s.adapterTaken) ? s.adapterTaken.slice(0, 16).map(clean) : [];
  if (taken.length === 0) return '';
  return ` (${taken.join(', ')} ${taken.length === 1 ? 'is' : 'are'} taken by another program)`;
}

/** tunnelWords is the tunnel state, except that a coordinated tunnel that is up but has no
 * usable map or peers because of the coordinator says so instead of "connected". */
function tunnelWords(s: Status): string {
  const held = s.state === 'connected' ? tunnelHeld(s.coordinator) : null;
  return held ? `up, ${heldPhrase(held)}` : clean(s.state);
}

/** clockTime writes a Unix-millisecond time as local HH:MM:SS. */
export function clockTime(ms: number): string {
  const d = new Date(ms);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

/** signInLine: the user, the provider, and until when the sign-in is accepted (or since when not). */
export function signInLine(s: SignInState, now: number): string {
  const until =
    typeof s.expiresAt !== 'number'
      ? ''
      : s.lapsed
        ? `, expired at ${dayTime(s.expiresAt, now)}: sign in again`
        : `, accepted until ${dayTime(s.expiresAt, now)}`;
  return `${clean(s.user)} (${clean(s.authority)})${until}`;
}

/** coordinatorLine: the URL, the condition since when (unless connected), its detail, and the
 * map in force with its age, e.g. "https://c:8443 connected, map v42 (12 s old)". */
export function coordinatorLine(c: CoordinatorSummary, now: number): string {
  const cond = conditionOf(c);
  const parts = [`${clean(c.url)} ${CONDITION_WORDS[cond]}`];
  if (cond !== 'connected' && typeof c.since === 'number') parts[0] += ` since ${clockTime(c.since)}`;
  const detail = c.detail ?? (cond === 'unreachable' ? c.lastError : null);
  if (typeof detail === 'string' && detail !== '')
    parts[0] += ` (${cond === 'unreachable' ? 'last error: ' : ''}${clean(detail)})`;
  const version = typeof c.mapVersion === 'number' ? c.mapVersion : 0;
  if (version <= 0) parts.push('no map yet');
  else if (typeof c.lastMapAt === 'number') parts.push(`map v${version} (${mapAge(now - c.lastMapAt)} old)`);
  else parts.push(`map v${version}`);
  return parts.join(', ');
}

function mapAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.floor(s / 60)} min`;
  return `${Math.floor(s / 3600)} h`;
}

/** flowsLine is the tracked connections and, when any were pushed out, how many and why. */
function flowsLine(p: PolicySummary): string {
  const evicted = Object.entries(p.evictions ?? {}).filter(([, n]) => typeof n === 'number' && n > 0);
  const tail = evicted.length
    ? `; evicted to make room: ${evicted.map(([k, n]) => `${clean(k)} ${clean(n)}`).join(', ')}`
    : '';
  return `${clean(p.flows)} tracked${tail}`;
}
