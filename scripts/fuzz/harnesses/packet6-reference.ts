// A second reading of RFC 8200 (IPv6 header, extension headers, fragments), RFC 4443 (ICMPv6),
// RFC 7112 and RFC 6946, written apart from helper/src/firewall/packet6.ts and in another style
// (Buffer reads, a list of headers, names instead of codes), for the firewall-packet harness to
// hold parsePacket's IPv6 answers against. Slow and allocating; it is a reference, not a parser.

/** Ref is what the firewall should make of a packet: a verdict name and, for 'pass', fields. */
export interface Ref {
  verdict: string;
  fields?: Record<string, number | boolean | number[]>;
}

/** Limits the firewall sets on the extension header walk (packet6.ts). */
export const REF_MAX_HEADERS = 8;
export const REF_MAX_BYTES = 1024;

const WALKED = [0, 43, 44, 51, 60]; // hop-by-hop, routing, fragment, AH, destination options
const LINK_ONLY = [130, 131, 132, 133, 134, 135, 136, 137, 141, 142, 143, 148, 149, 151, 152, 153];

interface Chain {
  verdict: string;
  next: number;
  at: number;
  first: boolean;
}

function chainOf(b: Buffer, start: number, end: number, next: number): Chain {
  const seen: number[] = [];
  let at = start;
  let first = false;
  const stop = (verdict: string): Chain => ({ verdict, next, at, first });
  while (WALKED.includes(next)) {
    if (seen.length >= REF_MAX_HEADERS) return stop('ext-header-limit');
    if (next === 0 && seen.length > 0) return stop('malformed'); // RFC 8200 §4.1
    if (end - at < 8) return stop('malformed');
    const lenField = b[at + 1]!;
    const size = next === 44 ? 8 : next === 51 ? 4 * (lenField + 2) : 8 * (lenField + 1);
    if (at - start + size > REF_MAX_BYTES) return stop('ext-header-limit');
    if (at + size > end) return stop('malformed');
    if (next === 44) {
      const offsetUnits = b.readUInt16BE(at + 2) >> 3;
      if (offsetUnits !== 0) return stop('fragment');
      if ((b[at + 3]! & 1) === 1) first = true;
    }
    seen.push(next);
    next = b[at]!;
    at += size;
  }
  return stop('pass');
}

function words(b: Buffer, at: number): number[] {
  return [b.readUInt32BE(at), b.readUInt32BE(at + 4), b.readUInt32BE(at + 8), b.readUInt32BE(at + 12)];
}

function mapped(w: number[]): boolean {
  return w[0] === 0 && w[1] === 0 && w[2] === 0xffff;
}

// The firewall reads ICMPv6 as ICMP (1) and ICMPv4-in-IPv6 as 58.
function asProto(next: number): number {
  return next === 58 ? 1 : next === 1 ? 58 : next;
}

/** reference6 judges an IPv6 packet (version nibble 6, the whole input) as the firewall should. */
export function reference6(b: Buffer): Ref {
  if (b.length < 40) return { verdict: 'malformed' };
  const end = 40 + b.readUInt16BE(4);
  if (end > b.length) return { verdict: 'malformed' };
  const src = words(b, 8);
  const dst = words(b, 24);
  if (mapped(src) || mapped(dst)) return { verdict: 'ipv4-mapped-address' };
  const c = chainOf(b, 40, end, b[6]!);
  const cut = c.first ? 'first-fragment-incomplete' : 'malformed';
  if (c.verdict !== 'pass') return { verdict: c.verdict === 'malformed' ? cut : c.verdict };
  const l4 = c.at;
  const len = end - l4;
  const f: Record<string, number | boolean | number[]> = {
    family: 6,
    proto: asProto(c.next),
    addr: [...src, ...dst],
    srcPort: 0,
    dstPort: 0,
    tcpFlags: 0,
    icmpType: 0,
    icmpCode: 0,
    echo: 0,
    isError: false,
  };
  if (c.next === 6 || c.next === 17) {
    if (len < (c.next === 6 ? 20 : 8) || (c.next === 6 && b[l4 + 12]! >> 4 < 5)) return { verdict: cut };
    f.srcPort = b.readUInt16BE(l4);
    f.dstPort = b.readUInt16BE(l4 + 2);
    if (c.next === 6) f.tcpFlags = b[l4 + 13]!;
    return { verdict: 'pass', fields: f };
  }
  if (c.next !== 58) return { verdict: 'pass', fields: f };
  if (len < 8) return { verdict: cut };
  const type = b[l4]!;
  f.icmpType = type;
  f.icmpCode = b[l4 + 1]!;
  if (type === 128 || type === 129) {
    f.echo = type === 128 ? 1 : 2;
    f.srcPort = f.dstPort = b.readUInt16BE(l4 + 4);
    return { verdict: 'pass', fields: f };
  }
  if (LINK_ONLY.includes(type)) return { verdict: 'icmpv6-link-only' };
  if (type >= 128) return { verdict: 'pass', fields: f };
  f.isError = true;
  const q = quoted(b.subarray(l4 + 8, end));
  if (q.verdict !== 'pass') return { verdict: q.verdict === 'malformed' ? cut : q.verdict };
  return { verdict: 'pass', fields: { ...f, ...q.fields } };
}

// quoted reads the packet an ICMPv6 error carries: header, chain, 8 bytes of the upper layer.
function quoted(q: Buffer): Ref {
  if (q.length < 40 || q[0]! >> 4 !== 6) return { verdict: 'malformed' };
  const src = words(q, 8);
  const dst = words(q, 24);
  if (mapped(src) || mapped(dst)) return { verdict: 'icmp-error-no-flow' };
  const c = chainOf(q, 40, q.length, q[6]!);
  if (c.verdict === 'fragment' || c.verdict === 'ext-header-limit') return { verdict: 'icmp-error-no-flow' };
  if (c.verdict !== 'pass') return { verdict: c.verdict };
  if (q.length - c.at < 8) return { verdict: 'malformed' };
  const f: Record<string, number | number[]> = {
    innerProto: asProto(c.next),
    inner: [...src, ...dst],
    innerSrcPort: 0,
    innerDstPort: 0,
    innerIcmpType: 0,
  };
  if (c.next === 6 || c.next === 17) {
    f.innerSrcPort = q.readUInt16BE(c.at);
    f.innerDstPort = q.readUInt16BE(c.at + 2);
  } else if (c.next === 58) {
    f.innerIcmpType = q[c.at]!;
    if (q[c.at] !== 128 && q[c.at] !== 129) return { verdict: 'icmp-error-no-flow' };
    f.innerSrcPort = f.innerDstPort = q.readUInt16BE(c.at + 4);
  }
  return { verdict: 'pass', fields: f };
}
