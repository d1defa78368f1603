// Unique local IPv6 prefixes (RFC 4193) for a network's own addresses, and placing a host
// identifier inside a prefix, which is how a system's address is derived from its network's.
import { randomBytes } from 'node:crypto';
import { addressBits, ipv6Address, prefixNetwork, type IpAddress, type IpPrefix } from './addr.js';
import { ipv6FromBigInt, ipv6ToBigInt } from './ipv6.js';

/** ULA_GLOBAL_ID_BYTES is the size of an RFC 4193 §3.1 Global ID: 40 bits. */
export const ULA_GLOBAL_ID_BYTES = 5;

/**
 * ulaPrefix returns the /48 of a Global ID (RFC 4193 §3.1: fc00::/7, the L bit set because the
 * ID is assigned locally, then the 40-bit Global ID), or null unless globalId is 5 bytes.
 */
export function ulaPrefix(globalId: Uint8Array): IpPrefix | null {
  if (!(globalId instanceof Uint8Array) || globalId.length !== ULA_GLOBAL_ID_BYTES) return null;
  const g = (i: number): number => globalId[i]!;
  // 0xfd is the 7-bit prefix 1111110 followed by L = 1.
  const w0 = 0xfd000000 + g(0) * 0x10000 + g(1) * 0x100 + g(2);
  const w1 = g(3) * 0x1000000 + g(4) * 0x10000; // the 16-bit Subnet ID after it stays zero in a /48
  return { addr: ipv6Address({ w0, w1, w2: 0, w3: 0 }), bits: 48 };
}

/**
 * randomUlaPrefix returns a fresh fdXX:XXXX:XXXX::/48. RFC 4193 §3.2.1 requires the Global ID
 * to come from a pseudo-random algorithm consistent with RFC 4086; the SHA-1 recipe of §3.2.2
 * is only a suggestion for machines without one, and the operating system's CSPRNG behind
 * randomBytes is exactly such a source, so its 40 bits are used as they are.
 */
export function randomUlaPrefix(): IpPrefix {
  return ulaPrefix(randomBytes(ULA_GLOBAL_ID_BYTES))!;
}

/**
 * addressInPrefix returns the address whose high bits are the prefix's network and whose low
 * bits are hostId, or null if hostId is negative or does not fit in the prefix's host bits.
 * Host bits written in the prefix are ignored. hostId 0 gives the network address itself, which
 * in IPv6 is the Subnet-Router anycast address (RFC 4291 §2.6.1): allocators should skip it.
 */
export function addressInPrefix(prefix: IpPrefix, hostId: bigint): IpAddress | null {
  if (typeof hostId !== 'bigint' || hostId < 0n) return null;
  const width = addressBits(prefix.addr);
  if (!Number.isInteger(prefix.bits) || prefix.bits < 0 || prefix.bits > width) return null;
  if (hostId >> BigInt(width - prefix.bits) !== 0n) return null;
  const net = prefixNetwork(prefix).addr;
  // The network's host bits are zero and hostId fits in them, so adding is the same as OR-ing.
  if (net.family === 4) return { family: 4, v4: net.v4 + Number(hostId) };
  const a = ipv6FromBigInt(ipv6ToBigInt(net) | hostId);
  return a === null ? null : ipv6Address(a);
}
