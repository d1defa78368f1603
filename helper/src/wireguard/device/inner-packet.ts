// The IP header checks both directions of the device make before routing a packet: which family
// it is and how long it says it is. Everything here may come from a peer (after decryption) or
// from any program on the system (through the adapter), so nothing is read before its length
// is checked, and nothing allocates.

/** BAD_VERSION: the version nibble is neither 4 nor 6 (or the packet is empty). */
export const BAD_VERSION = -1;
/** BAD_LENGTH: the header is cut short, or the length it declares does not fit what was read. */
export const BAD_LENGTH = -2;

/** IPV4_HEADER is the fixed IPv4 header without options (RFC 791 §3.1). */
export const IPV4_HEADER = 20;
/** IPV6_HEADER is the fixed IPv6 header (RFC 8200 §3). */
export const IPV6_HEADER = 40;
/** IPV4_DST and IPV6_DST are where the destination address starts; IPV4_SRC and IPV6_SRC the source. */
export const IPV4_SRC = 12;
export const IPV4_DST = 16;
export const IPV6_SRC = 8;
export const IPV6_DST = 24;

/**
 * ipPacketLength returns the length the IP packet at buf[off, off+len) declares, or BAD_VERSION
 * or BAD_LENGTH. IPv4: the total length (RFC 791 §3.1), at least the 20-byte header. IPv6: the
 * 40-byte header plus the payload length (RFC 8200 §3). Bytes after the declared length are
 * not part of the packet. Jumbograms (RFC 2675: payload length 0 and a Hop-by-Hop option) are
 * not supported, as no datagram here can carry one; such a packet reads as its bare 40 bytes.
 * The caller tells the families apart by the version nibble, buf[off] >> 4.
 */
export function ipPacketLength(buf: Uint8Array, off: number, len: number): number {
  if (len < 1) return BAD_VERSION;
  const version = buf[off]! >> 4;
  if (version === 4) {
    if (len < IPV4_HEADER) return BAD_LENGTH;
    const total = (buf[off + 2]! << 8) | buf[off + 3]!;
    return total < IPV4_HEADER || total > len ? BAD_LENGTH : total;
  }
  if (version === 6) {
    if (len < IPV6_HEADER) return BAD_LENGTH;
    const total = IPV6_HEADER + ((buf[off + 4]! << 8) | buf[off + 5]!);
    return total > len ? BAD_LENGTH : total;
  }
  return BAD_VERSION;
}
