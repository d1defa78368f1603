// Underlay addresses of either family, as systems report them and as maps name them: an IPv4
// address, or an IPv6 one a peer can send to as it is. Endpoints are written a.b.c.d:port or
// [ipv6]:port (RFC 5952 §6) in canonical form, so the same address is one string everywhere.
import {
  formatIp,
  isIPv4Mapped,
  isLinkLocal,
  isLoopback,
  isUnspecified,
  parseIp,
  parseIpPrefix,
  prefixContains,
  unmapIPv4,
  type IpAddress,
} from './addr.js';
import { formatIpEndpoint, parseIpEndpoint } from './endpoint.js';

const MULTICAST_V4 = parseIpPrefix('224.0.0.0/4')!;
const MULTICAST_V6 = parseIpPrefix('ff00::/8')!;

/** UNUSABLE names the reasons unusableReason gives. */
export const UNUSABLE = {
  loopback: 'a loopback address',
  unspecified: 'the unspecified address',
  multicast: 'a multicast address',
  linkLocal: 'an IPv6 link-local address',
  mapped: 'an IPv4-mapped IPv6 address (report the IPv4 address)',
} as const;

/** unusableReason says why a peer could not send to `a` (null if it could): loopback points a
 * peer at itself; the unspecified address and multicast are no one's; an IPv6 link-local
 * address needs a zone (RFC 4007 §6) only its own link can name; a mapped address is IPv4
 * written as IPv6 and must be reported as IPv4. */
export function unusableReason(a: IpAddress): string | null {
  if (isLoopback(a)) return UNUSABLE.loopback;
  if (isUnspecified(a)) return UNUSABLE.unspecified;
  if (prefixContains(a.family === 4 ? MULTICAST_V4 : MULTICAST_V6, a)) return UNUSABLE.multicast;
  if (a.family === 6 && isLinkLocal(a)) return UNUSABLE.linkLocal;
  if (isIPv4Mapped(a)) return UNUSABLE.mapped;
  return null;
}

/** reportedAddress parses an address a system reports and returns it in canonical form, or
 * returns why it is refused. */
export function reportedAddress(text: string): string | { problem: string } {
  const a = parseIp(text);
  if (a === null) return { problem: 'is not an IPv4 or IPv6 address' };
  const why = unusableReason(a);
  return why === null ? formatIp(a) : { problem: `is ${why}; report interface addresses only` };
}

/** reportedEndpoint parses "a.b.c.d:port" or "[ipv6]:port" of a system's enrolment and returns
 * it in canonical form, or returns why it is refused. */
export function reportedEndpoint(text: string): string | { problem: string } {
  const e = parseIpEndpoint(text);
  if (e === null) return { problem: 'is not a.b.c.d:port or [ipv6]:port' };
  const why = unusableReason(e.addr);
  return why === null ? formatIpEndpoint(e) : { problem: `is ${why}` };
}

/** observedEndpoint names the endpoint a peer can reach a system at, from the address its HTTP
 * requests or discovery requests came from (a dual-stack socket may show IPv4 mapped) and a
 * port, or null for an address no peer could use. */
export function observedEndpoint(ip: string, port: number): string | null {
  const parsed = parseIp(ip);
  if (parsed === null || !Number.isInteger(port) || port < 1 || port > 65535) return null;
  const a = unmapIPv4(parsed);
  return unusableReason(a) === null ? formatIpEndpoint({ addr: a, port }) : null;
}

/** endpointText writes an address (either family) and port as an endpoint. */
export function endpointText(ip: string, port: number): string {
  const a = parseIp(ip);
  return a === null ? `${ip}:${port}` : formatIpEndpoint({ addr: unmapIPv4(a), port });
}
