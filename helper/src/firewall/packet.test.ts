import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compile } from './compile.js';
import { Firewall } from './filter.js';
import { ParsedPacket, parsePacket } from './packet.js';
import { DROP, PASS, REASONS } from './reasons.js';
import {
  FLAGS,
  firstFragment,
  fragment,
  icmpEcho,
  icmpError,
  icmpMessage,
  tcp,
  udp,
  withExt,
  words,
} from './testing.js';

const A6 = 'fd7a:115c:a1e0::1';
const B6 = 'fd7a:115c:a1e0::2';

test('parsing reads protocol, addresses, ports, flags and ICMP fields', () => {
  const p = new ParsedPacket();
  assert.equal(parsePacket(tcp('10.0.0.1', 1234, '10.0.0.2', 22, FLAGS.synAck), 0, 40, p), PASS);
  assert.deepEqual(
    [p.family, p.proto, [...p.addr.subarray(0, 8)], p.srcPort, p.dstPort, p.tcpFlags],
    [4, 6, [...words('10.0.0.1'), ...words('10.0.0.2')], 1234, 22, FLAGS.synAck],
  );
  const u = udp('10.0.0.3', 53, '10.0.0.4', 40000);
  assert.equal(parsePacket(u, 0, u.length, p), PASS);
  assert.deepEqual([p.proto, p.srcPort, p.dstPort, p.tcpFlags], [17, 53, 40000, 0]);
  const e = icmpEcho('10.0.0.1', '10.0.0.2', 8, 0xbeef);
  assert.equal(parsePacket(e, 0, e.length, p), PASS);
  assert.deepEqual([p.proto, p.icmpType, p.echo, p.srcPort, p.dstPort, p.isError], [1, 8, 1, 0xbeef, 0xbeef, false]);
  const err = icmpError('10.0.0.2', '10.0.0.1', udp('10.0.0.1', 5000, '10.0.0.2', 53), 3, 3);
  assert.equal(parsePacket(err, 0, err.length, p), PASS);
  assert.deepEqual(
    [p.isError, p.icmpType, p.icmpCode, p.innerProto, [...p.addr.subarray(8)], p.innerSrcPort, p.innerDstPort],
    [true, 3, 3, 17, [...words('10.0.0.1'), ...words('10.0.0.2')], 5000, 53],
  );
});

test('IPv6 parsing reads the same fields, with ICMPv6 as ICMP and the upper layer past any chain', () => {
  const p = new ParsedPacket();
  const syn = withExt(tcp(A6, 1234, B6, 22, FLAGS.syn), [{ type: 0 }, { type: 60, size: 16 }]);
  assert.equal(parsePacket(syn, 0, syn.length, p), PASS);
  assert.deepEqual(
    [p.family, p.proto, [...p.addr.subarray(0, 8)], p.srcPort, p.dstPort, p.tcpFlags],
    [6, 6, [...words(A6), ...words(B6)], 1234, 22, FLAGS.syn],
  );
  const e = icmpEcho(A6, B6, 8, 0xbeef);
  assert.equal(parsePacket(e, 0, e.length, p), PASS);
  assert.deepEqual([p.proto, p.icmpType, p.echo, p.srcPort, p.isError], [1, 128, 1, 0xbeef, false]);
  const ptb = icmpError(B6, A6, udp(A6, 5000, B6, 53), 2, 0);
  assert.equal(parsePacket(ptb, 0, ptb.length, p), PASS);
  assert.deepEqual(
    [p.isError, p.icmpType, p.innerProto, [...p.addr.subarray(8)], p.innerSrcPort, p.innerDstPort],
    [true, 2, 17, [...words(A6), ...words(B6)], 5000, 53],
  );
  // An IPv4 packet after an IPv6 one gets its mapped form back, not the IPv6 words left over.
  const v4 = udp('10.0.0.1', 1, '10.0.0.2', 2);
  assert.equal(parsePacket(v4, 0, v4.length, p), PASS);
  assert.deepEqual([p.family, [...p.addr.subarray(0, 8)]], [4, [...words('10.0.0.1'), ...words('10.0.0.2')]]);
  const ns = icmpMessage(A6, B6, 135, 0, 20);
  assert.equal(parsePacket(ns, 0, ns.length, p), DROP.icmpv6LinkOnly);
  const payloadShort = tcp(A6, 1, B6, 2, FLAGS.syn);
  assert.equal(
    parsePacket(payloadShort, 0, payloadShort.length - 1, p),
    DROP.malformed,
    'payload length past the data',
  );
  const padded = Buffer.concat([tcp(A6, 1, B6, 2, FLAGS.syn), Buffer.alloc(6, 0xee)]);
  assert.equal(parsePacket(padded, 0, padded.length, p), PASS, 'bytes past the payload length are not read');
});

