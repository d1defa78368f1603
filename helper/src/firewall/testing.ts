// Packet builders for the firewall's tests, fuzz harness and benchmark: minimal, valid IPv4 and
// IPv6 packets. An address with a colon makes an IPv6 packet (RFC 8200 §3, hop limit 64), a
// dotted quad an IPv4 one, so one scenario can be run in either family. Checksums are left zero;
// the firewall does not check them (the kernel does).
import { PROTO } from './compile.js';
import { TCP } from './parsed.js';
import { ipv6ToBytes, parseIPv6 } from '../../../src-shared/lib/ip/ipv6.js';

/** ip parses a dotted quad into a number. */
export function ip(s: string): number {
  const p = s.split('.').map(Number);
  return ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
}

/** words is an address as ParsedPacket.addr holds it: four words, IPv4 mapped. */
export function words(s: string): number[] {
  if (!s.includes(':')) return [0, 0, 0xffff, ip(s)];
  const a = parseIPv6(s);
  if (a === null) throw new Error(`bad IPv6 address ${s}`);
  return [a.w0, a.w1, a.w2, a.w3];
}

function header(proto: number, src: string, dst: string, payload: number): Buffer {
  if (src.includes(':')) {
    const b = Buffer.alloc(40 + payload);
    b[0] = 0x60;
    b.writeUInt16BE(payload, 4);
    b[6] = proto === PROTO.icmp ? 58 : proto;
    b[7] = 64;
    Buffer.from(ipv6ToBytes(parseIPv6(src)!)).copy(b, 8);
    Buffer.from(ipv6ToBytes(parseIPv6(dst)!)).copy(b, 24);
    return b;
  }
  const b = Buffer.alloc(20 + payload);
  b[0] = 0x45;
  b.writeUInt16BE(20 + payload, 2);
  b[6] = 0x40; // DF
  b[8] = 64;
  b[9] = proto;
  b.writeUInt32BE(ip(src), 12);
  b.writeUInt32BE(ip(dst), 16);
  return b;
}

// hl is where a packet built here has its upper-layer header.
function hl(b: Buffer): number {
  return b[0]! >> 4 === 6 ? 40 : 20;
}

/** FLAGS spells TCP flag sets for tests. */
export const FLAGS = {
  syn: TCP.syn,
  synAck: TCP.syn | TCP.ack,
  ack: TCP.ack,
  finAck: TCP.fin | TCP.ack,
  rst: TCP.rst,
  pshAck: 0x08 | TCP.ack,
} as const;

/** tcp builds a TCP segment with the given flags. */
export function tcp(src: string, sport: number, dst: string, dport: number, flags: number): Buffer {
  const b = header(PROTO.tcp, src, dst, 20);
  const o = hl(b);
  b.writeUInt16BE(sport, o);
  b.writeUInt16BE(dport, o + 2);
  b[o + 12] = 0x50;
  b[o + 13] = flags;
  return b;
}

/** udp builds a UDP datagram with a 4-byte payload. */
export function udp(src: string, sport: number, dst: string, dport: number): Buffer {
  const b = header(PROTO.udp, src, dst, 12);
  const o = hl(b);
  b.writeUInt16BE(sport, o);
  b.writeUInt16BE(dport, o + 2);
  b.writeUInt16BE(12, o + 4);
  return b;
}

/** icmpEcho builds an echo request (type 8) or reply (type 0); in IPv6, ICMPv6's 128 or 129. */
export function icmpEcho(src: string, dst: string, type: 0 | 8, id: number, seq = 1): Buffer {
  const b = header(PROTO.icmp, src, dst, 16);
  const o = hl(b);
  b[o] = o === 40 ? (type === 8 ? 128 : 129) : type;
  b.writeUInt16BE(id, o + 4);
  b.writeUInt16BE(seq, o + 6);
  return b;
}

/** icmpMessage builds an ICMP (IPv4) or ICMPv6 (IPv6) message of any type with `body` bytes
 * after the type, code and checksum. */
export function icmpMessage(src: string, dst: string, type: number, code = 0, body = 4): Buffer {
  const b = header(PROTO.icmp, src, dst, 4 + body);
  b[hl(b)] = type;
  b[hl(b) + 1] = code;
  return b;
}

/** icmpError builds an ICMP error quoting `quoted`: IPv4 port unreachable (type 3 code 3) with its
 * header and 8 bytes, or ICMPv6 port unreachable (type 1 code 4) with all of it (RFC 4443 §3.1). */
export function icmpError(src: string, dst: string, quoted: Buffer, type?: number, code?: number): Buffer {
  const v6 = src.includes(':');
  const q = v6 ? quoted : quoted.subarray(0, Math.min(quoted.length, 28));
  const b = header(PROTO.icmp, src, dst, 8 + q.length);
  const o = hl(b);
  b[o] = type ?? (v6 ? 1 : 3);
  b[o + 1] = code ?? (v6 ? 4 : 3);
  q.copy(b, o + 8);
  return b;
}

/** ExtHeader describes one IPv6 extension header for withExt: its type and size in bytes (a
 * multiple of 8; of 4 for AH), and for a fragment header the offset (in 8-byte units) and M. */
export interface ExtHeader {
  type: number;
  size?: number;
  offset?: number;
  more?: boolean;
}

/** withExt inserts extension headers between an IPv6 packet's fixed header and its payload. */
export function withExt(pkt: Buffer, chain: readonly ExtHeader[]): Buffer {
  const parts: Buffer[] = [];
  chain.forEach((h, i) => {
    const size = h.type === 44 ? 8 : (h.size ?? 8);
    const e = Buffer.alloc(size);
    e[0] = i + 1 < chain.length ? chain[i + 1]!.type : pkt[6]!;
    if (h.type === 44) e.writeUInt16BE(((h.offset ?? 0) << 3) | (h.more ? 1 : 0), 2);
    else e[1] = h.type === 51 ? size / 4 - 2 : size / 8 - 1;
    if (h.type === 44) e.writeUInt32BE(0x12345678, 4);
    parts.push(e);
  });
  const ext = Buffer.concat(parts);
  const b = Buffer.concat([pkt.subarray(0, 40), ext, pkt.subarray(40)]);
  b[6] = chain.length > 0 ? chain[0]!.type : pkt[6]!;
  b.writeUInt16BE(b.length - 40, 4);
  return b;
}

/** fragment marks a packet as a non-first fragment (offset 8 bytes): in IPv4 by its header, in
 * IPv6 with a fragment header. */
export function fragment(b: Buffer): Buffer {
  if (b[0]! >> 4 === 6) return withExt(b, [{ type: 44, offset: 1 }]);
  const c = Buffer.from(b);
  c[6] = 0x00;
  c[7] = 0x01;
  return c;
}

/** firstFragment marks a packet as the first of several fragments (offset 0, more to come). */
export function firstFragment(b: Buffer): Buffer {
  if (b[0]! >> 4 === 6) return withExt(b, [{ type: 44, offset: 0, more: true }]);
  const c = Buffer.from(b);
  c[6] = 0x20;
  c[7] = 0x00;
  return c;
}
