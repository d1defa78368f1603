// Network maps as the helper uses them (opened and checked by src-shared/lib/netmap/open.ts):
// profileFromMap turns a map into the same Profile a static file gives, so the rest of the helper (device,
// firewall, DNS, exit routes) has one input whatever the mode.
import type { NetworkMap } from '../../../src-shared/wire/control.js';
import { parseCidr } from '../../../src-shared/lib/ip/ipv4.js';
import { parseIpEndpoint } from '../../../src-shared/lib/ip/endpoint.js';
import {
  formatIpPrefix,
  fromCidr,
  hostPrefix,
  parseIp,
  parseIpPrefix,
  prefixesOverlap,
  prefixNetwork,
  type IpPrefix,
} from '../../../src-shared/lib/ip/addr.js';
import { parseKey } from '../../../src-shared/lib/keys.js';
import type { PeerConfig, Profile } from '../config/schema.js';
import { MapRejected } from '../../../src-shared/lib/netmap/open.js';

/** usableRoutes parses routes and leaves out any route that overlaps the overlay of its family
 * (except the full tunnel, 0.0.0.0/0 or ::/0), as the static profile's validation does. An IPv6
 * route is left out when this system has no IPv6 overlay: nothing of ours could use it. */
function usableRoutes(xs: string[], overlay4: IpPrefix, overlay6: IpPrefix | null): IpPrefix[] {
  return xs.flatMap((x) => {
    const r = parseIpPrefix(x);
    if (r === null) return [];
    const c = prefixNetwork(r);
    const overlay = c.addr.family === 4 ? overlay4 : overlay6;
    if (overlay === null) return [];
    return c.bits === 0 || !prefixesOverlap(c, overlay) ? [c] : [];
  });
}

/** CONSENT_BITS: an IPv4 route wider than a /8 (0.0.0.0/0, or pieces such as 0.0.0.0/1 and
 * 128.0.0.0/1 that together take most of the internet) needs the owner's consent; a site's
 * subnets are /8 or narrower. */
export const CONSENT_BITS = 8;
/** CONSENT_BITS6 is the same bound for IPv6: a /16 is far wider than any site's allocation (a /48
 * is typical, RFC 6177), while ::/0, 2000::/3 (all global unicast, RFC 4291 §2.4) or halves of
 * the space are wider. */
export const CONSENT_BITS6 = 16;

/** needsConsent tells whether a route from the coordinator takes a machine's general traffic. */
export function needsConsent(c: IpPrefix): boolean {
  return c.bits < (c.addr.family === 4 ? CONSENT_BITS : CONSENT_BITS6);
}

/** withheldFullTunnelProblem says that exit node `identity`'s full tunnel is not used and how
 * to allow it; the helper logs it and `warren status` shows it. */
export function withheldFullTunnelProblem(identity: string, profilePath: string): string {
  return (
    `the coordinator routes all or most traffic (0.0.0.0/0, ::/0, or a route wider than /${CONSENT_BITS} ` +
    `for IPv4 or /${CONSENT_BITS6} for IPv6) through exit ` +
    `node ${identity}; not applied, because this ` +
    `profile does not allow a full tunnel. To allow it, set "AllowFullTunnel": true under Coordinator in ` +
    `${profilePath} (or enrol again with --allow-full-tunnel) and restart the helper`
  );
}

/** unservedRoutesProblem says that the coordinator makes this system an exit node for `routes`
 * and that it does not serve them, and how to opt in; the helper logs it and `warren status` shows it. */
export function unservedRoutesProblem(routes: readonly IpPrefix[], profilePath: string): string {
  return (
    `the coordinator makes this system an exit node for ${routes.map(formatIpPrefix).join(', ')}; not served ` +
    '(no forwarding or NAT), because this profile does not opt in. To serve them, set "Serve": true under ' +
    `ExitNode in ${profilePath} (or enrol again with --serve-exit-node) and restart the helper`
  );
}

/** checkOwnAddress6 refuses a map that gives this system another IPv6 address or network than
 * its profile (written at enrolment) says, as for IPv4: the adapter carries the profile's. A
 * profile enrolled before the coordinator had IPv6 has none; it keeps working over IPv4 and takes
 * the map's address at the next `warren enrol` (docs/profile.md). */
