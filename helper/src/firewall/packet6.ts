// IPv6 parsing for the firewall: RFC 8200 (header, extension headers, fragments), RFC 4443
// (ICMPv6: echo, and errors that quote as much of the offending packet as fits), RFC 9293 and
// RFC 768 for the transport headers. Never allocates, never throws: anything truncated or
// inconsistent is a drop reason.
//
// Extension headers (RFC 8200 §4) are walked, never interpreted: hop-by-hop options (only right
// after the IPv6 header, §4.1), routing, fragment, destination options and AH (RFC 4302 §2.2,
// whose length counts 4-byte words). ESP and No Next Header end the walk like an upper-layer
// protocol: nothing after them can be read, so they are "other" protocols to policy. Other next
// header values are upper-layer protocols too, as the kernel's ipv6_skip_exthdr treats them. The
// walk is bounded: at most MAX_EXT_HEADERS headers and MAX_EXT_BYTES bytes (RFC 8504 §5.3 lets a
// node set such limits; RFC 9098 describes why chains longer than that are not worth carrying).
//
// Fragments are handled as IPv4's are (packet4.ts): a non-first fragment has no ports and is
// dropped ('fragment'), so no reassembly state exists and overlapping fragments (RFC 5722) never
// reach a judgement. A first fragment is judged like a whole packet, and must hold the whole
// header chain through the upper-layer header (RFC 7112 §5), else 'first-fragment-incomplete'.
// An atomic fragment (offset 0, no more fragments) is an ordinary packet (RFC 6946 §4).
import { DROP, PASS } from './reasons.js';
import { PROTO } from './compile.js';
import {
  ADDR,
  ECHO,
  IPV6_ICMP,
  type ParsedPacket,
  readIPv6,
  readPorts,
  resetInner,
  resetUpper,
  u16,
} from './parsed.js';

/** ICMPv6 types the firewall treats specially (RFC 4443 §2.1: types below 128 are errors). */
export const ICMP6 = {
  unreachable: 1,
  packetTooBig: 2,
  timeExceeded: 3,
  paramProblem: 4,
  echoRequest: 128,
  echoReply: 129,
} as const;

/** NEXT_HEADER values of the extension headers the walk knows (IANA, RFC 8200 §4). */
export const NEXT_HEADER = {
  hopByHop: 0,
  routing: 43,
  fragment: 44,
  esp: 50,
  ah: 51,
  none: 59,
  destination: 60,
} as const;

/** MAX_EXT_HEADERS and MAX_EXT_BYTES bound the extension header walk (see the top). */
export const MAX_EXT_HEADERS = 8;
export const MAX_EXT_BYTES = 1024;

// The walk's result, in one object reused for every packet: the upper-layer protocol, where its
// header starts, and whether a fragment header said more fragments follow (a first fragment).
const chain = { proto: 0, at: 0, first: false };

/** isLinkOnly tells whether an ICMPv6 type belongs to one link and must never cross the tunnel:
 * MLD (RFC 2710, RFC 3810: 130-132, 143), router and neighbour discovery and redirect (RFC 4861:
 * 133-137), inverse discovery (RFC 3122: 141-142), SEND (RFC 3971: 148-149) and multicast router
 * discovery (RFC 4286: 151-153). The overlay is point to point and has no link to discover. */
export function isLinkOnly(type: number): boolean {
  return (
    (type >= 130 && type <= 137) ||
    (type >= 141 && type <= 143) ||
    type === 148 ||
    type === 149 ||
    (type >= 151 && type <= 153)
  );
}

/** parseIPv6 reads the IPv6 packet at buf[off, off+len) (bounds already checked) into out. */
export function parseIPv6(buf: Uint8Array, off: number, len: number, out: ParsedPacket): number {
  if (len < 40) return DROP.malformed;
  // The payload length bounds the packet; bytes past it (link padding) are not read. A jumbogram
  // (RFC 2675, payload length 0) cannot come through a tunnel whose MTU is below 65,536.
  const end = off + 40 + u16(buf, off + 4);
  if (end > off + len) return DROP.malformed;
  out.family = 6;
  if (!readIPv6(buf, off + 8, out.addr, ADDR.src) || !readIPv6(buf, off + 24, out.addr, ADDR.dst))
    return DROP.ipv4MappedAddress;
  resetUpper(out);
  const walked = walk(buf, buf[off + 6]!, off + 40, end);
  const first = chain.first;
  if (walked !== PASS) return walked === DROP.malformed && first ? DROP.firstFragmentIncomplete : walked;
  const nh = chain.proto;
  out.proto = familyProto(nh);
  const code = upper(buf, chain.at, end - chain.at, nh, out);
  return code === DROP.malformed && first ? DROP.firstFragmentIncomplete : code;
}

// familyProto numbers an IPv6 upper-layer protocol as ParsedPacket.proto does (ICMPv6 as ICMP).
function familyProto(nh: number): number {
  return nh === IPV6_ICMP ? PROTO.icmp : nh === PROTO.icmp ? IPV6_ICMP : nh;
}

