// Addresses and prefixes of either family, for code that handles IPv4 and IPv6 alike (allowed
// IPs, routes, firewall rules). IPv4 keeps ipv4.ts's unsigned 32-bit number and IPv6 ipv6.ts's
// four words; the family tag says which, so TypeScript narrows an IpAddress by checking it.
//
// The two families never mix implicitly. An IPv4-mapped address (::ffff:a.b.c.d, RFC 4291
// §2.5.5.2) is an IPv6 address: it is not equal to a.b.c.d, it is not inside 0.0.0.0/0, and
// a.b.c.d is not inside ::/0 nor ::ffff:0:0/96. Mapped addresses come from dual-stack sockets;
// the code that reads such a socket calls unmapIPv4 once, so that everything after it sees one
// form, and a rule written for IPv6 can never match IPv4 traffic behind the writer's back.
import { formatIPv4, parseIPv4, prefixMask, type Cidr } from './ipv4.js';
import {
  IPV6_MAX_TEXT,
  compareIPv6,
  formatIPv6,
  ipv6Contains,
  ipv6Equals,
  ipv6Network,
  isIPv4MappedIPv6,
  parseIPv6,
  type IPv6,
} from './ipv6.js';

/** IPv4Address is an IPv4 address; v4 is the unsigned 32-bit number ipv4.ts uses. */
export interface IPv4Address {
  readonly family: 4;
  readonly v4: number;
}

/** IPv6Address is an IPv6 address; the words are ipv6.ts's, so it is an IPv6 as well. */
export interface IPv6Address extends IPv6 {
  readonly family: 6;
}

/** IpAddress is an address of either family. */
export type IpAddress = IPv4Address | IPv6Address;

/** IpPrefix is an address and a prefix length (0-32 or 0-128); host bits are kept as written. */
export interface IpPrefix {
  readonly addr: IpAddress;
  readonly bits: number;
}

const DECIMAL_BITS = /^(0|[1-9][0-9]{0,2})$/;

/** ipv4Address tags ipv4.ts's number as an IpAddress, or returns null if n is not an unsigned 32-bit integer. */
export function ipv4Address(n: number): IPv4Address | null {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) return null;
  return { family: 4, v4: n };
}

/** ipv6Address tags ipv6.ts's words as an IpAddress. */
export function ipv6Address(a: IPv6): IPv6Address {
  return { family: 6, w0: a.w0, w1: a.w1, w2: a.w2, w3: a.w3 };
}

/** addressBits returns the width of the address's family: 32 or 128. */
export function addressBits(a: IpAddress): number {
  return a.family === 4 ? 32 : 128;
}

/** parseIp returns the address written a.b.c.d or in an RFC 4291 §2.2 IPv6 form, or null. */
export function parseIp(s: string): IpAddress | null {
  if (typeof s !== 'string' || s.length > IPV6_MAX_TEXT) return null;
  if (s.includes(':')) {
    const a = parseIPv6(s);
    return a === null ? null : ipv6Address(a);
  }
  const n = parseIPv4(s);
  return n === null ? null : { family: 4, v4: n };
}

/** formatIp writes a.b.c.d for IPv4 and the RFC 5952 canonical form for IPv6. */
export function formatIp(a: IpAddress): string {
  return a.family === 4 ? formatIPv4(a.v4) : formatIPv6(a);
}

/** ipEquals tells whether two addresses are the same; addresses of different families never are. */
export function ipEquals(a: IpAddress, b: IpAddress): boolean {
  if (a.family === 4) return b.family === 4 && a.v4 === b.v4;
  return b.family === 6 && ipv6Equals(a, b);
}

/** compareIp orders addresses for sorting: every IPv4 address first, then numerically. */
export function compareIp(a: IpAddress, b: IpAddress): number {
  if (a.family === 4) return b.family === 4 ? Math.sign(a.v4 - b.v4) : -1;
  return b.family === 6 ? compareIPv6(a, b) : 1;
}

/** isIPv4Mapped tells whether the address is an IPv6 ::ffff:a.b.c.d (RFC 4291 §2.5.5.2). */
export function isIPv4Mapped(a: IpAddress): a is IPv6Address {
  return a.family === 6 && isIPv4MappedIPv6(a);
}

