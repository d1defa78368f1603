// respond: one DNS query in, one response (or nothing) out, sans-IO so that the server is a thin
// socket layer and every decision is testable with bytes. RFC 1035 §4.1 for the message,
// RFC 6891 for EDNS, RFC 2308 §3 for the SOA in negative answers.
import dnsPacket from 'dns-packet';
import type { Answer, Packet } from 'dns-packet';
import { headerOnlyResponse, RCODE, walkQuery, type Rcode } from './wire.js';
import type { Zone } from './zone.js';
import { ipv6ToBytes, parseIPv6 } from '../../../src-shared/lib/ip/ipv6.js';

/** Outcome is what happened to one message; each has a counter in the server's stats. */
export type Outcome =
  | 'answer' // NOERROR with records
  | 'nodata' // NOERROR without records
  | 'nxdomain'
  | 'servfail'
  | 'refused'
  | 'formerr'
  | 'notimp'
  | 'badvers'
  | 'dropped';

/** OUTCOMES lists every Outcome, for zero-filled counters. */
export const OUTCOMES: readonly Outcome[] = [
  'answer',
  'nodata',
  'nxdomain',
  'servfail',
  'refused',
  'formerr',
  'notimp',
  'badvers',
  'dropped',
];

/** Transport decides the response size limit: UDP 512 or the EDNS size, TCP 65535. */
export type Transport = 'udp' | 'tcp';

/** MAX_UDP_RESPONSE caps what we send over UDP whatever EDNS offers (DNS flag day 2020 value). */
export const MAX_UDP_RESPONSE = 1232;
/** MIN_UDP_RESPONSE is the size every DNS client accepts (RFC 1035 §4.2.1). */
export const MIN_UDP_RESPONSE = 512;

/** Response is respond's result; question is set only for answered queries, for trace logs. */
export interface Response {
  bytes: Buffer | null;
  outcome: Outcome;
  truncated: boolean;
  question?: { name: string; type: string };
}

const TYPE_AXFR = 252;
const TYPE_IXFR = 251;
const CLASS_IN = 1;

/** respond answers one query message from the zone; it never throws. */
export function respond(msg: Buffer, zone: Zone, transport: Transport): Response {
  const walked = walkQuery(msg);
  if (!walked.ok) {
    if (walked.id === undefined || walked.flags === undefined)
      return { bytes: null, outcome: 'dropped', truncated: false };
    const rcode = walked.problem === 'notimp' ? 'NOTIMP' : 'FORMERR';
    return {
      bytes: headerOnlyResponse(walked.id, walked.flags, rcode),
      outcome: rcode === 'NOTIMP' ? 'notimp' : 'formerr',
      truncated: false,
    };
  }
  const q = walked.query;
  let decoded: dnsPacket.DecodedPacket;
  try {
    decoded = dnsPacket.decode(msg);
  } catch {
    return { bytes: headerOnlyResponse(q.id, q.flags, 'FORMERR'), outcome: 'formerr', truncated: false };
  }
  const question = decoded.questions?.[0];
  if (!question || q.name === null) {
    // The name has bytes that would not echo back unchanged; it cannot be one of ours.
    return { bytes: headerOnlyResponse(q.id, q.flags, 'SERVFAIL'), outcome: 'servfail', truncated: false };
  }

  const limit =
    transport === 'tcp'
      ? 65535
      : q.edns
        ? Math.min(Math.max(q.edns.udpSize, MIN_UDP_RESPONSE), MAX_UDP_RESPONSE)
        : MIN_UDP_RESPONSE;
  const opt: Answer[] = q.edns
    ? [
        {
          type: 'OPT',
          name: '.',
          udpPayloadSize: MAX_UDP_RESPONSE,
          extendedRcode: 0,
          ednsVersion: 0,
          flags: 0,
          flag_do: false,
          options: [],
        },
      ]
    : [];
  const base = { id: q.id, type: 'response' as const, questions: [question], additionals: opt };
  const rd = q.flags & dnsPacket.RECURSION_DESIRED;
  const info = { name: q.name, type: String(question.type) };

  if (q.edns && q.edns.version !== 0) {
    // RFC 6891 §6.1.3: BADVERS is 16, whose upper eight bits go in the OPT record.
    const badvers = opt.map((o) => ({ ...o, extendedRcode: 1 }) as Answer);
    return encode({ ...base, additionals: badvers, flags: rd }, limit, 'badvers', info);
  }
  if (q.qclass !== CLASS_IN) return encode({ ...base, flags: rd | RCODE.REFUSED }, limit, 'refused', info);

  const result = zone.lookup(q.name, info.type);
  if (result.rcode === 'SERVFAIL') return encode({ ...base, flags: rd | RCODE.SERVFAIL }, limit, 'servfail', info);
  // Zone transfers would list every reachable name at once; Warren has no secondaries.
  if (q.qtype === TYPE_AXFR || q.qtype === TYPE_IXFR)
    return encode({ ...base, flags: rd | RCODE.REFUSED }, limit, 'refused', info);

  const aa = dnsPacket.AUTHORITATIVE_ANSWER | rd;
  const soa = soaRecord(zone);
  if (result.rcode === 'NXDOMAIN')
    return encode({ ...base, flags: aa | RCODE.NXDOMAIN, authorities: [soa] }, limit, 'nxdomain', info);
  if (result.soa) return encode({ ...base, flags: aa, answers: [soa] }, limit, 'answer', info);
  if (result.addresses.length === 0) return encode({ ...base, flags: aa, authorities: [soa] }, limit, 'nodata', info);
  return encode({ ...base, flags: aa }, limit, 'answer', info, { addresses: result.addresses, ttl: zone.ttl });
}

