// The profile's ExitNode section (docs/profile.md, "Exit node keys"): `ProvidesRoutes` makes this system an exit node
// for those subnets; `AvailableRoutes` ({IDENTITY: [CIDRs]}) routes subnets through peers.
// 0.0.0.0/0 is the full tunnel: all internet traffic through one exit node; `KillSwitch` then
// blocks anything that would go around it.
import { cidrContains, formatCidr, type Cidr } from '../../../src-shared/lib/ip/ipv4.js';
import { isIdentity } from '../../../src-shared/lib/identity.js';
import { childPath, indexPath, isObject, quote, typeName, type Issues } from '../../../src-shared/lib/errors.js';
import { cidrValue } from './validate.js';

/** MAX_EXIT_ROUTES bounds each list of routes. */
export const MAX_EXIT_ROUTES = 256;
const EXIT_KEYS = ['ProvidesRoutes', 'AvailableRoutes', 'KillSwitch'];

/** ExitNodeConfig is the normalised ExitNode section. */
export interface ExitNodeConfig {
  providesRoutes: Cidr[];
  /** availableRoutes maps a peer identity to the subnets reached through it. */
  availableRoutes: Array<{ identity: string; routes: Cidr[] }>;
  /** killSwitch: while a full tunnel is in use, drop traffic that would leave around it. */
  killSwitch: boolean;
  /** withheldFullTunnel (coordinated mode) names the exit nodes whose 0.0.0.0/0 the map grants
   * but the profile does not allow (Coordinator.AllowFullTunnel), so it was left out. */
  withheldFullTunnel?: string[];
}

/** exitNodeField reads ExitNode; overlay is the virtual network, which no route may overlap. */
export function exitNodeField(raw: Record<string, unknown>, overlay: Cidr | undefined, is: Issues): ExitNodeConfig {
  const out: ExitNodeConfig = { providesRoutes: [], availableRoutes: [], killSwitch: false };
  if (!Object.hasOwn(raw, 'ExitNode')) return out;
  const v = raw.ExitNode;
  if (!isObject(v)) {
    is.add('ExitNode', `must be an object like {"ProvidesRoutes": ["192.168.1.0/24"]}, not ${typeName(v)}`);
    return out;
  }
  for (const k of Object.keys(v))
    if (!EXIT_KEYS.includes(k)) is.add(childPath('ExitNode', k), `unknown key (known: ${EXIT_KEYS.join(', ')})`);
  if (Object.hasOwn(v, 'ProvidesRoutes'))
    out.providesRoutes = routeList(v.ProvidesRoutes, 'ExitNode.ProvidesRoutes', overlay, is);
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
        out.availableRoutes.push({ identity: id, routes: routeList(list, path, overlay, is) });
      }
      const full = out.availableRoutes.filter((a) => a.routes.some((r) => r.bits === 0));
      if (full.length > 1) {
        is.add(
          'ExitNode.AvailableRoutes',
          `0.0.0.0/0 is listed for ${full.map((a) => a.identity).join(' and ')}; only one exit node can carry the full tunnel`,
        );
      }
    }
  }
  if (Object.hasOwn(v, 'KillSwitch')) {
    if (typeof v.KillSwitch !== 'boolean')
      is.add('ExitNode.KillSwitch', `must be true or false, not ${typeName(v.KillSwitch)}`);
    else out.killSwitch = v.KillSwitch;
  }
  return out;
}

function routeList(v: unknown, path: string, overlay: Cidr | undefined, is: Issues): Cidr[] {
  if (!Array.isArray(v)) {
    is.add(path, `must be an array of IPv4 CIDRs, not ${typeName(v)}`);
    return [];
  }
  if (v.length > MAX_EXIT_ROUTES) is.add(path, `has ${v.length} routes (the limit is ${MAX_EXIT_ROUTES})`);
  const out: Cidr[] = [];
  v.slice(0, MAX_EXIT_ROUTES).forEach((x, i) => {
    const c = cidrValue(x, indexPath(path, i), is);
    if (!c) return;
    // The full tunnel contains the overlay by definition; the overlay's own route stays more specific.
    if (c.bits !== 0 && overlay && (cidrContains(overlay, c.addr) || cidrContains(c, overlay.addr))) {
      is.add(indexPath(path, i), `${formatCidr(c)} overlaps the virtual network ${formatCidr(overlay)}`);
      return;
    }
    if (!out.some((o) => o.addr === c.addr && o.bits === c.bits)) out.push(c);
  });
  return out;
}
