import { test } from 'node:test';
import assert from 'node:assert/strict';
import dnsPacket from 'dns-packet';
import type { Answer } from 'dns-packet';
import { rcodeOf, respond } from './respond.js';
import { walkQuery, MAX_HOPS } from './wire.js';
import { buildZone } from './zone.js';

const zone = buildZone({
  self: { identity: 'G982V', address: '100.64.0.1', names: ['a'], tags: [] },
  reachable: [
    { identity: 'B1234', address: '100.64.0.2', names: ['b'], tags: ['big'] },
    ...Array.from({ length: 60 }, (_, i) => ({
      identity: `T${i}`,
      address: `100.64.1.${i}`,
      names: [],
      tags: ['big'],
    })),
  ],
});

function query(name: string, type = 'A', extra: Partial<dnsPacket.Packet> = {}): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id: 0x1234,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: type as 'A', name }],
    ...extra,
  });
}

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

test('respond answers questions with the right rcode, flags and records', () => {
  const cases: Array<{ msg: Buffer; rcode: string; outcome: string; answers: string[]; aa: boolean }> = [
    { msg: query('b.warren.internal'), rcode: 'NOERROR', outcome: 'answer', answers: ['100.64.0.2'], aa: true },
    { msg: query('B.WaRReN.internal'), rcode: 'NOERROR', outcome: 'answer', answers: ['100.64.0.2'], aa: true },
    { msg: query('b.warren.internal', 'AAAA'), rcode: 'NOERROR', outcome: 'nodata', answers: [], aa: true },
    { msg: query('nobody.warren.internal'), rcode: 'NXDOMAIN', outcome: 'nxdomain', answers: [], aa: true },
    { msg: query('example.com'), rcode: 'SERVFAIL', outcome: 'servfail', answers: [], aa: false },
    { msg: query('warren.internal', 'AXFR'), rcode: 'REFUSED', outcome: 'refused', answers: [], aa: false },
    {
      msg: query('b.warren.internal', 'A', { questions: [{ type: 'A', name: 'b.warren.internal', class: 'CH' }] }),
      rcode: 'REFUSED',
      outcome: 'refused',
      answers: [],
      aa: false,
    },
  ];
  for (const c of cases) {
    const r = respond(c.msg, zone, 'udp');
    assert.ok(r.bytes, c.msg.toString('hex'));
    const p = dnsPacket.decode(r.bytes);
    assert.equal(p.id, 0x1234);
    assert.equal(p.type, 'response');
    assert.equal(rcodeOf(r.bytes), c.rcode);
    assert.equal(r.outcome, c.outcome);
    assert.equal(p.flag_aa, c.aa);
    assert.equal(p.flag_rd, true);
    assert.equal(p.questions?.length, 1);
    assert.equal(p.questions?.[0]?.name, dnsPacket.decode(c.msg).questions?.[0]?.name, 'question echoed with its case');
    assert.deepEqual(
      (p.answers ?? []).map((a) => (a as { data: string }).data),
      c.answers,
    );
    if (c.outcome === 'nxdomain' || c.outcome === 'nodata') assert.equal(p.authorities?.[0]?.type, 'SOA');
  }
});

test('AAAA questions get AAAA records (RFC 3596) with the 16 address bytes; an IPv4-only name gets NODATA', () => {
  const z = buildZone({
    self: { identity: 'G982V', address: '100.64.0.1', address6: 'fd12:3456:789a::6440:1', names: ['a'], tags: ['x'] },
    reachable: [
      { identity: 'B1234', address: '100.64.0.2', address6: 'fd12:3456:789a::6440:2', names: ['b'], tags: ['x'] },
      { identity: 'C5678', address: '100.64.0.3', names: ['c'], tags: [] },
    ],
  });
  const ask = (name: string, type: string): dnsPacket.DecodedPacket & { rcode: unknown } => {
    const r = respond(query(name, type), z, 'udp');
    assert.ok(r.bytes);
    return { ...dnsPacket.decode(r.bytes), rcode: rcodeOf(r.bytes) };
  };
  const b = ask('b.warren.internal', 'AAAA');
  assert.equal(b.rcode, 'NOERROR');
  assert.deepEqual(
    (b.answers ?? []).map((a) => [a.type, a.name, (a as { data: string }).data, (a as { ttl: number }).ttl]),
    [['AAAA', 'b.warren.internal', 'fd12:3456:789a::6440:2', z.ttl]],
  );
  const x = ask('x.tag.warren.internal', 'AAAA');
  assert.deepEqual(
    (x.answers ?? []).map((a) => (a as { data: string }).data),
    ['fd12:3456:789a::6440:1', 'fd12:3456:789a::6440:2'],
  );
  assert.deepEqual(
    (ask('b.warren.internal', 'A').answers ?? []).map((a) => [a.type, (a as { data: string }).data]),
    [['A', '100.64.0.2']],
    'A questions still get A records only',
  );
  const c = ask('c.warren.internal', 'AAAA');
  assert.equal(c.rcode, 'NOERROR', 'NODATA, not NXDOMAIN');
  assert.equal(c.answers?.length ?? 0, 0);
  assert.equal(c.authorities?.[0]?.type, 'SOA');
  assert.equal(ask('nobody.warren.internal', 'AAAA').rcode, 'NXDOMAIN');
});

