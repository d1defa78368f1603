// The profile's ExitNode section (docs/profile.md, "Exit node keys"): `ProvidesRoutes` makes this system an exit node
// for those subnets; `AvailableRoutes` ({IDENTITY: [CIDRs]}) routes subnets through peers. Both
// take IPv4 and IPv6 prefixes. 0.0.0.0/0 and ::/0 are the full tunnel of their family: all
// internet traffic through one exit node; `KillSwitch` then blocks anything that would go around it.
// `Serve` is the local opt-in a coordinated system needs before the coordinator's map can make it an
// exit node (forwarding and NAT are this machine's owner's choice, not the coordinator's alone).
import { type Cidr } from '../../../src-shared/lib/ip/ipv4.js';
import {
  formatIpPrefix,
  fromCidr,
  prefixEquals,
  prefixesOverlap,
  type IpPrefix,
} from '../../../src-shared/lib/ip/addr.js';
import { isIdentity } from '../../../src-shared/lib/identity.js';
import { childPath, indexPath, isObject, quote, typeName, type Issues } from '../../../src-shared/lib/errors.js';
import { cidrValue } from './validate.js';
import { allowedIp6Value, looksIPv6 } from './validate-ipv6.js';

/** MAX_EXIT_ROUTES bounds each list of routes. */
export const MAX_EXIT_ROUTES = 256;
const EXIT_KEYS = ['ProvidesRoutes', 'AvailableRoutes', 'KillSwitch', 'Serve'];

/** ExitNodeConfig is the normalised ExitNode section. */
export interface ExitNodeConfig {
  providesRoutes: IpPrefix[];
  /** availableRoutes maps a peer identity to the subnets reached through it. */
  availableRoutes: Array<{ identity: string; routes: IpPrefix[] }>;
  /** killSwitch: while a full tunnel is in use, drop traffic that would leave around it. */
  killSwitch: boolean;
  /** serve (coordinated mode): the coordinator's map may make this system an exit node. A static
   * profile's ProvidesRoutes is served without it: writing it is the local choice. */
  serve: boolean;
  /** unserved (coordinated mode) lists the subnets the map asks this system to provide that it
   * leaves unserved because serve is off. */
  unserved?: IpPrefix[];
  /** withheldFullTunnel (coordinated mode) names the exit nodes whose 0.0.0.0/0 the map grants
   * but the profile does not allow (Coordinator.AllowFullTunnel), so it was left out. */
  withheldFullTunnel?: string[];
}

/** Overlays are the virtual networks of both families, which no route may overlap. */
export interface Overlays {
  v4: Cidr | undefined;
  v6: IpPrefix | null;
}

/** exitNodeField reads ExitNode. */
export function exitNodeField(raw: Record<string, unknown>, overlays: Overlays, is: Issues): ExitNodeConfig {
  const out: ExitNodeConfig = { providesRoutes: [], availableRoutes: [], killSwitch: false, serve: false };
  if (!Object.hasOwn(raw, 'ExitNode')) return out;
  const v = raw.ExitNode;
  if (!isObject(v)) {
    is.add('ExitNode', `must be an object like {"ProvidesRoutes": ["192.168.1.0/24"]}, not ${typeName(v)}`);
    return out;
  }
  for (const k of Object.keys(v))
    if (!EXIT_KEYS.includes(k)) is.add(childPath('ExitNode', k), `unknown key (known: ${EXIT_KEYS.join(', ')})`);
  if (Object.hasOwn(v, 'ProvidesRoutes'))
    out.providesRoutes = routeList(v.ProvidesRoutes, 'ExitNode.ProvidesRoutes', overlays, is);
  if (Object.hasOwn(v, 'AvailableRoutes')) {
    const a = v.AvailableRoutes;
    if (!isObject(a)) {
      is.add('ExitNode.AvailableRoutes', `must be an object like {"G982V": ["192.168.1.0/24"]}, not ${typeName(a)}`);
    } else {
      for (const [id, list] of Object.entries(a)) {
        const path = childPath('ExitNode.AvailableRoutes', id);
        if (!isIdentity(id)) {
          is.add(
            path,
            `${quote(id)} is not an identity (5 characters like G982V; \`warren status\` shows each peer's)`,
          );
          continue;
        }
        out.availableRoutes.push({ identity: id, routes: routeList(list, path, overlays, is) });
      }
      for (const family of [4, 6] as const) {
        const full = out.availableRoutes.filter((a) => a.routes.some((r) => r.bits === 0 && r.addr.family === family));
        if (full.length > 1) {
          is.add(
            'ExitNode.AvailableRoutes',
            `${family === 4 ? '0.0.0.0/0' : '::/0'} is listed for ${full.map((a) => a.identity).join(' and ')}; only one exit node can carry the full tunnel`,
          );
        }
      }
    }
  }
  if (Object.hasOwn(v, 'KillSwitch')) {
    if (typeof v.KillSwitch !== 'boolean')
      is.add('ExitNode.KillSwitch', `must be true or false, not ${typeName(v.KillSwitch)}`);
    else out.killSwitch = v.KillSwitch;
  }
  if (Object.hasOwn(v, 'Serve')) {
    if (typeof v.Serve !== 'boolean') is.add('ExitNode.Serve', `must be true or false, not ${typeName(v.Serve)}`);
    else out.serve = v.Serve;
  }
  return out;
}

function routeList(v: unknown, path: string, overlays: Overlays, is: Issues): IpPrefix[] {
  if (!Array.isArray(v)) {
    is.add(path, `must be an array of CIDRs like ["192.168.1.0/24", "fd00:1::/64"], not ${typeName(v)}`);
    return [];
  }
  if (v.length > MAX_EXIT_ROUTES) is.add(path, `has ${v.length} routes (the limit is ${MAX_EXIT_ROUTES})`);
  const out: IpPrefix[] = [];
  v.slice(0, MAX_EXIT_ROUTES).forEach((x, i) => {
    const at = indexPath(path, i);
    const c = looksIPv6(x) ? allowedIp6Value(x, at, is) : fromCidrOrUndefined(cidrValue(x, at, is));
    if (!c) return;
    // The full tunnel contains the overlay by definition; the overlay's own route stays more specific.
    const overlay = c.addr.family === 4 ? fromCidrOrUndefined(overlays.v4) : (overlays.v6 ?? undefined);
    if (c.bits !== 0 && overlay && prefixesOverlap(c, overlay)) {
      is.add(at, `${formatIpPrefix(c)} overlaps the virtual network ${formatIpPrefix(overlay)}`);
      return;
    }
    if (!out.some((o) => prefixEquals(o, c))) out.push(c);
  });
  return out;
}

function fromCidrOrUndefined(c: Cidr | undefined): IpPrefix | undefined {
  return c === undefined ? undefined : (fromCidr(c) ?? undefined);
}
