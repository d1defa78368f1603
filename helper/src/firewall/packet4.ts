// IPv4 parsing for the firewall: RFC 791 (header, fragments), RFC 9293 (TCP header), RFC 768
// (UDP), RFC 792 (ICMP: echo, and errors that quote the offending datagram's header and first 8
// bytes). Never allocates, never throws: anything truncated or inconsistent is a drop reason.
//
// Fragments: only the first fragment carries ports, so a non-first fragment cannot be matched
// to a flow or a port rule. It is dropped with 'fragment'. Warren's MTU makes inner
// fragmentation rare (TCP sets DF and uses path MTU discovery), and reassembly state would be
// one more table an attacker could fill. First fragments are judged like whole packets; one too
// short to hold its transport header is 'first-fragment-incomplete' (the tiny fragment attack,
// RFC 1858 §3.1).
import { DROP, PASS } from './reasons.js';
import { PROTO } from './compile.js';
import { ADDR, ECHO, mapIPv4, type ParsedPacket, readPorts, resetInner, resetUpper, u16 } from './parsed.js';

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

/** parseIPv4 reads the IPv4 packet at buf[off, off+len) (bounds already checked) into out. */
export function parseIPv4(buf: Uint8Array, off: number, len: number, out: ParsedPacket): number {
  if (len < 20) return DROP.malformed;
  const ihl = (buf[off]! & 0x0f) << 2;
  const total = u16(buf, off + 2);
  if (ihl < 20 || total < ihl || total > len) return DROP.malformed;
  const frag = u16(buf, off + 6);
  if ((frag & 0x1fff) !== 0) return DROP.fragment;
  const proto = buf[off + 9]!;
  out.family = 4;
  out.proto = proto;
  mapIPv4(buf, off + 12, out.addr, ADDR.src);
  mapIPv4(buf, off + 16, out.addr, ADDR.dst);
  resetUpper(out);
  const code = upper(buf, off + ihl, total - ihl, proto, out);
  // More fragments (MF) set: the rest of this datagram is in fragments that will be dropped.
  return code === DROP.malformed && frag & 0x2000 ? DROP.firstFragmentIncomplete : code;
}

// upper reads the transport header at buf[l4, l4+len).
function upper(buf: Uint8Array, l4: number, len: number, proto: number, out: ParsedPacket): number {
  if (proto === PROTO.tcp || proto === PROTO.udp) return readPorts(buf, l4, len, proto, out);
  if (proto !== PROTO.icmp) return PASS;
  if (len < 8) return DROP.malformed;
  const type = buf[l4]!;
  out.icmpType = type;
  out.icmpCode = buf[l4 + 1]!;
  if (type === ICMP.echoRequest || type === ICMP.echoReply) {
    out.echo = type === ICMP.echoRequest ? ECHO.request : ECHO.reply;
    out.srcPort = out.dstPort = u16(buf, l4 + 4);
  } else if (isIcmpError(type)) {
    out.isError = true;
    return parseQuoted4(buf, l4 + 8, len - 8, out);
  }
  return PASS;
}

// parseQuoted4 reads the quoted header of an ICMP error: an IPv4 header and at least 8 bytes.
function parseQuoted4(buf: Uint8Array, at: number, len: number, out: ParsedPacket): number {
  if (len < 28 || buf[at]! >> 4 !== 4) return DROP.malformed;
  const ihl = (buf[at]! & 0x0f) << 2;
  if (ihl < 20 || len < ihl + 8) return DROP.malformed;
  // A quoted non-first fragment has no ports, so it cannot name a flow.
  if ((u16(buf, at + 6) & 0x1fff) !== 0) return DROP.icmpErrorNoFlow;
  const proto = buf[at + 9]!;
  const l4 = at + ihl;
  resetInner(out);
  out.innerProto = proto;
  mapIPv4(buf, at + 12, out.addr, ADDR.innerSrc);
  mapIPv4(buf, at + 16, out.addr, ADDR.innerDst);
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