test('respond truncates UDP answers over 512 bytes or the EDNS size, not TCP ones', () => {
  const plain = respond(query('big.tag.warren.internal'), zone, 'udp');
  assert.equal(plain.truncated, true);
  assert.ok(plain.bytes!.length <= 512);
  const p = dnsPacket.decode(plain.bytes!);
  assert.equal(p.flag_tc, true);
  assert.equal(p.answers?.length, 0);

  const edns = respond(query('big.tag.warren.internal', 'A', { additionals: [opt(4096)] }), zone, 'udp');
  assert.equal(edns.truncated, false, '61 A records fit in 1232 bytes');
  assert.equal(dnsPacket.decode(edns.bytes!).answers?.length, 61);

  const tcp = respond(query('big.tag.warren.internal'), zone, 'tcp');
  assert.equal(tcp.truncated, false);
  assert.equal(dnsPacket.decode(tcp.bytes!).answers?.length, 61);
});

test('respond echoes EDNS and answers BADVERS for an unknown EDNS version', () => {
  const r = respond(query('b.warren.internal', 'A', { additionals: [opt(1232)] }), zone, 'udp');
  const o = dnsPacket.decode(r.bytes!).additionals?.[0] as { type: string; udpPayloadSize: number };
  assert.equal(o.type, 'OPT');
  const bad = respond(query('b.warren.internal', 'A', { additionals: [opt(1232, 1)] }), zone, 'udp');
  assert.equal(bad.outcome, 'badvers');
  assert.equal((dnsPacket.decode(bad.bytes!).additionals?.[0] as { extendedRcode: number }).extendedRcode, 1);
});

// hdr builds a raw header: id 0xbeef, the given flags and counts.
function hdr(flags: number, qd: number, an = 0, ns = 0, ar = 0): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt16BE(0xbeef, 0);
  b.writeUInt16BE(flags, 2);
  b.writeUInt16BE(qd, 4);
  b.writeUInt16BE(an, 6);
  b.writeUInt16BE(ns, 8);
  b.writeUInt16BE(ar, 10);
  return b;
}
const qA = Buffer.from([1, 0x62, 0, 0, 1, 0, 1]); // "b." A IN

test('respond answers FORMERR or NOTIMP when a header was read, drops otherwise', () => {
  const valid = query('b.warren.internal');
  const cases: Array<[string, Buffer, string | null]> = [
    ['empty', Buffer.alloc(0), null],
    ['11 bytes', valid.subarray(0, 11), null],
    ['a response', Buffer.concat([hdr(0x8000, 1), qA]), null],
    ['header only', hdr(0, 1), 'FORMERR'],
    ['no question', hdr(0, 0), 'FORMERR'],
    ['two questions', Buffer.concat([hdr(0, 2), qA, qA]), 'FORMERR'],
    ['truncated question', valid.subarray(0, valid.length - 1), 'FORMERR'],
    ['trailing garbage', Buffer.concat([valid, Buffer.from([0])]), 'FORMERR'],
    ['label past the end', Buffer.concat([hdr(0, 1), Buffer.from([40, 0x61])]), 'FORMERR'],
    ['opcode STATUS', Buffer.concat([hdr(2 << 11, 1), qA]), 'NOTIMP'],
    ['opcode UPDATE', Buffer.concat([hdr(5 << 11, 1), qA]), 'NOTIMP'],
    ['self pointer', Buffer.concat([hdr(0, 1), Buffer.from([0xc0, 12, 0, 1, 0, 1])]), 'FORMERR'],
    ['forward pointer', Buffer.concat([hdr(0, 1), Buffer.from([0xc0, 14, 1, 0x61, 0, 0, 1, 0, 1])]), 'FORMERR'],
    ['0x40 label type', Buffer.concat([hdr(0, 1), Buffer.from([0x41, 0x61, 0, 0, 1, 0, 1])]), 'FORMERR'],
    ['too many records', Buffer.concat([hdr(0, 1, 0, 0, 9), qA]), 'FORMERR'],
    ['record count lies', Buffer.concat([hdr(0, 1, 1), qA]), 'FORMERR'],
    ['two OPT records', query('b.warren.internal', 'A', { additionals: [opt(512), opt(512)] }), 'FORMERR'],
  ];
  for (const [what, msg, want] of cases) {
    const r = respond(msg, zone, 'udp');
    if (want === null) {
      assert.equal(r.bytes, null, what);
      assert.equal(r.outcome, 'dropped', what);
      continue;
    }
    assert.ok(r.bytes, what);
    assert.equal(rcodeOf(r.bytes), want, what);
    assert.equal(r.bytes.readUInt16BE(0), msg.readUInt16BE(0), `${what}: id echoed`);
    assert.ok(r.bytes.readUInt16BE(2) & 0x8000, `${what}: QR set`);
    assert.ok(r.bytes.length <= msg.length || msg.length < 12, `${what}: never larger than the request`);
  }
});

