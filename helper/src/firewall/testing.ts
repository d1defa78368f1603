// Packet builders for the firewall's tests and benchmark: minimal, valid IPv4 packets.
// Checksums are left zero; the firewall does not check them (the kernel does).
import { PROTO } from './compile.js';
import { TCP } from './packet.js';

/** ip parses a dotted quad into a number. */
export function ip(s: string): number {
  const p = s.split('.').map(Number);
  return ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
}

function header(proto: number, src: string, dst: string, payload: number): Buffer {
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
  b.writeUInt16BE(sport, 20);
  b.writeUInt16BE(dport, 22);
  b[32] = 0x50;
  b[33] = flags;
  return b;
}

/** udp builds a UDP datagram with a 4-byte payload. */
export function udp(src: string, sport: number, dst: string, dport: number): Buffer {
  const b = header(PROTO.udp, src, dst, 12);
  b.writeUInt16BE(sport, 20);
  b.writeUInt16BE(dport, 22);
  b.writeUInt16BE(12, 24);
  return b;
}

/** icmpEcho builds an echo request (type 8) or reply (type 0). */
export function icmpEcho(src: string, dst: string, type: 0 | 8, id: number, seq = 1): Buffer {
  const b = header(PROTO.icmp, src, dst, 16);
  b[20] = type;
  b.writeUInt16BE(id, 24);
  b.writeUInt16BE(seq, 26);
  return b;
}

/** icmpError builds an ICMP error (e.g. type 3 code 3, port unreachable) quoting `quoted`. */
export function icmpError(src: string, dst: string, quoted: Buffer, type = 3, code = 3): Buffer {
  const q = quoted.subarray(0, Math.min(quoted.length, 28));
  const b = header(PROTO.icmp, src, dst, 8 + q.length);
  b[20] = type;
  b[21] = code;
  q.copy(b, 28);
  return b;
}

/** fragment marks a packet as a non-first fragment (offset 8 bytes). */
export function fragment(b: Buffer): Buffer {
  const c = Buffer.from(b);
  c[6] = 0x00;
  c[7] = 0x01;
  return c;
}
