// describePacket renders an IPv4 or IPv6 packet header for `-v 5` packet-flow logs. It reads
// only within the given bounds, since the bytes may come from the network.
import { formatIPv4 } from '../../../../src-shared/lib/ip/ipv4.js';
import { formatIPv6, ipv6FromBytes } from '../../../../src-shared/lib/ip/ipv6.js';

const PROTOCOLS: Record<number, string> = { 1: 'ICMP', 6: 'TCP', 17: 'UDP', 58: 'ICMPv6' };

/** render names the flow, with the ports of a TCP or UDP header at l4 if buf[l4, end) holds them. */
function render(name: string, proto: number, src: string, dst: string, buf: Buffer, l4: number, end: number): string {
  const len = end - l4;
  if ((proto === 6 || proto === 17) && len >= 4) {
    return `${name} ${src}:${buf.readUInt16BE(l4)} → ${dst}:${buf.readUInt16BE(l4 + 2)}`;
  }
  return `${name} ${src} → ${dst}`;
}

/**
 * describePacket says "TCP 100.64.0.1:40000 → 100.64.0.2:22, 60 B", "UDP [fd00::1]:53 →
 * [fd00::2]:40000, 80 B", or why it cannot. For IPv6 the ports are those right after the fixed
 * header (RFC 8200 §3): with extension headers in between, the next header is named instead.
 */
export function describePacket(buf: Buffer, off: number, len: number): string {
  const version = len > 0 ? buf[off]! >> 4 : 0;
  if (version === 4 && len >= 20) {
    const proto = buf[off + 9]!;
    const ihl = (buf[off]! & 0x0f) * 4;
    const src = formatIPv4(buf.readUInt32BE(off + 12));
    const dst = formatIPv4(buf.readUInt32BE(off + 16));
    const name = PROTOCOLS[proto] ?? `proto ${proto}`;
    return `${render(name, ihl >= 20 ? proto : -1, src, dst, buf, off + ihl, off + len)}, ${len} B`;
  }
  if (version === 6 && len >= 40) {
    const next = buf[off + 6]!;
    const src = `[${formatIPv6(ipv6FromBytes(buf, off + 8)!)}]`;
    const dst = `[${formatIPv6(ipv6FromBytes(buf, off + 24)!)}]`;
    const name = PROTOCOLS[next] ?? `next header ${next}`;
    return `${render(name, next, src, dst, buf, off + 40, off + len)}, ${len} B`;
  }
  return `no whole IPv4 or IPv6 header (version ${version}), ${len} B`;
}
