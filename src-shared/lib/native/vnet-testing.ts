// Packet builders for the TUN offload tests (vnet.test.ts, e2e): IPv4/IPv6 TCP and UDP packets
// with correct checksums computed here, independently of the native code they check, and the
// virtio_net_hdr the kernel puts in front of a TUN read (include/uapi/linux/virtio_net.h).

export const VNET_HDR_LEN = 10;
export const NEEDS_CSUM = 1;
export const GSO = { none: 0, tcp4: 1, udp: 3, tcp6: 4, udpL4: 5 } as const;
export const TCP_FLAGS = { fin: 0x01, syn: 0x02, rst: 0x04, psh: 0x08, ack: 0x10, cwr: 0x80 } as const;

/** VnetHdr is a virtio_net_hdr (little-endian fields). */
export interface VnetHdr {
  flags: number;
  gsoType: number;
  hdrLen: number;
  gsoSize: number;
  csumStart: number;
  csumOffset: number;
}

export function vnetBytes(h: VnetHdr): Buffer {
  const b = Buffer.alloc(VNET_HDR_LEN);
  b[0] = h.flags;
  b[1] = h.gsoType;
  b.writeUInt16LE(h.hdrLen, 2);
  b.writeUInt16LE(h.gsoSize, 4);
  b.writeUInt16LE(h.csumStart, 6);
  b.writeUInt16LE(h.csumOffset, 8);
  return b;
}

export function parseVnet(b: Buffer): VnetHdr {
  return {
    flags: b[0]!,
    gsoType: b[1]!,
    hdrLen: b.readUInt16LE(2),
    gsoSize: b.readUInt16LE(4),
    csumStart: b.readUInt16LE(6),
    csumOffset: b.readUInt16LE(8),
  };
}

/** sum16 is the RFC 1071 one's complement sum of `b`, big-endian words, not complemented. */
export function sum16(b: Uint8Array, acc = 0): number {
  for (let i = 0; i + 1 < b.length; i += 2) acc += (b[i]! << 8) | b[i + 1]!;
  if (b.length % 2 === 1) acc += b[b.length - 1]! << 8;
  while (acc > 0xffff) acc = (acc & 0xffff) + Math.floor(acc / 0x10000);
  return acc;
}

function pseudo(pkt: Buffer, v6: boolean, proto: number, l4len: number): number {
  const tail = Buffer.alloc(v6 ? 8 : 4);
  if (v6) {
    tail.writeUInt32BE(l4len, 0);
    tail[7] = proto;
  } else {
    tail[1] = proto;
    tail.writeUInt16BE(l4len, 2);
  }
  return sum16(tail, sum16(v6 ? pkt.subarray(8, 40) : pkt.subarray(12, 20)));
}

/** Spec describes one packet to build. */
export interface Spec {
  v6?: boolean;
  proto?: 6 | 17;
  src?: number[];
  dst?: number[];
  sport?: number;
  dport?: number;
  seq?: number;
  ack?: number;
  flags?: number;
  id?: number;
  ttl?: number;
  df?: boolean;
  /** tcpOptions are appended after the 20-byte TCP header (a multiple of 4 bytes). */
  tcpOptions?: Buffer;
  payload: Buffer;
}

const SRC4 = [10, 0, 0, 1];
const DST4 = [10, 0, 0, 2];
const SRC6 = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const DST6 = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

/** l3Of is the IP header length of a packet built by `packet`. */
export function l3Of(pkt: Buffer): number {
  return pkt[0]! >> 4 === 6 ? 40 : (pkt[0]! & 15) * 4;
}

