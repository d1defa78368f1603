// Endpoints of either family: where a peer's UDP packets go. IPv6 endpoints are written in
// brackets, [2001:db8::1]:51820, as RFC 5952 §6 recommends: without them "2001:db8::1:80" could
// be an address alone or an address and a port, so a bare IPv6 address is refused.
import { parseIPv4, type Endpoint } from './ipv4.js';
import { IPV6_MAX_TEXT, parseIPv6 } from './ipv6.js';
import { formatIp, ipEquals, ipv6Address, type IpAddress } from './addr.js';

/** IpEndpoint is an address and a UDP port (1-65535). */
export interface IpEndpoint {
  readonly addr: IpAddress;
  readonly port: number;
}

const PORT = /^[1-9][0-9]{0,4}$/;

/** parsePort returns a port written in decimal without sign or leading zero, 1-65535, or null. */
function parsePort(s: string): number | null {
  if (!PORT.test(s)) return null;
  const n = Number(s);
  return n <= 65535 ? n : null;
}

/** parseIpEndpoint returns the endpoint written "a.b.c.d:port" or "[ipv6]:port", or null. */
export function parseIpEndpoint(s: string): IpEndpoint | null {
  // "[" + the longest IPv6 text + "]:" + five digits.
  if (typeof s !== 'string' || s.length > IPV6_MAX_TEXT + 8) return null;
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close < 0 || s[close + 1] !== ':') return null;
    const a = parseIPv6(s.slice(1, close));
    const port = parsePort(s.slice(close + 2));
    return a === null || port === null ? null : { addr: ipv6Address(a), port };
  }
  const colon = s.lastIndexOf(':');
  if (colon < 0) return null;
  const v4 = parseIPv4(s.slice(0, colon));
  const port = parsePort(s.slice(colon + 1));
  return v4 === null || port === null ? null : { addr: { family: 4, v4 }, port };
}

/** formatIpEndpoint writes a.b.c.d:port or [ipv6]:port, the address in canonical form. */
export function formatIpEndpoint(e: IpEndpoint): string {
  return e.addr.family === 4 ? `${formatIp(e.addr)}:${e.port}` : `[${formatIp(e.addr)}]:${e.port}`;
}

/** ipEndpointEquals tells whether two endpoints have the same address and port. */
export function ipEndpointEquals(a: IpEndpoint, b: IpEndpoint): boolean {
  return a.port === b.port && ipEquals(a.addr, b.addr);
}

/** fromEndpoint converts an ipv4.ts Endpoint, or returns null if its address or port is invalid. */
export function fromEndpoint(e: Endpoint): IpEndpoint | null {
  if (e === null || typeof e !== 'object') return null;
  const v4 = parseIPv4(e.ip);
  if (v4 === null || !Number.isInteger(e.port) || e.port < 1 || e.port > 65535) return null;
  return { addr: { family: 4, v4 }, port: e.port };
}

/** toEndpoint converts an IPv4 endpoint to ipv4.ts's Endpoint, or returns null for IPv6. */
export function toEndpoint(e: IpEndpoint): Endpoint | null {
  return e.addr.family === 4 ? { ip: formatIp(e.addr), port: e.port } : null;
}
