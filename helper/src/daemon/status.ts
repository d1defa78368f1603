// buildStatus turns the running device into the Status snapshot of src-shared/status.ts.
import type { Status, PeerStatus } from '../../../src-shared/wire/status.js';
import { peerAddress6, type Profile } from '../config/schema.js';
import { formatCidr } from '../../../src-shared/lib/ip/ipv4.js';
import { formatIpPrefix } from '../../../src-shared/lib/ip/addr.js';
import { formatKey } from '../../../src-shared/lib/keys.js';
import { identityFromPublicKey } from '../../../src-shared/lib/identity.js';
import { formatPeer, type Device } from '../wireguard/device/device.js';
import type { DevicePeer } from '../wireguard/device/peer.js';
import type { PolicyRuntime } from './policy-runtime.js';
import type { DnsRuntime } from './dns-runtime.js';
import type { ExitRuntime } from './exit-runtime.js';
import type { ProxyRuntime } from './proxy-runtime.js';
import type { TunnelControl } from './tunnel.js';
import type { ControlRuntime } from '../control/runtime.js';
import type { NatRuntime } from '../nat/runtime.js';
import { isVirtualWords } from '../nat/path-bind.js';
import { peerOnline } from '../../../src-shared/wire/peer-online.js';
import { VERSION } from '../version.js';
import { ACTIVE_RESERVED_KEYS, type ReservedKey } from '../config/schema.js';
import { unservedRoutesProblem, withheldFullTunnelProblem } from '../control/netmap.js';
import { coordinatorProblems } from '../control/link-problems.js';
import { dataPathThreads } from '../wireguard/device/data-path-threads.js';
import { lastWarmUp } from './warm-up.js';
import { lapsedSignInProblem, signInState } from '../control/sign-in.js';
import type { CoordinatorSummary, LoginProgress } from '../../../src-shared/wire/status.js';

// inactiveKeys lists the profile's reserved keys that this version does not act on yet.
function inactiveKeys(profile: Profile): string[] {
  return Object.keys(profile.reserved).filter((k) => !ACTIVE_RESERVED_KEYS.includes(k as ReservedKey));
}

// problemsOf lists what the profile in force, or the coordinator's answers, leave undone that
// the person can fix.
function problemsOf(profile: Profile, profilePath: string | undefined, c: CoordinatorSummary | null): string[] {
  const path = profilePath ?? 'the profile';
  const cc = profile.coordinator;
  const unserved = profile.exitNode.unserved ?? [];
  const now = Date.now();
  const signIn = cc ? signInState(profile.signIn, now) : null;
  return [
    ...(signIn?.lapsed && cc ? [lapsedSignInProblem(signIn, cc.url, now)] : []),
    ...(c && cc
      ? coordinatorProblems(c, { approveAs: cc.identity ?? cc.systemId, profilePath: path, now: Date.now() })
      : []),
    ...(profile.exitNode.withheldFullTunnel ?? []).map((id) => withheldFullTunnelProblem(id, path)),
    ...(unserved.length > 0 ? [unservedRoutesProblem(unserved, path)] : []),
  ];
}

/** signInOf is Status.signIn: the coordinated system's user's sign-in, when the map names one. */
function signInOf(profile: Profile, now: number): Pick<Status, 'signIn'> {
  const s = profile.coordinator ? signInState(profile.signIn, now) : null;
  return s ? { signIn: s } : {};
}

/** self6 is this system's IPv6 address and network as the adapter carries them: null where the
 * profile has none, or the host has IPv6 turned off (the adapter then runs IPv4 only). */
function self6(ctx: StatusContext): Pick<Status, 'virtualAddress6' | 'virtualNetwork6'> {
  const p = ctx.profile;
  if (p.virtualAddress6 === null || p.virtualNetwork6 === null || (ctx.tun && ctx.tun.ipv6 !== true))
    return { virtualAddress6: null, virtualNetwork6: null };
  return { virtualAddress6: p.virtualAddress6, virtualNetwork6: formatIpPrefix(p.virtualNetwork6) };
}

/** peerIdentityOf returns how a device peer is named: a coordinated peer by the identity its
 * map gives, a static one by its key's (status and the metrics label peers the same way). */
export function peerIdentityOf(profile: Profile): (p: DevicePeer) => string {
  const configured = new Map(profile.peers.map((p) => [formatKey(p.publicKey), p]));
  return (p) => configured.get(formatKey(p.noise.publicKey))?.identity ?? identityFromPublicKey(p.noise.publicKey);
}

/** StatusContext is what the snapshot is built from. */
export interface StatusContext {
  profile: Profile;
  /** profilePath names the profile file in problems' advice. */
  profilePath?: string;
  device: Device | null; // null while starting
  policy?: PolicyRuntime | null;
  dns?: DnsRuntime | null;
  exit?: ExitRuntime | null;
  proxies?: ProxyRuntime | null;
  tunnel?: TunnelControl;
  control?: ControlRuntime | null;
  nat?: NatRuntime | null;
  adapter: string;
  /** adapterTaken and adapterProblems: see DaemonState (the adapter beside other VPNs). */
  adapterTaken?: string[];
  adapterProblems?: string[];
  /** tun is the open adapter: its ipv6 says whether it took the profile's IPv6 address. */
  tun?: { readonly ipv6?: boolean } | null;
  listenPort: number;
  startedAt: number;
  /** ready turns true once setup has finished. */
  ready?: boolean;
  /** login is the sign-in started through the local API, if any. */
  login?: { progress(): LoginProgress | undefined };
}

