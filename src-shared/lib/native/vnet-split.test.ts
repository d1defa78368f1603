// The TUN reader's splitter (native/src/vnet.c) on crafted super-packets: what each segment's
// headers must say (checked against checksums computed in vnet-testing.ts, not by the native
// code), the packets it must refuse, and random input that must never make it read or write
// outside the frame or the slot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { vnetSplit } from './index.js';
import {
  GSO,
  NEEDS_CSUM,
  TCP_FLAGS,
  checksumsOk,
  l3Of,
  packet,
  pattern,
  payloadOf,
  superFrame,
  vnetBytes,
  type Spec,
} from './vnet-testing.js';

const CAP = 1500;

// checkTcpSegments asserts that segs are the segmentation of spec at gso bytes per segment.
function checkTcpSegments(segs: Buffer[], spec: Spec, gso: number): void {
  const want = Math.ceil(spec.payload.length / gso);
  assert.equal(segs.length, want, 'segment count');
  const flags = spec.flags ?? TCP_FLAGS.ack;
  segs.forEach((seg, k) => {
    const l3 = l3Of(seg);
    assert.ok(checksumsOk(seg), `segment ${k}: checksums verify`);
    assert.ok(seg.length <= CAP, `segment ${k} fits the slot`);
    assert.deepEqual(payloadOf(seg), spec.payload.subarray(k * gso, (k + 1) * gso), `segment ${k} payload`);
    if (spec.v6) assert.equal(seg.readUInt16BE(4), seg.length - 40, 'IPv6 payload length');
    else {
      assert.equal(seg.readUInt16BE(2), seg.length, 'IPv4 total length');
      assert.equal(seg.readUInt16BE(4), ((spec.id ?? 100) + k) & 0xffff, 'IPv4 id increments');
    }
    assert.equal(seg.readUInt32BE(l3 + 4), ((spec.seq ?? 1000) + k * gso) >>> 0, `segment ${k} seq`);
    const last = k === segs.length - 1;
    const expect = last
      ? flags & ~(k > 0 ? TCP_FLAGS.cwr : 0)
      : flags & ~(TCP_FLAGS.fin | TCP_FLAGS.psh | (k > 0 ? TCP_FLAGS.cwr : 0));
    assert.equal(seg[l3 + 13], expect, `segment ${k} flags`);
    if (spec.tcpOptions) assert.deepEqual(seg.subarray(l3 + 20, l3 + 20 + spec.tcpOptions.length), spec.tcpOptions);
  });
}

test('a TCPv4 super-packet splits into gso-sized segments, the last one short', () => {
  const spec: Spec = { payload: pattern(4000), seq: 0xfffff000, id: 0xfffe, flags: TCP_FLAGS.ack | TCP_FLAGS.psh };
  checkTcpSegments(vnetSplit(superFrame(spec, 1400), CAP), spec, 1400);
});

test('an IPv6 super-packet with TCP options and FIN keeps FIN and PSH on the last segment only', () => {
  const tcpOptions = Buffer.from([1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2]); // NOP NOP timestamps
  const flags = TCP_FLAGS.ack | TCP_FLAGS.psh | TCP_FLAGS.fin | TCP_FLAGS.cwr;
  const spec: Spec = { v6: true, payload: pattern(5000, 3), tcpOptions, flags };
  checkTcpSegments(vnetSplit(superFrame(spec, 1388), CAP), spec, 1388);
});

test('a payload that is an exact multiple of gso_size has no short segment', () => {
  const spec: Spec = { payload: pattern(2800) };
  const segs = vnetSplit(superFrame(spec, 1400), CAP);
  checkTcpSegments(segs, spec, 1400);
  assert.equal(segs[1]!.length, 20 + 20 + 1400);
});

test('a GSO packet with less than one segment of payload comes out as one packet', () => {
  const spec: Spec = { payload: pattern(300), flags: TCP_FLAGS.ack | TCP_FLAGS.fin };
  checkTcpSegments(vnetSplit(superFrame(spec, 1400), CAP), spec, 1400);
});

for (const v6 of [false, true]) {
  test(`a UDP_L4 super-packet (IPv${v6 ? 6 : 4}) splits into datagrams with their own length and checksum`, () => {
    const spec: Spec = { v6, proto: 17, payload: pattern(3000, 9) };
    const segs = vnetSplit(superFrame(spec, 1200), CAP);
    assert.equal(segs.length, 3);
    segs.forEach((seg, k) => {
      const l3 = l3Of(seg);
      assert.ok(checksumsOk(seg), `datagram ${k} checksums`);
      assert.equal(seg.readUInt16BE(l3 + 4), seg.length - l3, 'UDP length');
      assert.deepEqual(payloadOf(seg), spec.payload.subarray(k * 1200, (k + 1) * 1200));
    });
  });
}