test('parsing refuses what it cannot judge', () => {
  const p = new ParsedPacket();
  const syn = tcp('10.0.0.1', 1, '10.0.0.2', 2, FLAGS.syn);
  const withOptions = Buffer.concat([syn.subarray(0, 20), Buffer.alloc(4), syn.subarray(20)]);
  withOptions[0] = 0x46;
  withOptions.writeUInt16BE(44, 2);
  assert.equal(parsePacket(withOptions, 0, 44, p), PASS, 'IP options are skipped');
  assert.equal(p.dstPort, 2);
  const cases: [string, Buffer, number][] = [
    ['empty', Buffer.alloc(0), DROP.malformed],
    ['IPv6 cut short of its fixed header', Buffer.from([0x60, 0, 0]), DROP.malformed],
    ['version 5', Buffer.from([0x55, ...syn.subarray(1)]), DROP.notIpv4],
    ['short header length', Buffer.from([0x44, ...syn.subarray(1)]), DROP.malformed],
    [
      'total length past the data',
      (() => {
        const b = Buffer.from(syn);
        b.writeUInt16BE(41, 2);
        return b;
      })(),
      DROP.malformed,
    ],
    [
      'total length shorter than the header',
      (() => {
        const b = Buffer.from(syn);
        b.writeUInt16BE(19, 2);
        return b;
      })(),
      DROP.malformed,
    ],
    [
      'truncated TCP',
      (() => {
        const b = Buffer.from(syn.subarray(0, 30));
        b.writeUInt16BE(30, 2);
        return b;
      })(),
      DROP.malformed,
    ],
    [
      'TCP data offset under 5',
      (() => {
        const b = Buffer.from(syn);
        b[32] = 0x40;
        return b;
      })(),
      DROP.malformed,
    ],
    ['non-first fragment', fragment(syn), DROP.fragment],
    ['first fragment with the whole TCP header', firstFragment(syn), PASS],
    [
      'first fragment cut inside the TCP header (RFC 1858 §3.1)',
      (() => {
        const b = Buffer.from(firstFragment(syn).subarray(0, 30));
        b.writeUInt16BE(30, 2);
        return b;
      })(),
      DROP.firstFragmentIncomplete,
    ],
    [
      'ICMP error with a truncated quote',
      (() => {
        const b = icmpError('1.1.1.1', '2.2.2.2', syn);
        b.writeUInt16BE(40, 2);
        return b.subarray(0, 40);
      })(),
      DROP.malformed,
    ],
    [
      'ICMP error quoting an ICMP error',
      icmpError('1.1.1.1', '2.2.2.2', icmpError('2.2.2.2', '1.1.1.1', syn)),
      DROP.icmpErrorNoFlow,
    ],
    ['ICMP error quoting a fragment', icmpError('1.1.1.1', '2.2.2.2', fragment(syn)), DROP.icmpErrorNoFlow],
  ];
  for (const [name, b, want] of cases) assert.equal(REASONS[parsePacket(b, 0, b.length, p)], REASONS[want], name);
  assert.equal(parsePacket(syn, -1, 40, p), DROP.malformed, 'negative offset');
  assert.equal(parsePacket(syn, 1, 40, p), DROP.malformed, 'past the end');
  assert.equal(parsePacket(syn, 0.5, 20, p), DROP.malformed, 'fractional offset');
});

// xorshift32: a repeatable stream so a failure can be replayed.
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

test('fuzz: 100k random, truncated and mutated packets never throw', () => {
  const rand = rng(0xc0ffee);
  const seeds = [
    tcp('100.64.0.1', 40000, '100.64.0.2', 22, FLAGS.syn),
    tcp('100.64.0.2', 22, '100.64.0.1', 40000, FLAGS.synAck),
    udp('100.64.0.1', 5, '100.64.0.2', 53),
    icmpEcho('100.64.0.1', '100.64.0.2', 8, 1),
    icmpError('100.64.0.2', '100.64.0.1', udp('100.64.0.1', 5, '100.64.0.2', 53)),
    withExt(tcp(A6, 40000, B6, 22, FLAGS.syn), [{ type: 0 }, { type: 43, size: 24 }, { type: 44, more: true }]),
    udp(A6, 5, B6, 53),
    icmpEcho(A6, B6, 8, 1),
    icmpError(B6, A6, withExt(udp(A6, 5, B6, 53), [{ type: 60 }])),
  ];
  const policy = {
    name: 'p',
    senders: ['AAAAA'],
    receivers: ['BBBBB'],
    acls: [{ protocol: 'any' as const, ports: [] }],
    trustRequirements: [],
    enabled: true,
  };
  const peers = [{ index: 0, identity: 'BBBBB', tags: [] }];
  const local = { identity: 'AAAAA', tags: [] };
  const fws = [new Firewall({ maxFlows: 512 }), new Firewall({ maxFlows: 512 })];
  fws[0]!.setRules(compile({ local, peers, policies: [policy], now: 0, mode: 'policy' }));
  fws[1]!.setRules(compile({ local, peers, policies: [], now: 0, mode: 'allow-all' }));
  const buf = Buffer.alloc(2048);
  for (let i = 0; i < 100_000; i++) {
    let len: number;
    const kind = rand();
    if (kind < 0.3) {
      len = Math.floor(rand() * 100);
      for (let j = 0; j < len; j++) buf[j] = rand() * 256;
      if (rand() < 0.5) buf[0] = 0x40 | (buf[0]! & 0x0f);
    } else {
      const s = seeds[Math.floor(rand() * seeds.length)]!;
      s.copy(buf);
      len = s.length;
      for (let m = Math.floor(rand() * 4); m > 0; m--) buf[Math.floor(rand() * len)] = rand() * 256;
      if (rand() < 0.5) len = Math.floor(rand() * (len + 1));
    }
    const fw = fws[i & 1]!;
    const peer = rand() < 0.9 ? 0 : Math.floor(rand() * 4) - 1;
    const off = rand() < 0.98 ? 0 : Math.floor(rand() * 4096) - 1024;
    const v = i % 3 === 0 ? fw.ingress(peer, buf, off, len, i) : fw.egress(peer, buf, off, len, i);
    assert.ok(Number.isInteger(v) && v >= 0 && v < REASONS.length, `verdict ${v} at ${i}`);
    if (i % 10_000 === 0) fw.sweep(i);
  }
  assert.ok(fws[0]!.counters[PASS]! > 0 && fws[0]!.counters[DROP.malformed]! > 0, 'the fuzz reached both outcomes');
});