/** packet builds an IP packet with valid IPv4 header and L4 checksums. */
export function packet(s: Spec): Buffer {
  const v6 = s.v6 === true;
  const proto = s.proto ?? 6;
  const opts = s.tcpOptions ?? Buffer.alloc(0);
  const l4h = proto === 6 ? 20 + opts.length : 8;
  const l3 = v6 ? 40 : 20;
  const pkt = Buffer.alloc(l3 + l4h + s.payload.length);
  if (v6) {
    pkt[0] = 0x60;
    pkt.writeUInt16BE(l4h + s.payload.length, 4);
    pkt[6] = proto;
    pkt[7] = s.ttl ?? 64;
    Buffer.from(s.src ?? SRC6).copy(pkt, 8);
    Buffer.from(s.dst ?? DST6).copy(pkt, 24);
  } else {
    pkt[0] = 0x45;
    pkt.writeUInt16BE(pkt.length, 2);
    pkt.writeUInt16BE(s.id ?? 100, 4);
    pkt[6] = s.df === false ? 0 : 0x40;
    pkt[8] = s.ttl ?? 64;
    pkt[9] = proto;
    Buffer.from(s.src ?? SRC4).copy(pkt, 12);
    Buffer.from(s.dst ?? DST4).copy(pkt, 16);
    pkt.writeUInt16BE(~sum16(pkt.subarray(0, 20)) & 0xffff, 10);
  }
  pkt.writeUInt16BE(s.sport ?? 40000, l3);
  pkt.writeUInt16BE(s.dport ?? 5201, l3 + 2);
  if (proto === 6) {
    pkt.writeUInt32BE((s.seq ?? 1000) >>> 0, l3 + 4);
    pkt.writeUInt32BE((s.ack ?? 7) >>> 0, l3 + 8);
    pkt[l3 + 12] = (l4h / 4) << 4;
    pkt[l3 + 13] = s.flags ?? TCP_FLAGS.ack;
    pkt.writeUInt16BE(501, l3 + 14);
    opts.copy(pkt, l3 + 20);
  } else {
    pkt.writeUInt16BE(8 + s.payload.length, l3 + 4);
  }
  s.payload.copy(pkt, l3 + l4h);
  setL4Checksum(pkt);
  return pkt;
}

/** setL4Checksum writes the full TCP or UDP checksum of a packet built by `packet`. */
export function setL4Checksum(pkt: Buffer): void {
  const l3 = l3Of(pkt);
  const v6 = l3 === 40;
  const proto = pkt[v6 ? 6 : 9]!;
  const at = l3 + (proto === 6 ? 16 : 6);
  pkt.writeUInt16BE(0, at);
  const c = ~sum16(pkt.subarray(l3), pseudo(pkt, v6, proto, pkt.length - l3)) & 0xffff;
  pkt.writeUInt16BE(c === 0 ? 0xffff : c, at);
}

/** checksumsOk tells whether the IPv4 header and the L4 checksums of pkt verify. */
export function checksumsOk(pkt: Buffer): boolean {
  const l3 = l3Of(pkt);
  const v6 = l3 === 40;
  if (!v6 && sum16(pkt.subarray(0, l3)) !== 0xffff) return false;
  const proto = pkt[v6 ? 6 : 9]!;
  return sum16(pkt.subarray(l3), pseudo(pkt, v6, proto, pkt.length - l3)) === 0xffff;
}

/**
 * superFrame builds what the kernel hands a vnet TUN reader for a GSO send of `s` with segment
 * size gso: the header, and the packet with the L4 checksum field holding only the
 * pseudo-header sum (CHECKSUM_PARTIAL), as the kernel leaves it.
 */
export function superFrame(s: Spec, gso: number): Buffer {
  const pkt = packet(s);
  const l3 = l3Of(pkt);
  const v6 = l3 === 40;
  const proto = s.proto ?? 6;
  const at = proto === 6 ? 16 : 6;
  pkt.writeUInt16BE(pseudo(pkt, v6, proto, pkt.length - l3), l3 + at);
  const l4h = proto === 6 ? (pkt[l3 + 12]! >> 4) * 4 : 8;
  const gsoType = proto === 17 ? GSO.udpL4 : v6 ? GSO.tcp6 : GSO.tcp4;
  const h = { flags: NEEDS_CSUM, gsoType, hdrLen: l3 + l4h, gsoSize: gso, csumStart: l3, csumOffset: at };
  return Buffer.concat([vnetBytes(h), pkt]);
}

/** payloadOf is the L4 payload of pkt. */
export function payloadOf(pkt: Buffer): Buffer {
  const l3 = l3Of(pkt);
  const proto = pkt[l3 === 40 ? 6 : 9]!;
  return pkt.subarray(l3 + (proto === 6 ? (pkt[l3 + 12]! >> 4) * 4 : 8));
}

/** pattern is n bytes of a recognisable sequence starting at `from`. */
export function pattern(n: number, from = 0): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (from + i * 7) & 0xff;
  return b;
}