/** unmapIPv4 returns a.b.c.d for ::ffff:a.b.c.d and any other address unchanged. */
export function unmapIPv4(a: IpAddress): IpAddress {
  return isIPv4Mapped(a) ? { family: 4, v4: a.w3 } : a;
}

/** mapIPv4 returns the IPv4-mapped IPv6 address ::ffff:a.b.c.d, as a dual-stack socket wants it. */
export function mapIPv4(a: IPv4Address): IPv6Address {
  return { family: 6, w0: 0, w1: 0, w2: 0xffff, w3: a.v4 };
}

/**
 * parseIpPrefix returns the prefix written "address/n", or null. As with parseCidr, the address
 * is kept as written, host bits included, so that callers can tell the user (prefixIsCanonical).
 */
export function parseIpPrefix(s: string): IpPrefix | null {
  if (typeof s !== 'string' || s.length > IPV6_MAX_TEXT + 4) return null;
  const slash = s.indexOf('/');
  if (slash < 0) return null;
  const addr = parseIp(s.slice(0, slash));
  const bitsText = s.slice(slash + 1);
  if (addr === null || !DECIMAL_BITS.test(bitsText)) return null;
  const bits = Number(bitsText);
  if (bits > addressBits(addr)) return null;
  return { addr, bits };
}

/** formatIpPrefix writes a prefix as address/n, the address as written (see prefixNetwork). */
export function formatIpPrefix(p: IpPrefix): string {
  return `${formatIp(p.addr)}/${p.bits}`;
}

/** hostPrefix returns the prefix holding just this address: /32 or /128. */
export function hostPrefix(a: IpAddress): IpPrefix {
  return { addr: a, bits: addressBits(a) };
}

/** samePrefixBits tells whether a and b are of one family and agree on their first `bits` bits. */
function samePrefixBits(a: IpAddress, b: IpAddress, bits: number): boolean {
  if (a.family === 4) return b.family === 4 && ((a.v4 ^ b.v4) & prefixMask(bits)) === 0;
  return b.family === 6 && ipv6Contains(a, bits, b);
}

/** prefixNetwork returns the prefix with its host bits cleared (2001:db8::/32 for 2001:db8::1/32). */
export function prefixNetwork(p: IpPrefix): IpPrefix {
  const a = p.addr;
  if (a.family === 4) return { addr: { family: 4, v4: (a.v4 & prefixMask(p.bits)) >>> 0 }, bits: p.bits };
  return { addr: ipv6Address(ipv6Network(a, p.bits)), bits: p.bits };
}

/** prefixIsCanonical tells whether the prefix has no host bits set (fd00::/8, not fd00::1/8). */
export function prefixIsCanonical(p: IpPrefix): boolean {
  return ipEquals(p.addr, prefixNetwork(p).addr);
}

/** prefixContains tells whether the address lies inside the prefix; never across families. */
export function prefixContains(p: IpPrefix, a: IpAddress): boolean {
  return samePrefixBits(p.addr, a, p.bits);
}

/** prefixEquals compares two prefixes after clearing host bits. */
export function prefixEquals(p: IpPrefix, q: IpPrefix): boolean {
  return p.bits === q.bits && samePrefixBits(p.addr, q.addr, p.bits);
}

/** prefixesOverlap tells whether some address lies in both prefixes, i.e. one contains the other. */
export function prefixesOverlap(p: IpPrefix, q: IpPrefix): boolean {
  return samePrefixBits(p.addr, q.addr, Math.min(p.bits, q.bits));
}

/** comparePrefix orders prefixes for sorting: by network address (compareIp), then shorter first. */
export function comparePrefix(p: IpPrefix, q: IpPrefix): number {
  const c = compareIp(prefixNetwork(p).addr, prefixNetwork(q).addr);
  return c !== 0 ? c : p.bits - q.bits;
}

/** v6Prefix builds a constant IPv6 prefix from its words. */
function v6Prefix(w0: number, w1: number, w2: number, w3: number, bits: number): IpPrefix {
  return { addr: { family: 6, w0, w1, w2, w3 }, bits };
}

/** v4Prefix builds a constant IPv4 prefix. */
function v4Prefix(v4: number, bits: number): IpPrefix {
  return { addr: { family: 4, v4 }, bits };
}