test('a single packet with NEEDS_CSUM gets its checksum completed; one without passes untouched', () => {
  const pkt = packet({ proto: 17, payload: pattern(101) });
  const full = pkt.readUInt16BE(26);
  // The kernel leaves the pseudo-header sum in the field (CHECKSUM_PARTIAL).
  const partial = Buffer.from(pkt);
  const sumData = (b: Buffer): number => {
    let acc = 0;
    for (let i = 20; i + 1 < b.length; i += 2) acc += b.readUInt16BE(i);
    if (b.length % 2) acc += b[b.length - 1]! << 8;
    while (acc > 0xffff) acc = (acc & 0xffff) + (acc >>> 16);
    return acc;
  };
  partial.writeUInt16BE(0, 26);
  const dataSum = sumData(partial);
  // pseudo = ~full - dataSum in one's complement arithmetic.
  let p = (~full & 0xffff) + (~dataSum & 0xffff);
  while (p > 0xffff) p = (p & 0xffff) + (p >>> 16);
  partial.writeUInt16BE(p, 26);
  const h = vnetBytes({ flags: NEEDS_CSUM, gsoType: GSO.none, hdrLen: 0, gsoSize: 0, csumStart: 20, csumOffset: 6 });
  const [out] = vnetSplit(Buffer.concat([h, partial]), CAP);
  assert.ok(out && checksumsOk(out), 'completed checksum verifies');
  const plain = vnetSplit(
    Buffer.concat([vnetBytes({ flags: 0, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: 0, csumOffset: 0 }), pkt]),
    CAP,
  );
  assert.deepEqual(plain, [pkt]);
});

test('malformed or oversized reads are dropped', () => {
  const good = superFrame({ payload: pattern(3000) }, 1400);
  const mutate = (f: (b: Buffer) => void): Buffer => {
    const b = Buffer.from(good);
    f(b);
    return b;
  };
  const cases: Array<[string, Buffer, number?]> = [
    ['gso_size 0', mutate((b) => b.writeUInt16LE(0, 4))],
    ['legacy UFO', mutate((b) => (b[1] = GSO.udp))],
    ['unknown gso type', mutate((b) => (b[1] = 9))],
    ['TCPV6 on an IPv4 packet', mutate((b) => (b[1] = GSO.tcp6))],
    ['IP version 5', mutate((b) => (b[10] = 0x55))],
    ['IHL below 5', mutate((b) => (b[10] = 0x44))],
    ['protocol not TCP', mutate((b) => (b[10 + 9] = 17))],
    ['a fragment', mutate((b) => (b[10 + 6] = 0x20))],
    ['TCP data offset below 5', mutate((b) => (b[10 + 20 + 12] = 0x40))],
    ['a segment larger than the slot', good, 1000],
    ['headers only, cut short', good.subarray(0, 10 + 30)],
    [
      'NEEDS_CSUM pointing past the packet',
      Buffer.concat([
        vnetBytes({ flags: 1, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: 60, csumOffset: 6 }),
        packet({ payload: pattern(10) }),
      ]),
    ],
  ];
  for (const [name, frame, cap] of cases) assert.deepEqual(vnetSplit(frame, cap ?? CAP), [], name);
});

test('fuzz: random headers and packets never give a segment beyond the slot or a crash', () => {
  const specs: Spec[] = [
    { payload: pattern(6000) },
    { v6: true, payload: pattern(6000), tcpOptions: Buffer.alloc(12, 1) },
    { proto: 17, payload: pattern(6000) },
  ];
  let produced = 0;
  for (let round = 0; round < 3000; round++) {
    const cap = 60 + Math.floor(Math.random() * 1500);
    let frame: Buffer;
    if (round % 3 === 0) frame = randomBytes(11 + Math.floor(Math.random() * 200));
    else {
      // A valid super-packet with a few random bytes changed, headers included.
      frame = superFrame(specs[round % specs.length]!, 1 + Math.floor(Math.random() * 1600));
      for (let j = 0; j < 1 + Math.floor(Math.random() * 4); j++) {
        const at = Math.floor(Math.random() * Math.min(frame.length, 80));
        frame[at] = Math.floor(Math.random() * 256);
      }
      frame = frame.subarray(0, Math.max(11, frame.length - Math.floor(Math.random() * 100)));
    }
    const segs = vnetSplit(frame, cap);
    for (const s of segs)
      assert.ok(s.length <= cap && s.length > 0, `segment of ${s.length} bytes for a ${cap}-byte slot`);
    produced += segs.length;
  }
  assert.ok(produced > 0, 'some mutated frames still split');
});