// soaRecord is the zone's SOA; its minimum is the negative-caching TTL (RFC 2308 §5).
function soaRecord(zone: Zone): Answer {
  return {
    type: 'SOA',
    name: zone.origin,
    ttl: zone.ttl,
    class: 'IN',
    data: {
      mname: `ns.${zone.origin}`,
      rname: `hostmaster.${zone.origin}`,
      serial: zone.serial,
      refresh: 3600,
      retry: 600,
      expire: 86400,
      minimum: zone.ttl,
    },
  };
}

// encode writes the packet, with A and AAAA records for the question name if given; if it is over the
// limit it drops the records and sets TC so that the client retries over TCP (RFC 1035
// §4.2.1, RFC 7766 §5).
function encode(
  p: Packet,
  limit: number,
  outcome: Outcome,
  question: { name: string; type: string },
  a?: ARecords,
): Response {
  const full = a ? withARecords(p, a) : dnsPacket.encode(p);
  if (full.length <= limit) return { bytes: full, outcome, truncated: false, question };
  const cut = dnsPacket.encode({
    ...p,
    flags: (p.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE,
    answers: [],
    authorities: [],
  });
  return { bytes: cut, outcome, truncated: true, question };
}

interface ARecords {
  addresses: readonly string[];
  ttl: number;
}

const A_RECORD_SIZE = 16;
const AAAA_RECORD_SIZE = 28;
const TYPE_A = 1;
const TYPE_AAAA = 28;

// withARecords adds the answers, A records for IPv4 addresses and AAAA records (RFC 3596 §2.1,
// the 16 address bytes in network order) for IPv6 ones, with their owner compressed to a pointer
// at the question name (RFC 1035 §4.1.4), which dns-packet does not do: 16 bytes per A record
// instead of about 40, so a tag with 28 systems still fits a plain 512-byte UDP answer.
function withARecords(p: Packet, a: ARecords): Buffer {
  const body = dnsPacket.encode({ ...p, answers: [] });
  const questionEnd = dnsPacket.encode({ questions: p.questions ?? [] }).length;
  const parts: Buffer[] = [];
  for (const address of a.addresses) {
    const v6 = address.includes(':') ? parseIPv6(address) : null;
    const r = Buffer.alloc(v6 ? AAAA_RECORD_SIZE : A_RECORD_SIZE);
    r.writeUInt16BE(0xc000 | 12, 0); // the question name starts right after the header
    r.writeUInt16BE(v6 ? TYPE_AAAA : TYPE_A, 2);
    r.writeUInt16BE(1, 4); // IN
    r.writeUInt32BE(a.ttl, 6);
    if (v6) {
      r.writeUInt16BE(16, 10);
      r.set(ipv6ToBytes(v6), 12);
    } else {
      r.writeUInt16BE(4, 10);
      const quad = address.split('.');
      for (let j = 0; j < 4; j++) r[12 + j] = Number(quad[j]);
    }
    parts.push(r);
  }
  const out = Buffer.concat([body.subarray(0, questionEnd), ...parts, body.subarray(questionEnd)]);
  out.writeUInt16BE(a.addresses.length, 6);
  return out;
}

/** rcodeOf reads the 4-bit rcode of a response header, for tests and logs. */
export function rcodeOf(response: Buffer): Rcode | number {
  const code = response.readUInt16BE(2) & 0xf;
  const name = (Object.keys(RCODE) as Rcode[]).find((k) => RCODE[k] === code);
  return name ?? code;
}
