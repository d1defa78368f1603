// A bounded walker over a DNS query message (RFC 1035 §4.1, RFC 6891 §6.1.1) that runs before
// dns-packet sees the bytes. dns-packet already refuses forward and self pointers, but it puts no
// bound on the number of backward hops, so one 64 KiB TCP message of pointer chains costs
// quadratic time; and it decodes labels as UTF-8, so a label holding a dot would read as two.
// The walker checks the whole structure with fixed limits and extracts the question name from
// the raw labels, so what the server answers is exactly what was asked.

/** HEADER_SIZE is the fixed DNS header length. */
export const HEADER_SIZE = 12;
/** MAX_HOPS bounds compression pointers per name: a real name has at most 127 labels. */
export const MAX_HOPS = 127;
/** MAX_WIRE_NAME is RFC 1035's 255-octet bound on a name in wire form. */
export const MAX_WIRE_NAME = 255;
/** MAX_EXTRA_RECORDS bounds answer+authority+additional records in a query. */
export const MAX_EXTRA_RECORDS = 8;

const TYPE_OPT = 41;

/** WireProblem is why a message cannot be answered normally; a string union for counters. */
export type WireProblem =
  | 'short' // no complete header: drop
  | 'response' // QR set: never answer a response (reflection loops)
  | 'notimp' // opcode other than QUERY
  | 'formerr'; // anything else malformed

/** Edns is the requester's OPT record (RFC 6891 §6.1.2). */
export interface Edns {
  udpSize: number;
  version: number;
}

/** WireQuery is a structurally valid query with exactly one question. */
export interface WireQuery {
  id: number;
  flags: number; // the 16-bit flags word as received
  /** name is the question name, lowercase, no trailing dot; null when a label is not printable ASCII without dots. */
  name: string | null;
  qtype: number;
  qclass: number;
  /** questionEnd is the offset just past the question, so the question can be echoed verbatim. */
  questionEnd: number;
  edns: Edns | null;
}

/** WalkResult is either a query or a problem, with the header fields when they could be read. */
export type WalkResult =
  { ok: true; query: WireQuery } | { ok: false; problem: WireProblem; id?: number; flags?: number };

interface NameWalk {
  end: number; // offset after the name in the record
  labels: Buffer[];
}

// walkName follows one name with compression. Every pointer must go strictly before the start
// of the labels being read (the same rule dns-packet applies), and hops and length are capped.
function walkName(buf: Buffer, start: number): NameWalk | null {
  const labels: Buffer[] = [];
  let off = start;
  let segmentStart = start;
  let end = -1;
  let hops = 0;
  let wireLen = 1;
  for (;;) {
    if (off >= buf.length) return null;
    const len = buf[off]!;
    if (len === 0) {
      if (end < 0) end = off + 1;
      return { end, labels };
    }
    const kind = len & 0xc0;
    if (kind === 0) {
      if (off + 1 + len > buf.length) return null;
      wireLen += len + 1;
      if (wireLen > MAX_WIRE_NAME) return null;
      labels.push(buf.subarray(off + 1, off + 1 + len));
      off += 1 + len;
    } else if (kind === 0xc0) {
      if (off + 2 > buf.length) return null;
      const target = buf.readUInt16BE(off) & 0x3fff;
      if (target >= segmentStart || ++hops > MAX_HOPS) return null;
      if (end < 0) end = off + 2;
      off = target;
      segmentStart = target;
    } else {
      return null; // 0x40 and 0x80 label types are obsolete or unassigned
    }
  }
}

// labelsToName renders labels as lowercase text, or null if one would not survive a round trip.
function labelsToName(labels: Buffer[]): string | null {
  const parts: string[] = [];
  for (const l of labels) {
    for (const b of l) if (b <= 0x20 || b >= 0x7f || b === 0x2e || b === 0x5c) return null;
    parts.push(l.toString('latin1').toLowerCase());
  }
  return parts.join('.');
}

/** walkQuery checks a whole query message with bounded work; it never throws. */
export function walkQuery(buf: Buffer): WalkResult {
  if (buf.length < HEADER_SIZE) return { ok: false, problem: 'short' };
  const id = buf.readUInt16BE(0);
  const flags = buf.readUInt16BE(2);
  const fail = (problem: WireProblem): WalkResult => ({ ok: false, problem, id, flags });
  if (flags & 0x8000) return { ok: false, problem: 'response' };
  if (((flags >> 11) & 0xf) !== 0) return fail('notimp');
  const qd = buf.readUInt16BE(4);
  const extra = buf.readUInt16BE(6) + buf.readUInt16BE(8) + buf.readUInt16BE(10);
  const arStart = buf.readUInt16BE(6) + buf.readUInt16BE(8);
  if (qd !== 1 || extra > MAX_EXTRA_RECORDS) return fail('formerr');

  const q = walkName(buf, HEADER_SIZE);
  if (q === null || q.end + 4 > buf.length) return fail('formerr');
  const qtype = buf.readUInt16BE(q.end);
  const qclass = buf.readUInt16BE(q.end + 2);
  const questionEnd = q.end + 4;

  let off = questionEnd;
  let edns: Edns | null = null;
  for (let i = 0; i < extra; i++) {
    const rr = walkName(buf, off);
    if (rr === null || rr.end + 10 > buf.length) return fail('formerr');
    const type = buf.readUInt16BE(rr.end);
    const rdlen = buf.readUInt16BE(rr.end + 8);
    const next = rr.end + 10 + rdlen;
    if (next > buf.length) return fail('formerr');
    if (type === TYPE_OPT) {
      // RFC 6891 §6.1.1: one OPT at most, in the additional section, owned by the root.
      if (edns !== null || i < arStart || rr.labels.length !== 0) return fail('formerr');
      edns = { udpSize: buf.readUInt16BE(rr.end + 2), version: buf[rr.end + 5]! };
    }
    off = next;
  }
  if (off !== buf.length) return fail('formerr');
  return { ok: true, query: { id, flags, name: labelsToName(q.labels), qtype, qclass, questionEnd, edns } };
}

/** RCODE maps the response codes Warren sends to their RFC 1035 §4.1.1 / RFC 6895 numbers. */
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
export type Rcode = keyof typeof RCODE;

/**
 * headerOnlyResponse builds a 12-byte reply echoing id, opcode and RD, with no sections; it is
 * how FORMERR and NOTIMP are answered, and it is never larger than the request.
 */
export function headerOnlyResponse(id: number, requestFlags: number, rcode: Rcode): Buffer {
  const out = Buffer.alloc(HEADER_SIZE);
  out.writeUInt16BE(id & 0xffff, 0);
  out.writeUInt16BE(0x8000 | (requestFlags & 0x7900) | RCODE[rcode], 2);
  return out;
}