function checkOwnAddress6(base: Profile, map: NetworkMap): void {
  const mine = map.self.virtualAddress6;
  if (base.virtualAddress6 === null || mine === undefined) return;
  const net = map.virtualNetwork6;
  if (mine !== base.virtualAddress6 || (net !== undefined && net !== formatIpPrefix(base.virtualNetwork6!))) {
    throw new MapRejected(
      `the coordinator gives this system ${mine} in ${net ?? '?'}, but the profile says ${base.virtualAddress6} in ${formatIpPrefix(base.virtualNetwork6!)}; enrol again`,
    );
  }
}

/** profileFromMap overlays a map on the local profile (keys, port, adapter, proxies stay local).
 * Identities are the ones the coordinator issued, this system's and its peers', never derived
 * from keys: policies, routes and DNS names in the map are written with them. A route for
 * 0.0.0.0/0 (or any route wider than a /8) takes all or most of this machine's traffic through
 * an exit node, so it is applied only when the profile allows it (Coordinator.AllowFullTunnel): the coordinator alone must not be
 * able to take over a machine's traffic. The exit nodes whose full tunnel is left out are
 * listed in exitNode.withheldFullTunnel. Likewise the subnets the map asks this system to provide
 * are served only when the profile opts in (ExitNode.Serve); otherwise they are listed in
 * exitNode.unserved. */
export function profileFromMap(base: Profile, map: NetworkMap): Profile {
  if (map.self.virtualAddress !== base.virtualAddress) {
    throw new MapRejected(
      `the coordinator gives this system ${map.self.virtualAddress}, but the profile says ${base.virtualAddress}; enrol again`,
    );
  }
  checkOwnAddress6(base, map);
  const own = base.publicKey.toString('base64');
  const peers: PeerConfig[] = [];
  const seen = new Set<string>([own]);
  for (const p of map.peers) {
    // never ourselves, never twice
    if (seen.has(p.publicKey) || p.virtualAddress === base.virtualAddress) continue;
    if (p.virtualAddress6 !== undefined && p.virtualAddress6 === base.virtualAddress6) continue;
    seen.add(p.publicKey);
    const publicKey = parseKey(p.publicKey);
    const ep = p.endpoints[0] === undefined ? null : parseIpEndpoint(p.endpoints[0]);
    peers.push({
      name: p.name,
      publicKey,
      identity: p.identity,
      presharedKey: null,
      endpoint: ep,
      allowedIps: [parseCidr(`${p.virtualAddress}/32`)!],
      // The map parser checked the address is inside the network's /48.
      allowedIps6: p.virtualAddress6 === undefined ? [] : [hostPrefix(parseIp(p.virtualAddress6)!)],
      persistentKeepalive: 0,
      tags: p.tags,
      dnsNames: p.dnsNames,
    });
  }
  const known = new Set(peers.map((p) => p.identity));
  const allowFull = base.coordinator?.allowFullTunnel === true;
  const overlay4 = fromCidr(base.virtualNetwork)!;
  const overlay6 = base.virtualNetwork6;
  const available = Object.entries(map.routes)
    .filter(([id]) => known.has(id))
    .map(([identity, rs]) => ({ identity, routes: usableRoutes(rs, overlay4, overlay6) }));
  // Forwarding and NAT for others need this machine's own consent (ExitNode.Serve), as the full
  // tunnel does: the coordinator alone must not turn a laptop into a router.
  const serve = base.exitNode.serve;
  const provided = usableRoutes(map.self.providesRoutes, overlay4, overlay6);
  const withheld = allowFull ? [] : available.filter((a) => a.routes.some(needsConsent)).map((a) => a.identity);
  return {
    ...base,
    identity: map.self.identity,
    peers,
    routeGrants: Object.entries(map.routeGrants ?? {})
      .filter(([id]) => known.has(id))
      .map(([identity, rs]) => ({ identity, routes: usableRoutes(rs, overlay4, overlay6) })),
    tags: map.self.tags,
    signIn: map.self.signIn ?? null,
    policies: map.policies,
    dns: { ...base.dns, zone: map.dnsZone },
    exitNode: {
      providesRoutes: serve ? provided : [],
      unserved: serve ? [] : provided,
      serve,
      availableRoutes: allowFull
        ? available
        : available.map((a) => ({ identity: a.identity, routes: a.routes.filter((c) => !needsConsent(c)) })),
      killSwitch: base.exitNode.killSwitch,
      withheldFullTunnel: withheld,
    },
  };
}
