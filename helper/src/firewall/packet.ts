// IPv4 packet parsing for the firewall: RFC 791 (IPv4 header, fragments), RFC 793 (TCP header),
// RFC 768 (UDP), RFC 792 (ICMP: echo, and errors that quote the offending datagram's header
// and first 8 bytes). Reads into a reusable object, never allocates, never throws: anything
// truncated or inconsistent is a drop reason.
//
// Fragments: only the first fragment carries ports, so a non-first fragment cannot be matched
// to a flow or a port rule. It is dropped with 'fragment'. Warren's MTU makes inner
// fragmentation rare (TCP sets DF and uses path MTU discovery), and reassembly state would be
// one more table an attacker could fill. First fragments are judged like whole packets.
import { DROP, PASS } from './reasons.js';
import { PROTO } from './compile.js';

/** ICMP types the firewall treats specially (RFC 792). */
export const ICMP = {
  echoReply: 0,
  unreachable: 3,
  sourceQuench: 4,
  redirect: 5,
  echoRequest: 8,
  timeExceeded: 11,
  paramProblem: 12,
} as const;

/** TCP flag bits (RFC 793 §3.1). */
export const TCP = { fin: 0x01, syn: 0x02, rst: 0x04, ack: 0x10 } as const;

/** ParsedPacket holds what the firewall needs from one packet; filled in place by parsePacket.
 * For ICMP echo, srcPort and dstPort both hold the identifier. inner* describe the header an
 * ICMP error quotes (isError true). */
export class ParsedPacket {
  proto = 0;
  src = 0;
  dst = 0;
  srcPort = 0;
  dstPort = 0;
  tcpFlags = 0;
  icmpType = 0;
  icmpCode = 0;
  isError = false;
  innerProto = 0;
  innerSrc = 0;
  innerDst = 0;
  innerSrcPort = 0;
  innerDstPort = 0;
  innerIcmpType = 0;
}

/** isIcmpError tells whether an ICMP type carries a quoted datagram. */
export function isIcmpError(type: number): boolean {
  return (
    type === ICMP.unreachable ||
    type === ICMP.timeExceeded ||
    type === ICMP.paramProblem ||
    type === ICMP.sourceQuench ||
    type === ICMP.redirect
  );
}

/** parsePacket reads the IPv4 packet at buf[off, off+len) into out; PASS or a drop code. */
export function parsePacket(buf: Uint8Array, off: number, len: number, out: ParsedPacket): number {
  // Whole, non-negative numbers only: a fractional index would read undefined, not bytes.
  if (off >>> 0 !== off || len >>> 0 !== len || off + len > buf.length) return DROP.malformed;
  // IPv6 is not judged yet: it gets a reason of its own rather than a misreading as IPv4, so
  // that a device with this filter drops it visibly (a device without one carries it).
  if (len > 0 && buf[off]! >> 4 === 6) return DROP.ipv6NotFiltered;
  if (len < 20) return len > 0 && buf[off]! >> 4 !== 4 ? DROP.notIpv4 : DROP.malformed;
  const b0 = buf[off]!;
  if (b0 >> 4 !== 4) return DROP.notIpv4;
  const ihl = (b0 & 0x0f) << 2;
  const total = (buf[off + 2]! << 8) | buf[off + 3]!;
  if (ihl < 20 || total < ihl || total > len) return DROP.malformed;
  if ((((buf[off + 6]! & 0x1f) << 8) | buf[off + 7]!) !== 0) return DROP.fragment;
  const proto = buf[off + 9]!;
  out.proto = proto;
  out.src = u32(buf, off + 12);
  out.dst = u32(buf, off + 16);
  out.srcPort = 0;
  out.dstPort = 0;
  out.tcpFlags = 0;
  out.icmpType = 0;
  out.icmpCode = 0;
  out.isError = false;
  const l4 = off + ihl;
  const l4len = total - ihl;
  if (proto === PROTO.tcp) {
    if (l4len < 20 || buf[l4 + 12]! >> 4 < 5) return DROP.malformed;
    out.srcPort = u16(buf, l4);
    out.dstPort = u16(buf, l4 + 2);
    out.tcpFlags = buf[l4 + 13]!;
    return PASS;
  }
  if (proto === PROTO.udp) {
    if (l4len < 8) return DROP.malformed;
    out.srcPort = u16(buf, l4);
    out.dstPort = u16(buf, l4 + 2);
    return PASS;
  }
  if (proto === PROTO.icmp) {
    if (l4len < 8) return DROP.malformed;
    const type = buf[l4]!;
    out.icmpType = type;
    out.icmpCode = buf[l4 + 1]!;
    if (type === ICMP.echoRequest || type === ICMP.echoReply) {
      out.srcPort = out.dstPort = u16(buf, l4 + 4);
      return PASS;
    }
    if (isIcmpError(type)) {
      out.isError = true;
      return parseInner(buf, l4 + 8, l4len - 8, out);
    }
  }
  return PASS;
}

// parseInner reads the quoted header of an ICMP error: an IPv4 header and at least 8 bytes.
function parseInner(buf: Uint8Array, at: number, len: number, out: ParsedPacket): number {
  if (len < 28 || buf[at]! >> 4 !== 4) return DROP.malformed;
  const ihl = (buf[at]! & 0x0f) << 2;
  if (ihl < 20 || len < ihl + 8) return DROP.malformed;
  // A quoted non-first fragment has no ports, so it cannot name a flow.
  if ((((buf[at + 6]! & 0x1f) << 8) | buf[at + 7]!) !== 0) return DROP.icmpErrorNoFlow;
  const proto = buf[at + 9]!;
  const l4 = at + ihl;
  out.innerProto = proto;
  out.innerSrc = u32(buf, at + 12);
  out.innerDst = u32(buf, at + 16);
  out.innerSrcPort = 0;
  out.innerDstPort = 0;
  out.innerIcmpType = 0;
  if (proto === PROTO.tcp || proto === PROTO.udp) {
    out.innerSrcPort = u16(buf, l4);
    out.innerDstPort = u16(buf, l4 + 2);
  } else if (proto === PROTO.icmp) {
    out.innerIcmpType = buf[l4]!;
    // Only an echo request or reply names a flow; errors about errors are never answered.
    if (out.innerIcmpType !== ICMP.echoRequest && out.innerIcmpType !== ICMP.echoReply) return DROP.icmpErrorNoFlow;
    out.innerSrcPort = out.innerDstPort = u16(buf, l4 + 4);
  }
  return PASS;
}

function u16(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!;
}

function u32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}