/** IPV6_LOOPBACK is ::1/128 (RFC 4291 §2.5.3). */
export const IPV6_LOOPBACK = v6Prefix(0, 0, 0, 1, 128);
/** IPV6_UNSPECIFIED is ::/128 (RFC 4291 §2.5.2). */
export const IPV6_UNSPECIFIED = v6Prefix(0, 0, 0, 0, 128);
/** IPV6_LINK_LOCAL is fe80::/10, link-local unicast (RFC 4291 §2.5.6). */
export const IPV6_LINK_LOCAL = v6Prefix(0xfe800000, 0, 0, 0, 10);
/** IPV6_UNIQUE_LOCAL is fc00::/7, unique local unicast (RFC 4193 §3.1). */
export const IPV6_UNIQUE_LOCAL = v6Prefix(0xfc000000, 0, 0, 0, 7);
/** IPV6_IPV4_MAPPED is ::ffff:0:0/96 (RFC 4291 §2.5.5.2). */
export const IPV6_IPV4_MAPPED = v6Prefix(0, 0, 0xffff, 0, 96);
/** IPV6_DOCUMENTATION is 2001:db8::/32, reserved for examples (RFC 3849 §2). */
export const IPV6_DOCUMENTATION = v6Prefix(0x20010db8, 0, 0, 0, 32);

const V4_LOOPBACK = v4Prefix(0x7f000000, 8); // 127.0.0.0/8, RFC 1122 §3.2.1.3 (g)
const V4_LINK_LOCAL = v4Prefix(0xa9fe0000, 16); // 169.254.0.0/16, RFC 3927 §2.1
// TEST-NET-1, -2 and -3 (RFC 5737 §3).
const V4_DOCUMENTATION = [v4Prefix(0xc0000200, 24), v4Prefix(0xc6336400, 24), v4Prefix(0xcb007100, 24)];

/** isLoopback tells whether the address is ::1 or in 127.0.0.0/8. */
export function isLoopback(a: IpAddress): boolean {
  return prefixContains(a.family === 4 ? V4_LOOPBACK : IPV6_LOOPBACK, a);
}

/** isUnspecified tells whether the address is :: or 0.0.0.0, the "any" of a socket bind. */
export function isUnspecified(a: IpAddress): boolean {
  return a.family === 4 ? a.v4 === 0 : prefixContains(IPV6_UNSPECIFIED, a);
}

/** isLinkLocal tells whether the address is in fe80::/10 or 169.254.0.0/16. */
export function isLinkLocal(a: IpAddress): boolean {
  return prefixContains(a.family === 4 ? V4_LINK_LOCAL : IPV6_LINK_LOCAL, a);
}

/** isUniqueLocal tells whether the address is an IPv6 unique local address, in fc00::/7. */
export function isUniqueLocal(a: IpAddress): boolean {
  return prefixContains(IPV6_UNIQUE_LOCAL, a);
}

/** isDocumentation tells whether the address is in 2001:db8::/32 or an IPv4 TEST-NET. */
export function isDocumentation(a: IpAddress): boolean {
  if (a.family === 6) return prefixContains(IPV6_DOCUMENTATION, a);
  return V4_DOCUMENTATION.some((p) => prefixContains(p, a));
}

/** toIPv4 returns the ipv4.ts number of an IPv4 address, or null for IPv6 (unmapIPv4 first if wanted). */
export function toIPv4(a: IpAddress): number | null {
  return a.family === 4 ? a.v4 : null;
}

/** fromCidr converts an ipv4.ts Cidr, or returns null if its fields are out of range. */
export function fromCidr(c: Cidr): IpPrefix | null {
  if (c === null || typeof c !== 'object') return null;
  const addr = ipv4Address(c.addr);
  if (addr === null || !Number.isInteger(c.bits) || c.bits < 0 || c.bits > 32) return null;
  return { addr, bits: c.bits };
}

/** toCidr converts an IPv4 prefix to ipv4.ts's Cidr, or returns null for IPv6. */
export function toCidr(p: IpPrefix): Cidr | null {
  return p.addr.family === 4 ? { addr: p.addr.v4, bits: p.bits } : null;
}
