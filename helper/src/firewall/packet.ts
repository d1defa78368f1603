// Packet parsing for the firewall: the version nibble picks the family's parser (packet4.ts for
// IPv4, packet6.ts for IPv6), which fills one reusable ParsedPacket (parsed.ts). Nothing here
// allocates or throws: anything truncated or inconsistent is a drop reason.
import { DROP } from './reasons.js';
import type { ParsedPacket } from './parsed.js';
import { parseIPv4 } from './packet4.js';
import { parseIPv6 } from './packet6.js';

export { ADDR, ECHO, IPV6_ICMP, ParsedPacket, TCP } from './parsed.js';
export { ICMP, isIcmpError } from './packet4.js';
export { ICMP6, isLinkOnly, MAX_EXT_BYTES, MAX_EXT_HEADERS, NEXT_HEADER } from './packet6.js';

/** parsePacket reads the IP packet at buf[off, off+len) into out; PASS or a drop code. */
export function parsePacket(buf: Uint8Array, off: number, len: number, out: ParsedPacket): number {
  // Whole, non-negative numbers only: a fractional index would read undefined, not bytes.
  if (off >>> 0 !== off || len >>> 0 !== len || off + len > buf.length || len === 0) return DROP.malformed;
  const version = buf[off]! >> 4;
  if (version === 4) return parseIPv4(buf, off, len, out);
  if (version === 6) return parseIPv6(buf, off, len, out);
  return DROP.notIpv4;
}
