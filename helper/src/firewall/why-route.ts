// `warren why ADDRESS` for an address outside the overlay: which exit node this system reaches it
// through and what lets it, or, on an exit node, which subnet it provides and who may use it.
// The answer follows the filter's rules (scope.ts admit): in coordinated mode a route grant is
// the permission for any traffic into its subnets, while the exit node's own address stays
// behind policy; in static mode policy to the exit node decides.
import { formatIpPrefix, parseIp, prefixContains, type IpPrefix } from '../../../src-shared/lib/ip/addr.js';

/** RouteHolder is a peer with the subnets that go through it (or that it may use). */
export interface RouteHolder {
  identity: string;
  name: string;
  routes: readonly IpPrefix[];
}

/** RouteFacts is what this system knows about routes, as the profile in force has them. */
export interface RouteFacts {
  /** overlays: the virtual networks; an address in them is a system's, never routed. */
  overlays: readonly IpPrefix[];
  /** coordinated: route grants from the coordinator govern (false: a static profile). */
  coordinated: boolean;
  /** via: exit nodes this system routes subnets through. */
  via: readonly RouteHolder[];
  /** provided: subnets this system serves as an exit node. */
  provided: readonly IpPrefix[];
  /** unserved: subnets the map asks this system to serve, left unserved (ExitNode.Serve off). */
  unserved: readonly IpPrefix[];
  /** grants: on an exit node in coordinated mode, who may use which provided subnets. */
  grants: readonly RouteHolder[];
}

/** RouteWhy is the structured answer (`warren why --json`). */
export interface RouteWhy {
  address: string;
  /** via: the exit node and the route that carries the address, if any. */
  via: { identity: string; name: string; route: string; by: 'route-grant' | 'policy' } | null;
  /** provided: the provided subnet holding the address, with the peers granted it. */
  provided: { route: string; grantedTo: string[] | null } | null;
  unserved: string | null;
}

/** whyRoute explains an address outside the virtual networks; null if `text` is no address or
 * an overlay one (which only a system can hold). */
export function whyRoute(text: string, f: RouteFacts): { text: string; detail: RouteWhy } | null {
  const a = parseIp(text.trim());
  if (a === null || f.overlays.some((o) => prefixContains(o, a))) return null;
  const longest = (rs: readonly IpPrefix[]): IpPrefix | undefined =>
    rs.filter((r) => prefixContains(r, a)).sort((x, y) => y.bits - x.bits)[0];
  const detail: RouteWhy = { address: text.trim(), via: null, provided: null, unserved: null };
  let best: { h: RouteHolder; r: IpPrefix } | null = null;
  for (const h of f.via) {
    const r = longest(h.routes);
    if (r !== undefined && (best === null || r.bits > best.r.bits)) best = { h, r };
  }
  if (best !== null) {
    const by = f.coordinated ? 'route-grant' : 'policy';
    detail.via = { identity: best.h.identity, name: best.h.name, route: formatIpPrefix(best.r), by };
  }
  const p = longest(f.provided);
  if (p !== undefined) {
    const granted = f.grants.filter((g) => g.routes.some((r) => prefixContains(r, a))).map((g) => g.identity);
    detail.provided = { route: formatIpPrefix(p), grantedTo: f.coordinated ? granted : null };
  }
  const u = longest(f.unserved);
  if (u !== undefined) detail.unserved = formatIpPrefix(u);
  return { text: routeLines(detail).join('\n'), detail };
}

function routeLines(d: RouteWhy): string[] {
  const out: string[] = [];
  const v = d.via;
  if (v !== null) {
    const who = `exit node ${v.identity}${v.name && v.name !== v.identity ? ` (${v.name})` : ''}`;
    out.push(
      v.by === 'route-grant'
        ? `${d.address}: reached through ${who} by route grant ${v.route} (the coordinator's Routes): ` +
            `this system may start any traffic to it; ${v.identity}'s own address still needs a policy`
        : `${d.address}: routed through ${who} (${v.route}, ExitNode.AvailableRoutes); the policy from this ` +
            `system to ${v.identity} decides what may pass (warren why ${v.identity})`,
    );
  }
  const p = d.provided;
  if (p !== null) {
    out.push(
      p.grantedTo === null
        ? `${d.address}: in ${p.route}, which this system provides as an exit node; peers that policy lets reach this system may reach it`
        : p.grantedTo.length > 0
          ? `${d.address}: in ${p.route}, which this system provides as an exit node; granted to ${p.grantedTo.join(', ')}`
          : `${d.address}: in ${p.route}, which this system provides as an exit node; no route grant covers it, so no peer may reach it`,
    );
  }
  if (d.unserved !== null)
    out.push(
      `${d.address}: in ${d.unserved}, which the coordinator asks this system to serve; not served (ExitNode.Serve is off)`,
    );
  if (out.length === 0) out.push(`${d.address}: no route: no grant covers it (no exit node routes it for this system)`);
  return out;
}
