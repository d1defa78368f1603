// Addresses as the bytes NAT messages carry (src-shared/wire/nat-discovery.ts, nat-disco.ts):
// 4 bytes for IPv4, 16 for IPv6, network order; the message's length tells which.
import { isIPv4Mapped, unmapIPv4, ipv6Address, type IpAddress } from './addr.js';
import { ipv6FromBytes, ipv6ToBytes } from './ipv6.js';

/** ipToOctets writes an address as 4 or 16 bytes. An IPv4-mapped IPv6 address (a dual-stack
 * socket's view of an IPv4 source, RFC 4291 §2.5.5.2) is written as the IPv4 address it is. */
export function ipToOctets(a: IpAddress): Uint8Array {
  const u = isIPv4Mapped(a) ? unmapIPv4(a) : a;
  if (u.family === 6) return ipv6ToBytes(u);
  return Uint8Array.of(u.v4 >>> 24, (u.v4 >>> 16) & 255, (u.v4 >>> 8) & 255, u.v4 & 255);
}

/** ipFromOctets reads 4 or 16 bytes back as an address (a mapped one as IPv4), or returns null
 * for any other length. */
export function ipFromOctets(b: Uint8Array): IpAddress | null {
  if (b.length === 4) return { family: 4, v4: ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0 };
  const a = b.length === 16 ? ipv6FromBytes(b) : null;
  return a === null ? null : unmapIPv4(ipv6Address(a));
}