/** buildStatus returns the current status snapshot ('connecting' while still starting). */
/** EXIT_DROP_REASON is the drop reason of the exit node's unsolicited-traffic counter: the
 * same as the firewall's for a packet from a provided subnet that starts traffic into the
 * overlay. The kernel's forward rule (exitnode/nft.ts) drops such packets before they reach the
 * adapter, so the two counts never see the same packet. */
export const EXIT_DROP_REASON = 'unsolicited-from-subnet';

/** dropsOf is the helper's drop counters by reason: the data plane's, plus the exit node's
 * unsolicited-drop counter when this system serves routes. */
export function dropsOf(ctx: Pick<StatusContext, 'device' | 'exit'>): Record<string, number> {
  const drops: Record<string, number> = ctx.device ? ctx.device.drops.snapshot() : {};
  const exitDrops = ctx.exit?.node ? ctx.exit.unsolicitedDropped() : 0;
  if (exitDrops > 0) drops[EXIT_DROP_REASON] = (drops[EXIT_DROP_REASON] ?? 0) + exitDrops;
  return drops;
}

export function buildStatus(ctx: StatusContext): Status {
  const device = ctx.device;
  const coordinator = ctx.control ? ctx.control.summary() : null;
  const peers: PeerStatus[] = [];
  const configured = new Map(ctx.profile.peers.map((p) => [formatKey(p.publicKey), p]));
  const zone = ctx.profile.dns.zone;
  for (const p of device?.peersByKey.values() ?? []) {
    const pc = configured.get(formatKey(p.noise.publicKey));
    const name =
      pc?.dnsNames[0] ??
      (pc?.name && /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i.test(pc.name) ? pc.name.toLowerCase() : null);
    peers.push({
      // A coordinated peer's identity is the one its map gives; a static one's is its key's.
      identity: pc?.identity ?? identityFromPublicKey(p.noise.publicKey),
      name: p.name,
      publicKey: formatKey(p.noise.publicKey),
      // A relayed path has a virtual endpoint (0.0.0.0/8) that means nothing to people: path says which relay.
      endpoint: p.hasEndpoint && !isVirtualWords(p.endpointWords, 0) ? formatPeer(p) : null,
      allowedIps: p.allowedIps.map(formatIpPrefix),
      virtualAddress6: pc ? peerAddress6(pc, ctx.profile.virtualNetwork6) : null,
      lastHandshake: p.noise.lastHandshakeAt,
      rxBytes: p.rxBytes,
      txBytes: p.txBytes,
      persistentKeepalive: p.noise.persistentKeepalive,
      exitNodeFor: ctx.exit?.routes.routesOf(p)?.routes ?? [],
      tags: pc?.tags ?? [],
      dnsName: name ? `${name}.${zone}` : null,
      exitNodeInUse: ctx.exit?.routes.routesOf(p)?.inUse ?? false,
      ...(ctx.nat ? { path: ctx.nat.pathOf(formatKey(p.noise.publicKey)) } : {}),
    });
  }
  // JSON readers get the same verdict as the window and the human form (wire/peer-online.ts).
  const state = ctx.tunnel ? ctx.tunnel.state : device ? 'connected' : 'connecting';
  const now = Date.now();
  for (const p of peers) p.online = peerOnline(p, state === 'connected', now);
  return {
    version: VERSION,
    identity: ctx.profile.identity,
    publicKey: formatKey(ctx.profile.publicKey),
    virtualAddress: ctx.profile.virtualAddress,
    virtualNetwork: formatCidr(ctx.profile.virtualNetwork),
    ...self6(ctx),
    adapter: ctx.adapter,
    ...(ctx.adapterTaken && ctx.adapterTaken.length > 0 ? { adapterTaken: [...ctx.adapterTaken] } : {}),
    listenPort: ctx.listenPort,
    ...(device
      ? { offloads: { ...device.bind.offloads(), ...device.tun.offloads?.(), ...dataPathThreads(), ...warmUpWords() } }
      : {}),
    state,
    ...(ctx.tunnel?.error ? { error: ctx.tunnel.error } : {}),
    mode: ctx.profile.coordinator ? 'coordinated' : 'static',
    ...(coordinator ? { coordinator } : {}),
    ...(ctx.nat ? { nat: ctx.nat.summary() } : {}),
    peers,
    drops: dropsOf(ctx),
    startedAt: ctx.startedAt,
    starting: ctx.ready !== true,
    inactiveProfileKeys: inactiveKeys(ctx.profile),
    ...(ctx.login?.progress() ? { login: ctx.login.progress()! } : {}),
    ...signInOf(ctx.profile, now),
    problems: [...(ctx.adapterProblems ?? []), ...problemsOf(ctx.profile, ctx.profilePath, coordinator)],
    ...(ctx.policy ? { policy: ctx.policy.summary() } : {}),
    dns: ctx.dns ? ctx.dns.summary() : null,
    providesRoutes: ctx.exit?.node?.routes ?? [],
    egressProxyPort: ctx.proxies?.egressPort ?? null,
    ingressPorts: ctx.proxies?.ingressPorts ?? [],
    ...(ctx.exit?.node ? { unsolicitedFromSubnets: ctx.exit.unsolicitedDropped() } : {}),
  };
}

/** warmUpWords is the last warm-up for status (nothing when none ran). */
function warmUpWords(): { warmUpMs?: number; warmUpRoundTrips?: number } {
  const w = lastWarmUp();
  return w === null ? {} : { warmUpMs: w.ms, warmUpRoundTrips: w.roundTrips };
}
