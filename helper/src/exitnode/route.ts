// Route discovery for provided subnets: which interface leads to the subnet and which of our
// own addresses the kernel would use there (`ip -j route get`, iproute2 ip-route(8)). That
// address is the SNAT source, so LAN devices see the exit node and answer it.
import { formatIPv4, prefixMask, type Cidr } from '../../../src-shared/lib/ip/ipv4.js';

/** RoutePath is the outgoing interface and our source address towards an address. */
export interface RoutePath {
  dev: string;
  prefsrc: string;
}

const IFNAME_RE = /^[A-Za-z0-9_.-]{1,15}$/;
const IPV4_RE = /^(\d{1,3}\.){3}\d{1,3}$/;

/**
 * probeAddresses are the addresses whose route stands for the subnet: the first host, and the
 * last host in case the first is our own address (then the kernel answers "local ... dev lo").
 */
export function probeAddresses(route: Cidr): string[] {
  const net = (route.addr & prefixMask(route.bits)) >>> 0;
  if (route.bits >= 31) return [formatIPv4(net)];
  const last = ((net | ~prefixMask(route.bits)) >>> 0) - 1;
  return [formatIPv4(net + 1), formatIPv4(last)];
}

/**
 * parseRouteGet reads `ip -j route get ADDR` output. It returns null for anything that is not a
 * usable path out of this machine: local and unreachable-type routes, missing dev or source.
 */
export function parseRouteGet(text: string): RoutePath | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (!Array.isArray(v) || v.length === 0) return null;
  const r = v[0] as { type?: unknown; dev?: unknown; prefsrc?: unknown } | null;
  if (r === null || typeof r !== 'object') return null;
  if (r.type !== undefined && r.type !== 'unicast') return null;
  if (typeof r.dev !== 'string' || !IFNAME_RE.test(r.dev) || r.dev === 'lo') return null;
  if (typeof r.prefsrc !== 'string' || !IPV4_RE.test(r.prefsrc)) return null;
  return { dev: r.dev, prefsrc: r.prefsrc };
}

/** DefaultRoute is the first IPv4 default route's interface, gateway and source, as listed. */
export interface DefaultRoute {
  dev: string;
  gateway: string | null;
  prefsrc: string | null;
}

/** parseDefaultRoute reads `ip -j -4 route show default`; null if there is none. */
export function parseDefaultRoute(text: string): DefaultRoute | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (!Array.isArray(v)) return null;
  for (const item of v) {
    const r = item as { type?: unknown; dev?: unknown; gateway?: unknown; prefsrc?: unknown } | null;
    if (r === null || typeof r !== 'object') continue;
    if (r.type !== undefined && r.type !== 'unicast') continue;
    if (typeof r.dev !== 'string' || !IFNAME_RE.test(r.dev)) continue;
    return {
      dev: r.dev,
      gateway: typeof r.gateway === 'string' && IPV4_RE.test(r.gateway) ? r.gateway : null,
      prefsrc: typeof r.prefsrc === 'string' && IPV4_RE.test(r.prefsrc) ? r.prefsrc : null,
    };
  }
  return null;
}
