// describePacket renders an IPv4 packet header for `-v 5` packet-flow logs. It reads only
// within the given bounds, since the bytes may come from the network.
import { formatIPv4 } from '../../../../src-shared/lib/ip/ipv4.js';

const PROTOCOLS: Record<number, string> = { 1: 'ICMP', 6: 'TCP', 17: 'UDP' };

/** describePacket says "TCP 100.64.0.1:40000 → 100.64.0.2:22, 60 B" or why it cannot. */
export function describePacket(buf: Buffer, off: number, len: number): string {
  if (len < 20 || buf[off]! >> 4 !== 4) return `non-IPv4 packet, ${len} B`;
  const proto = buf[off + 9]!;
  const ihl = (buf[off]! & 0x0f) * 4;
  const src = formatIPv4(buf.readUInt32BE(off + 12));
  const dst = formatIPv4(buf.readUInt32BE(off + 16));
  const name = PROTOCOLS[proto] ?? `proto ${proto}`;
  if ((proto === 6 || proto === 17) && ihl >= 20 && len >= ihl + 4) {
    const sp = buf.readUInt16BE(off + ihl);
    const dp = buf.readUInt16BE(off + ihl + 2);
    return `${name} ${src}:${sp} → ${dst}:${dp}, ${len} B`;
  }
  return `${name} ${src} → ${dst}, ${len} B`;
}
