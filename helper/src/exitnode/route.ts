// Route discovery for provided subnets, the parsing half (resolve.ts runs the commands): which
// interface leads to the subnet and which of our own addresses the kernel would use there
// (`ip -j route get`, iproute2 ip-route(8)). That address is the SNAT source, so LAN devices
// see the exit node and answer it. Every field of iproute2's JSON is checked before use.
import {
  formatIp,
  isLinkLocal,
  isUniqueLocal,
  parseIp,
  prefixNetwork,
  type IpAddress,
  type IpPrefix,
} from '../../../src-shared/lib/ip/addr.js';
import { ipv6WordMask } from '../../../src-shared/lib/ip/ipv6.js';
import { prefixMask } from '../../../src-shared/lib/ip/ipv4.js';

/** RoutePath is the outgoing interface and our source address towards an address. */
export interface RoutePath {
  dev: string;
  prefsrc: string;
}

const IFNAME_RE = /^[A-Za-z0-9_.-]{1,15}$/;

/** MAX_JSON_ITEMS bounds how many entries of an iproute2 listing are looked at. */
const MAX_JSON_ITEMS = 4096;

/**
 * ourAddress returns the canonical text of an address of the given family that can be a SNAT
 * source, or null. An IPv6 link-local address cannot: it is valid on one link only (RFC 4291
 * §2.5.6), and the subnets we route to are reached through routers as well.
 */
function ourAddress(v: unknown, family: 4 | 6): string | null {
  if (typeof v !== 'string') return null;
  const a = parseIp(v);
  if (a === null || a.family !== family || (family === 6 && isLinkLocal(a))) return null;
  return formatIp(a);
}

function lastAddress(net: IpAddress, bits: number): IpAddress {
  if (net.family === 4) return { family: 4, v4: (net.v4 | ~prefixMask(bits)) >>> 0 };
  const host = (w: number, i: number): number => (w | ~ipv6WordMask(bits, i)) >>> 0;
  return { family: 6, w0: host(net.w0, 0), w1: host(net.w1, 1), w2: host(net.w2, 2), w3: host(net.w3, 3) };
}

/**
 * probeAddresses are the addresses whose route stands for the subnet: the first host, and the
 * last in case the first is our own address (then the kernel answers "local ... dev lo"). IPv4's
 * last address is the broadcast, so the one before it; IPv6 has no broadcast (RFC 4291 §2).
 * Host bits of the route are ignored. Not for /0: that is the default route (resolve.ts).
 */
export function probeAddresses(route: IpPrefix): string[] {
  const net = prefixNetwork(route).addr;
  const width = net.family === 4 ? 32 : 128;
  if (route.bits >= width - 1) return [formatIp(net)];
  const last = lastAddress(net, route.bits);
  if (net.family === 4 && last.family === 4) {
    return [formatIp({ family: 4, v4: net.v4 + 1 }), formatIp({ family: 4, v4: last.v4 - 1 })];
  }
  // With two host bits or more the network's lowest bit is 0, so +1 cannot carry.
  const first = net.family === 6 ? { ...net, w3: (net.w3 | 1) >>> 0 } : net;
  return [formatIp(first), formatIp(last)];
}

function firstItems(text: string): unknown[] | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  return Array.isArray(v) ? v.slice(0, MAX_JSON_ITEMS) : null;
}

/**
 * parseRouteGet reads `ip -j [-6] route get ADDR` output. It returns null for anything that is not
 * a usable path out of this machine: local and unreachable-type routes, missing dev or source,
 * a source of the other family or an IPv6 link-local one.
 */
export function parseRouteGet(text: string, family: 4 | 6 = 4): RoutePath | null {
  const items = firstItems(text);
  if (items === null || items.length === 0) return null;
  const r = items[0] as { type?: unknown; dev?: unknown; prefsrc?: unknown } | null;
  if (r === null || typeof r !== 'object') return null;
  if (r.type !== undefined && r.type !== 'unicast') return null;
  if (typeof r.dev !== 'string' || !IFNAME_RE.test(r.dev) || r.dev === 'lo') return null;
  const prefsrc = ourAddress(r.prefsrc, family);
  return prefsrc === null ? null : { dev: r.dev, prefsrc };
}

/** DefaultRoute is the first default route's interface, gateway and source, as listed. */
export interface DefaultRoute {
  dev: string;
  gateway: string | null;
  prefsrc: string | null;
}

/** parseDefaultRoute reads `ip -j -4|-6 route show default`; null if there is none. */
export function parseDefaultRoute(text: string, family: 4 | 6 = 4): DefaultRoute | null {
  for (const item of firstItems(text) ?? []) {
    const r = item as { type?: unknown; dev?: unknown; gateway?: unknown; prefsrc?: unknown } | null;
    if (r === null || typeof r !== 'object') continue;
    if (r.type !== undefined && r.type !== 'unicast') continue;
    if (typeof r.dev !== 'string' || !IFNAME_RE.test(r.dev) || r.dev === 'lo') continue;
    const gw = typeof r.gateway === 'string' ? parseIp(r.gateway) : null;
    return {
      dev: r.dev,
      // an IPv6 gateway is usually link-local; it is kept as the next hop, not as a source
      gateway: gw !== null && gw.family === family ? formatIp(gw) : null,
      prefsrc: ourAddress(r.prefsrc, family),
    };
  }
  return null;
}

interface AddrInfo {
  family?: unknown;
  local?: unknown;
  scope?: unknown;
  tentative?: unknown;
  deprecated?: unknown;
  dadfailed?: unknown;
  temporary?: unknown;
}

/**
 * parseGlobalAddress6 picks the SNAT source from `ip -j -6 addr show dev DEV scope global`: a
 * global-scope address that is usable (not tentative, deprecated or failed duplicate address
 * detection) and stable (not an RFC 8981 temporary address, which goes away within a day and
 * would cut every translated connection). Non-ULA addresses come first, because a ULA source
 * does not reach the internet (RFC 4193 §4.1). Null if there is none.
 */
export function parseGlobalAddress6(text: string): string | null {
  const found: IpAddress[] = [];
  for (const link of firstItems(text) ?? []) {
    const infos = (link as { addr_info?: unknown } | null)?.addr_info;
    if (!Array.isArray(infos)) continue;
    for (const info of infos.slice(0, MAX_JSON_ITEMS) as Array<AddrInfo | null>) {
      if (info === null || typeof info !== 'object' || info.family !== 'inet6' || info.scope !== 'global') continue;
      if (info.tentative === true || info.deprecated === true || info.dadfailed === true) continue;
      if (info.temporary === true) continue;
      const a = typeof info.local === 'string' ? parseIp(info.local) : null;
      if (a !== null && a.family === 6 && !isLinkLocal(a)) found.push(a);
    }
  }
  const best = found.find((a) => !isUniqueLocal(a)) ?? found[0];
  return best === undefined ? null : formatIp(best);
}