// walk follows the extension headers from `at` (the first one's type is nh) up to `end` and
// leaves the upper-layer protocol and its offset in chain: PASS, 'fragment' for a non-first
// fragment, 'ext-header-limit', or 'malformed' for a header cut short or out of place.
function walk(buf: Uint8Array, nh: number, at: number, end: number): number {
  const start = at;
  chain.first = false;
  for (let n = 0; ; n++) {
    if (!isWalked(nh)) {
      chain.proto = nh;
      chain.at = at;
      return PASS;
    }
    if (n === MAX_EXT_HEADERS) return DROP.extHeaderLimit;
    if (nh === NEXT_HEADER.hopByHop && n !== 0) return DROP.malformed;
    // Every extension header is at least 8 bytes; its second byte says how many more.
    if (at + 8 > end) return DROP.malformed;
    const size =
      nh === NEXT_HEADER.fragment ? 8 : nh === NEXT_HEADER.ah ? (buf[at + 1]! + 2) << 2 : (buf[at + 1]! + 1) << 3;
    if (at + size - start > MAX_EXT_BYTES) return DROP.extHeaderLimit;
    if (at + size > end) return DROP.malformed;
    if (nh === NEXT_HEADER.fragment) {
      // RFC 8200 §4.5: the offset is the top 13 bits, M (more fragments) the lowest bit.
      const fo = u16(buf, at + 2);
      if ((fo & 0xfff8) !== 0) return DROP.fragment;
      if (fo & 1) chain.first = true;
    }
    nh = buf[at]!;
    at += size;
  }
}

// isWalked tells whether nh is an extension header the walk steps over.
function isWalked(nh: number): boolean {
  return (
    nh === NEXT_HEADER.hopByHop ||
    nh === NEXT_HEADER.routing ||
    nh === NEXT_HEADER.fragment ||
    nh === NEXT_HEADER.destination ||
    nh === NEXT_HEADER.ah
  );
}

// upper reads the upper-layer header at buf[l4, l4+len), whose next header value is nh.
function upper(buf: Uint8Array, l4: number, len: number, nh: number, out: ParsedPacket): number {
  if (nh === PROTO.tcp || nh === PROTO.udp) return readPorts(buf, l4, len, nh, out);
  if (nh !== IPV6_ICMP) return PASS;
  // Every ICMPv6 message has 4 bytes after type, code and checksum (RFC 4443 §2.1, §3, §4).
  if (len < 8) return DROP.malformed;
  const type = buf[l4]!;
  out.icmpType = type;
  out.icmpCode = buf[l4 + 1]!;
  if (type === ICMP6.echoRequest || type === ICMP6.echoReply) {
    out.echo = type === ICMP6.echoRequest ? ECHO.request : ECHO.reply;
    out.srcPort = out.dstPort = u16(buf, l4 + 4);
  } else if (type < 128) {
    // Every error type, known or not, quotes the packet that caused it (RFC 4443 §2.1, §2.4 (b)).
    out.isError = true;
    return parseQuoted6(buf, l4 + 8, len - 8, out);
  } else if (isLinkOnly(type)) {
    return DROP.icmpv6LinkOnly;
  }
  return PASS;
}

// parseQuoted6 reads the packet an ICMPv6 error quotes: its IPv6 header, its extension headers
// and at least 8 bytes of its upper-layer header (ports, or an echo identifier). The quote is
// usually cut short (RFC 4443 §2.4 (c): as much as fits in 1,280 bytes), so its payload length
// is not checked.
function parseQuoted6(buf: Uint8Array, at: number, len: number, out: ParsedPacket): number {
  if (len < 40 || buf[at]! >> 4 !== 6) return DROP.malformed;
  resetInner(out);
  // A mapped address names no IPv6 flow (and must not name an IPv4 one).
  if (!readIPv6(buf, at + 8, out.addr, ADDR.innerSrc) || !readIPv6(buf, at + 24, out.addr, ADDR.innerDst))
    return DROP.icmpErrorNoFlow;
  const end = at + len;
  const walked = walk(buf, buf[at + 6]!, at + 40, end);
  // A quoted non-first fragment has no ports, and a chain past the bound was never let through.
  if (walked === DROP.fragment || walked === DROP.extHeaderLimit) return DROP.icmpErrorNoFlow;
  if (walked !== PASS) return walked;
  const nh = chain.proto;
  const l4 = chain.at;
  if (end - l4 < 8) return DROP.malformed;
  out.innerProto = familyProto(nh);
  if (nh === PROTO.tcp || nh === PROTO.udp) {
    out.innerSrcPort = u16(buf, l4);
    out.innerDstPort = u16(buf, l4 + 2);
  } else if (nh === IPV6_ICMP) {
    out.innerIcmpType = buf[l4]!;
    // Only an echo request or reply names a flow; errors about errors are never answered.
    if (out.innerIcmpType !== ICMP6.echoRequest && out.innerIcmpType !== ICMP6.echoReply) return DROP.icmpErrorNoFlow;
    out.innerSrcPort = out.innerDstPort = u16(buf, l4 + 4);
  }
  return PASS;
}
