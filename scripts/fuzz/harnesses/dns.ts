// The nameserver's parsing (helper/src/dns/wire.ts walkQuery, respond.ts, tcp-framer.ts): every
// datagram a local process or a peer sends to the virtual address port 53.
import assert from 'node:assert/strict';
import dnsPacket from 'dns-packet';
import type { Answer } from 'dns-packet';
import type { HarnessSpec } from '../engine.js';
import { guard } from '../guard.js';
import { hashSeed, Rng } from '../rng.js';
import { MAX_UDP_RESPONSE, MIN_UDP_RESPONSE, OUTCOMES, respond, rcodeOf } from '../../../helper/src/dns/respond.js';
import { walkQuery } from '../../../helper/src/dns/wire.js';
import { MAX_TCP_MESSAGE, TcpFramer } from '../../../helper/src/dns/tcp-framer.js';
import { buildZone } from '../../../helper/src/dns/zone.js';

const zone = buildZone({
  self: { identity: 'G982V', address: '100.64.0.1', names: ['a'], tags: ['big'] },
  reachable: [
    { identity: 'B1234', address: '100.64.0.2', names: ['b', 'db.prod'], tags: ['big'] },
    ...Array.from({ length: 40 }, (_, i) => ({
      identity: `T${i}`,
      address: `100.64.1.${i}`,
      names: [],
      tags: ['big'],
    })),
  ],
});

const opt = (udpPayloadSize: number, ednsVersion = 0): Answer => ({
  type: 'OPT',
  name: '.',
  udpPayloadSize,
  extendedRcode: 0,
  ednsVersion,
  flags: 0,
  flag_do: false,
  options: [],
});

function query(name: string, type: string, extra: Partial<dnsPacket.Packet> = {}): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id: 0x1234,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: type as 'A', name }],
    ...extra,
  });
}

function seeds(): Buffer[] {
  const q = [
    query('b.warren.internal', 'A'),
    query('B.WaRReN.internal', 'AAAA'),
    query('big.tag.warren.internal', 'A'),
    query('big.tag.warren.internal', 'A', { additionals: [opt(4096)] }),
    query('b.warren.internal', 'A', { additionals: [opt(1232, 1)] }),
    query('warren.internal', 'SOA'),
    query('warren.internal', 'AXFR'),
    query('nobody.warren.internal', 'ANY'),
    query('example.com', 'TXT'),
    query('b.warren.internal', 'A', { questions: [{ type: 'A', name: 'b.warren.internal', class: 'CH' }] }),
    // an answer record in a query, with a compression pointer to the question
    Buffer.concat([
      Buffer.from('abcd000100010000000001620000010001', 'hex'),
      Buffer.from('c00c000100010000000a000464400002', 'hex'),
    ]),
  ];
  // Two messages in one TCP stream, for the framer.
  const tcp = Buffer.concat(q.slice(0, 2).map((m) => Buffer.concat([Buffer.from([m.length >> 8, m.length & 255]), m])));
  return [...q, tcp];
}