test('a label holding a dot is not read as two labels', () => {
  // "b.warren" as one label, then "internal": dns-packet would decode it as b.warren.internal.
  const name = Buffer.concat([
    Buffer.from([8]),
    Buffer.from('b.warren'),
    Buffer.from([8]),
    Buffer.from('internal'),
    Buffer.from([0]),
  ]);
  const msg = Buffer.concat([hdr(0, 1), name, Buffer.from([0, 1, 0, 1])]);
  assert.equal(dnsPacket.decode(msg).questions?.[0]?.name, 'b.warren.internal');
  const r = respond(msg, zone, 'udp');
  assert.equal(rcodeOf(r.bytes!), 'SERVFAIL');
  assert.equal(dnsPacket.decode(r.bytes!).answers?.length, 0);
});

test('dns-packet rejects compression loops quickly, and the walker bounds backward chains', () => {
  // A two-pointer loop and a self-loop: dns-packet must throw, not hang or overflow the stack.
  const loop = Buffer.concat([hdr(0, 1), Buffer.from([0xc0, 14, 0xc0, 12, 0, 1, 0, 1])]);
  const self = Buffer.concat([hdr(0, 1), Buffer.from([0xc0, 12, 0, 1, 0, 1])]);
  for (const m of [loop, self]) {
    const t0 = performance.now();
    assert.throws(() => dnsPacket.decode(m), /bad pointer/);
    assert.ok(performance.now() - t0 < 50);
  }
  // A long chain of backward pointers inside one 64 KiB TCP message: every name in the
  // additional section would walk the whole chain. The walker refuses it in bounded time.
  const chain: number[] = [0];
  for (let i = 1; i < 200; i++) chain.push(0xc0 | ((12 + 7 + 2 * (i - 1)) >> 8), (12 + 7 + 2 * (i - 1)) & 0xff);
  const msg = Buffer.concat([
    hdr(0, 1, 0, 0, 1),
    qA,
    Buffer.from(chain.slice(1)),
    Buffer.from([0, 41, 0, 1, 0, 0, 0, 0, 0, 0]),
  ]);
  const t0 = performance.now();
  const w = walkQuery(msg);
  assert.equal(w.ok, false);
  assert.ok(performance.now() - t0 < 50);
  assert.ok(200 > MAX_HOPS);
});

test('A records are compressed: a tag with 28 systems fits a plain 512-byte UDP answer', () => {
  const many = buildZone({
    self: { identity: 'G982V', address: '100.64.0.1', names: [], tags: ['t'] },
    reachable: Array.from({ length: 27 }, (_, i) => ({
      identity: `P${i}`,
      address: `100.64.2.${i}`,
      names: [],
      tags: ['t'],
    })),
  });
  const r = respond(query('T.tag.warren.internal'), many, 'udp');
  assert.equal(r.truncated, false);
  assert.ok(r.bytes!.length <= 512, `${r.bytes!.length} bytes`);
  const p = dnsPacket.decode(r.bytes!);
  assert.equal(p.answers?.length, 28);
  for (const a of p.answers ?? []) {
    assert.equal(a.name, 'T.tag.warren.internal');
    assert.equal((a as { ttl: number }).ttl, many.ttl);
  }
});
