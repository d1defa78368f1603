// The profile's ExitNode section (issue 5): `ProvidesRoutes` makes this system an exit node
// for those subnets; `AvailableRoutes` ({IDENTITY: [CIDRs]}) routes subnets through peers.
import { cidrContains, formatCidr, type Cidr } from './ipv4.js';
import { isIdentity } from './identity.js';
import { childPath, indexPath, isObject, quote, typeName, type Issues } from './errors.js';
import { cidrValue } from './validate.js';

/** MAX_EXIT_ROUTES bounds each list of routes. */
export const MAX_EXIT_ROUTES = 256;
const EXIT_KEYS = ['ProvidesRoutes', 'AvailableRoutes'];

/** ExitNodeConfig is the normalised ExitNode section. */
export interface ExitNodeConfig {
  providesRoutes: Cidr[];
  /** availableRoutes maps a peer identity to the subnets reached through it. */
  availableRoutes: Array<{ identity: string; routes: Cidr[] }>;
}

/** exitNodeField reads ExitNode; overlay is the virtual network, which no route may overlap. */
export function exitNodeField(raw: Record<string, unknown>, overlay: Cidr | undefined, is: Issues): ExitNodeConfig {
  const out: ExitNodeConfig = { providesRoutes: [], availableRoutes: [] };
  if (!Object.hasOwn(raw, 'ExitNode')) return out;
  const v = raw.ExitNode;
  if (!isObject(v)) {
    is.add('ExitNode', `must be an object like {"ProvidesRoutes": ["192.168.1.0/24"]}, not ${typeName(v)}`);
    return out;
  }
  for (const k of Object.keys(v)) if (!EXIT_KEYS.includes(k)) is.add(childPath('ExitNode', k), `unknown key (known: ${EXIT_KEYS.join(', ')})`);
  if (Object.hasOwn(v, 'ProvidesRoutes')) out.providesRoutes = routeList(v.ProvidesRoutes, 'ExitNode.ProvidesRoutes', overlay, is);
  if (Object.hasOwn(v, 'AvailableRoutes')) {
    const a = v.AvailableRoutes;
    if (!isObject(a)) {
      is.add('ExitNode.AvailableRoutes', `must be an object like {"G982V": ["192.168.1.0/24"]}, not ${typeName(a)}`);
    } else {
      for (const [id, list] of Object.entries(a)) {
        const path = childPath('ExitNode.AvailableRoutes', id);
        if (!isIdentity(id)) {
          is.add(path, `${quote(id)} is not an identity (5 characters like G982V; \`warren status\` shows each peer's)`);
          continue;
        }
        out.availableRoutes.push({ identity: id, routes: routeList(list, path, overlay, is) });
      }
    }
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
    if (c.bits === 0) {
      is.add(indexPath(path, i), 'full tunnel (0.0.0.0/0) is not supported yet; list the subnets to route');
      return;
    }
    if (overlay && (cidrContains(overlay, c.addr) || cidrContains(c, overlay.addr))) {
      is.add(indexPath(path, i), `${formatCidr(c)} overlaps the virtual network ${formatCidr(overlay)}`);
      return;
    }
    if (!out.some((o) => o.addr === c.addr && o.bits === c.bits)) out.push(c);
  });
  return out;
}