// checkResponse holds for any datagram: the responder answers (id and opcode echoed, QR set,
// within the size limit, decodable) or drops exactly what it cannot answer.
function checkResponse(msg: Buffer, transport: 'udp' | 'tcp'): string {
  const r = respond(msg, zone, transport);
  assert.ok(OUTCOMES.includes(r.outcome), `unknown outcome ${r.outcome}`);
  const undecidable = msg.length < 12 || (msg[2]! & 0x80) !== 0;
  if (r.bytes === null) {
    assert.ok(undecidable, 'dropped a query whose header could be answered');
    assert.equal(r.outcome, 'dropped');
    return `${transport}:dropped`;
  }
  assert.ok(!undecidable, 'answered a response or a message without a header');
  const b = r.bytes;
  assert.ok(b.length >= 12);
  assert.equal(b.readUInt16BE(0), msg.readUInt16BE(0), 'id not echoed');
  assert.ok(b[2]! & 0x80, 'QR not set');
  assert.equal((b[2]! >> 3) & 0xf, (msg[2]! >> 3) & 0xf, 'opcode not echoed');
  const w = walkQuery(msg);
  const limit =
    transport === 'tcp'
      ? MAX_TCP_MESSAGE
      : w.ok && w.query.edns
        ? Math.min(Math.max(w.query.edns.udpSize, MIN_UDP_RESPONSE), MAX_UDP_RESPONSE)
        : MIN_UDP_RESPONSE;
  assert.ok(b.length <= limit, `a ${b.length}-byte ${transport} response is over its limit ${limit}`);
  const decoded = dnsPacket.decode(b);
  if (r.outcome === 'formerr' || r.outcome === 'notimp') assert.equal(b.length, 12, 'an error answer has no sections');
  const echoed = decoded.questions?.[0];
  if (echoed) {
    assert.ok(w.ok, 'a question was echoed from a malformed query');
    assert.equal(echoed.name, dnsPacket.decode(msg).questions?.[0]?.name, 'question not echoed as asked');
  }
  if (r.truncated) assert.ok(decoded.flag_tc && (decoded.answers ?? []).length === 0, 'truncated answer keeps records');
  return `${transport}:${r.outcome}:${rcodeOf(b)}${r.truncated ? ':tc' : ''}`;
}

// framer cuts the input into pieces as a TCP peer might and checks the messages against one
// walk over the whole stream.
function framer(input: Buffer): string {
  const want: Buffer[] = [];
  let at = 0;
  while (input.length - at >= 2) {
    const n = input.readUInt16BE(at);
    if (input.length - at - 2 < n) break;
    want.push(input.subarray(at + 2, at + 2 + n));
    at += 2 + n;
  }
  const rng = new Rng(hashSeed(input));
  const f = new TcpFramer();
  const got: Buffer[] = [];
  for (let off = 0; off < input.length;) {
    const n = 1 + rng.below(rng.chance(2) ? 4 : input.length);
    f.push(input.subarray(off, off + n), (m) => {
      got.push(Buffer.from(m));
      return true;
    });
    off += n;
    assert.ok(f.pendingBytes <= 2 + MAX_TCP_MESSAGE, 'the framer holds more than one message');
  }
  assert.equal(got.length, want.length, 'framer found a different number of messages');
  got.forEach((m, i) => assert.ok(m.equals(want[i]!), `message ${i} differs`));
  assert.equal(f.pendingBytes, input.length - at, 'framer holds a different remainder');
  return `tcp-messages:${Math.min(got.length, 4)}`;
}

export const dns: HarnessSpec = {
  name: 'dns',
  properties: [
    'respond answers every datagram with a header that is a query, and drops only the rest; it never throws',
    'an answer echoes id, opcode and question, sets QR, decodes with dns-packet and fits its UDP or TCP limit',
    'walkQuery never reads past the datagram',
    'the TCP framer gives the messages of one walk over the stream however it is cut, holding at most one message',
  ],
  testIterations: 4000,
  create() {
    return {
      seeds: seeds(),
      dictionary: [
        Buffer.from([0xc0, 0x0c]),
        Buffer.from([0, 41]),
        Buffer.from('\x06warren\x08internal\x00', 'latin1'),
        Buffer.from('\x03tag', 'latin1'),
        Buffer.from([0, 1, 0, 1]),
        Buffer.from([0, 0xfc, 0, 1]),
      ],
      maxLen: 4096,
      run(input) {
        const g = guard(input);
        const w = walkQuery(g.view);
        assert.equal(g.pastEnd(), null, `walkQuery read past the end: ${g.pastEnd()}`);
        const out = [w.ok ? `walk:ok:${w.query.name === null ? 'unprintable' : 'name'}` : `walk:${w.problem}`];
        out.push(checkResponse(input, 'udp'), checkResponse(input, 'tcp'), framer(input));
        return out;
      },
    };
  },
};
