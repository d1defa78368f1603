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
import { ADDR, ECHO, mapIPv4, type ParsedPacket, resetInner, resetUpper, u16 } from './parsed.js';

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

// Module-local copies of the constants parseIPv4 reads for every packet: V8 folds a module's own
// const into the code it compiles, while a property of an imported object is loaded each time
// (measured: a fifth of the parse).
const SRC = ADDR.src;
const DST = ADDR.dst;
const TCP_ = PROTO.tcp;
const UDP_ = PROTO.udp;
const NO_ECHO = ECHO.none;

/** parseIPv4 reads the IPv4 packet at buf[off, off+len) (bounds already checked) into out. */
export function parseIPv4(buf: Uint8Array, off: number, len: number, out: ParsedPacket): number {
  // Written flat, header reads and the TCP and UDP ports in this one function: every packet of
  // a flow takes this path, and when it called helpers (u16, mapIPv4, readPorts) V8 did not
  // inline them all into the filter, which made an IPv4 decision a quarter slower.
  if (len < 20) return DROP.malformed;
  const ihl = (buf[off]! & 0x0f) << 2;
  const total = (buf[off + 2]! << 8) | buf[off + 3]!;
  if (ihl < 20 || total < ihl || total > len) return DROP.malformed;
  const frag = (buf[off + 6]! << 8) | buf[off + 7]!;
  if ((frag & 0x1fff) !== 0) return DROP.fragment;
  const proto = buf[off + 9]!;
  out.family = 4;
  out.proto = proto;
  // The addresses as ::ffff:a.b.c.d (parsed.ts).
  const a = out.addr;
  a[SRC] = a[SRC + 1] = a[DST] = a[DST + 1] = 0;
  a[SRC + 2] = a[DST + 2] = 0xffff;
  a[SRC + 3] = (buf[off + 12]! << 24) | (buf[off + 13]! << 16) | (buf[off + 14]! << 8) | buf[off + 15]!;
  a[DST + 3] = (buf[off + 16]! << 24) | (buf[off + 17]! << 16) | (buf[off + 18]! << 8) | buf[off + 19]!;
  const l4 = off + ihl;
  const l4len = total - ihl;
  if ((proto === TCP_ || proto === UDP_) && l4len >= (proto === TCP_ ? 20 : 8)) {
    // TCP's data offset is at least 5 words (RFC 9293 §3.1).
    if (proto === TCP_ && buf[l4 + 12]! >> 4 < 5) return malformed(frag, out);
    out.srcPort = (buf[l4]! << 8) | buf[l4 + 1]!;
    out.dstPort = (buf[l4 + 2]! << 8) | buf[l4 + 3]!;
    out.tcpFlags = proto === TCP_ ? buf[l4 + 13]! : 0;
    out.icmpType = 0;
    out.icmpCode = 0;
    out.echo = NO_ECHO;
    out.isError = false;
    return PASS;
  }
  resetUpper(out);
  if (proto === TCP_ || proto === UDP_) return malformed(frag, out);
  const code = proto === PROTO.icmp ? icmp(buf, l4, l4len, out) : PASS;
  return code === DROP.malformed ? malformed(frag, out) : code;
}

// malformed is the verdict on an IPv4 packet whose upper-layer header is cut short: with more
// fragments (MF) set, the rest of it is in fragments that will be dropped (RFC 1858 §3.1).
function malformed(frag: number, out: ParsedPacket): number {
  resetUpper(out);
  return frag & 0x2000 ? DROP.firstFragmentIncomplete : DROP.malformed;
}

// icmp reads the ICMP header at buf[l4, l4+len).
function icmp(buf: Uint8Array, l4: number, len: number, out: ParsedPacket): number {
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
