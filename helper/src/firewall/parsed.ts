// What the firewall reads from a packet of either family, and the pieces both parsers share
// (packet4.ts for IPv4, packet6.ts for IPv6). One ParsedPacket is reused for every packet, so
// parsing allocates nothing; every field a verdict depends on is written for every packet.
import { DROP, PASS } from './reasons.js';
import { PROTO } from './compile.js';

/** TCP flag bits (RFC 9293 §3.1). */
export const TCP = { fin: 0x01, syn: 0x02, rst: 0x04, ack: 0x10 } as const;

/** ECHO says whether a packet is an ICMP or ICMPv6 echo request or reply (ParsedPacket.echo). */
export const ECHO = { none: 0, request: 1, reply: 2 } as const;

/** Offsets of the addresses in ParsedPacket.addr: source, destination, and those of the
 * datagram an ICMP error quotes. */
export const ADDR = { src: 0, dst: 4, innerSrc: 8, innerDst: 12 } as const;

/** IPV6_ICMP is ICMPv6's next header value (RFC 4443 §1). */
export const IPV6_ICMP = 58;

/**
 * ParsedPacket holds what the firewall needs from one packet; filled in place by parsePacket.
 *
 * Addresses are four words each in `addr` (ADDR offsets), w0 the most significant, with an IPv4
 * address IPv4-mapped (::ffff:a.b.c.d, RFC 4291 §2.5.5.2) as in src-shared/lib/ip/words.ts. The
 * IPv6 parser refuses mapped addresses (they never appear on the wire), so the words alone tell
 * the family and a flow of one family can never match a packet of the other.
 *
 * `proto` is the upper-layer protocol number, with one twist so that the firewall judges ICMP of
 * either family alike: in an IPv6 packet, ICMPv6 (58) reads as PROTO.icmp (1), and next header 1
 * (ICMPv4, meaningless inside IPv6) reads as 58, which the firewall treats as any other protocol.
 * The swap is one to one, so two different protocols never share a flow key.
 *
 * For ICMP echo, srcPort and dstPort both hold the identifier. inner* describe the header an ICMP
 * error quotes (isError true); innerProto follows the same numbering as proto.
 */
export class ParsedPacket {
  /** family is 4 or 6. */
  family = 4;
  proto = 0;
  readonly addr = new Uint32Array(16);
  srcPort = 0;
  dstPort = 0;
  tcpFlags = 0;
  /** icmpType and icmpCode as on the wire (ICMP or ICMPv6 numbering, by family). */
  icmpType = 0;
  icmpCode = 0;
  /** echo is an ECHO value. */
  echo = 0;
  isError = false;
  innerProto = 0;
  innerSrcPort = 0;
  innerDstPort = 0;
  innerIcmpType = 0;
}

/** resetUpper clears the upper-layer fields before a packet is read. */
export function resetUpper(out: ParsedPacket): void {
  out.srcPort = 0;
  out.dstPort = 0;
  out.tcpFlags = 0;
  out.icmpType = 0;
  out.icmpCode = 0;
  out.echo = ECHO.none;
  out.isError = false;
}

/** resetInner clears the quoted-datagram fields before an ICMP error's quote is read. */
export function resetInner(out: ParsedPacket): void {
  out.innerProto = 0;
  out.innerSrcPort = 0;
  out.innerDstPort = 0;
  out.innerIcmpType = 0;
}

/** readPorts reads a TCP or UDP header at buf[l4, l4+len) into out: PASS, or DROP.malformed if
 * the header is not all there (TCP: 20 bytes and a data offset of at least 5 words). */
export function readPorts(buf: Uint8Array, l4: number, len: number, proto: number, out: ParsedPacket): number {
  if (proto === PROTO.tcp) {
    if (len < 20 || buf[l4 + 12]! >> 4 < 5) return DROP.malformed;
    out.tcpFlags = buf[l4 + 13]!;
  } else if (len < 8) {
    return DROP.malformed;
  }
  out.srcPort = u16(buf, l4);
  out.dstPort = u16(buf, l4 + 2);
  return PASS;
}

/** u16 reads a big-endian 16-bit number. */
export function u16(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!;
}

// Addresses are written straight into the word array rather than returned from a helper: a
// 32-bit number returned from a function V8 does not inline is boxed, an allocation per packet.
// An int32 stored into a Uint32Array keeps its bits.

/** mapIPv4 writes the IPv4 address at b[at] into words[to] as ::ffff:a.b.c.d. */
export function mapIPv4(b: Uint8Array, at: number, words: Uint32Array, to: number): void {
  words[to] = 0;
  words[to + 1] = 0;
  words[to + 2] = 0xffff;
  words[to + 3] = (b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!;
}

/** readIPv6 writes the 16-byte address at b[at] into words[to]; false if it is IPv4-mapped. */
export function readIPv6(b: Uint8Array, at: number, words: Uint32Array, to: number): boolean {
  for (let i = 0; i < 4; i++, at += 4)
    words[to + i] = (b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!;
  return !(words[to] === 0 && words[to + 1] === 0 && words[to + 2] === 0xffff);
}
