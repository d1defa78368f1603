import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  compareIPv6,
  formatIPv6,
  ipv6Bit,
  ipv6Contains,
  ipv6Equals,
  ipv6FromBigInt,
  ipv6FromBytes,
  ipv6Network,
  ipv6ToBigInt,
  ipv6ToBytes,
  ipv6WordMask,
  isIPv4MappedIPv6,
  parseIPv6,
  parseScopedIPv6,
  type IPv6,
} from './ipv6.js';

/** g builds the expected address from its eight 16-bit groups. */
function g(...groups: number[]): IPv6 {
  assert.equal(groups.length, 8);
  const word = (i: number): number => groups[i]! * 0x10000 + groups[i + 1]!;
  return { w0: word(0), w1: word(2), w2: word(4), w3: word(6) };
}

test('parseIPv6 reads every RFC 4291 §2.2 text form', () => {
  const cases: [string, IPv6][] = [
    // Form 1: eight groups, leading zeros optional, either case.
    ['ABCD:EF01:2345:6789:ABCD:EF01:2345:6789', g(0xabcd, 0xef01, 0x2345, 0x6789, 0xabcd, 0xef01, 0x2345, 0x6789)],
    ['2001:DB8:0:0:8:800:200C:417A', g(0x2001, 0xdb8, 0, 0, 8, 0x800, 0x200c, 0x417a)],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', g(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)],
    ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', g(0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff)],
    // Form 2: "::" for one or more zero groups, anywhere.
    ['2001:DB8::8:800:200C:417A', g(0x2001, 0xdb8, 0, 0, 8, 0x800, 0x200c, 0x417a)],
    ['FF01::101', g(0xff01, 0, 0, 0, 0, 0, 0, 0x101)],
    ['::1', g(0, 0, 0, 0, 0, 0, 0, 1)],
    ['::', g(0, 0, 0, 0, 0, 0, 0, 0)],
    ['1::', g(1, 0, 0, 0, 0, 0, 0, 0)],
    ['1:2:3:4:5:6:7::', g(1, 2, 3, 4, 5, 6, 7, 0)],
    ['::2:3:4:5:6:7:8', g(0, 2, 3, 4, 5, 6, 7, 8)],
    ['1:2:3::6:7:8', g(1, 2, 3, 0, 0, 6, 7, 8)],
    // Form 3: a dotted quad for the low-order 32 bits.
    ['0:0:0:0:0:0:13.1.68.3', g(0, 0, 0, 0, 0, 0, 0x0d01, 0x4403)],
    ['::13.1.68.3', g(0, 0, 0, 0, 0, 0, 0x0d01, 0x4403)],
    ['0:0:0:0:0:FFFF:129.144.52.38', g(0, 0, 0, 0, 0, 0xffff, 0x8190, 0x3426)],
    ['::ffff:1.2.3.4', g(0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304)],
    ['64:ff9b::1.2.3.4', g(0x64, 0xff9b, 0, 0, 0, 0, 0x0102, 0x0304)],
    ['1:2:3:4:5:6:255.255.255.255', g(1, 2, 3, 4, 5, 6, 0xffff, 0xffff)],
    ['0000:0000:0000:0000:0000:ffff:255.255.255.255', g(0, 0, 0, 0, 0, 0xffff, 0xffff, 0xffff)], // 45 characters
  ];
  for (const [s, want] of cases) assert.deepEqual(parseIPv6(s), want, s);
});

test('parseIPv6 refuses malformed, ambiguous, padded and overlong text', () => {
  const bad = [
    '',
    ':',
    '1',
    '1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7:8:9',
    '::1:2:3:4:5:6:7:8',
    '1:2:3:4:5:6:7:8::',
    '1:2:3:4::5:6:7:8',
    ':::',
    '1:::2',
    '::1:::',
    '1::2::3',
    '::1::',
    ':1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7:',
    ':1::',
    '1::2:',
    '12345::',
    '::12345',
    '1:2:3:4:5:6:7:00000',
    'g::',
    '::g',
    '-1::',
    '+1::',
    '0x1::',
    '١::',
    '::1/128',
    '[::1]',
    'fe80::1%eth0',
    '::1.2.3.4:5',
    '::ffff:1.2.3.4:ffff',
    '1.2.3.4::',
    '1.2.3.4',
    '::ffff:1.2.3',
    '::ffff:1.2.3.4.5',
    '::ffff:01.2.3.4',
    '::ffff:1.2.3.04',
    '::ffff:256.1.1.1',
    '::ffff:1..3.4',
    '1:2:3:4:5:6:7:1.2.3.4',
    ' ::1',
    '::1 ',
    ':: 1',
    '\t::1',
    '::1\n',
    '::\u00a01',
    '0000:0000:0000:0000:0000:0000:0000:00001',
    '::' + '0'.repeat(44),
    'a'.repeat(100_000),
  ];
  for (const s of bad) assert.equal(parseIPv6(s), null, JSON.stringify(s.slice(0, 60)));
  for (const v of [null, undefined, 1, {}, ['::1']]) assert.equal(parseIPv6(v as unknown as string), null, String(v));
});

test('formatIPv6 writes the RFC 5952 §4 and §5 canonical text', () => {
  const cases: [string, string][] = [
    ['2001:0db8::0001', '2001:db8::1'], // §4.1: leading zeros dropped
    ['2001:db8:0:0:0:0:2:1', '2001:db8::2:1'], // §4.2.1: "::" as long as possible
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // §4.2.2: not for one zero group
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'], // §4.2.3: the longest run
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // §4.2.3: the first of equal runs
    ['2001:DB8::ABCD', '2001:db8::abcd'], // §4.3: lowercase
    ['::ffff:192.0.2.1', '::ffff:192.0.2.1'], // §5: IPv4-mapped in mixed notation
    ['0:0:0:0:0:ffff:c000:0201', '::ffff:192.0.2.1'],
    ['::ffff:0:0', '::ffff:0.0.0.0'],
    ['::', '::'],
    ['::1', '::1'],
    ['1::', '1::'],
    ['fe80:0:0:0:0:0:0:1', 'fe80::1'],
    ['0:0:1:0:0:0:1:0', '0:0:1::1:0'],
    ['1:0:2:0:3:0:4:0', '1:0:2:0:3:0:4:0'],
    ['1:0:0:2:0:0:3:4', '1::2:0:0:3:4'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['1:0:0:0:0:0:0:0', '1::'],
    ['0:1:2:3:4:5:6:7', '0:1:2:3:4:5:6:7'],
    ['::1.2.3.4', '::102:304'], // only the mapped prefix keeps the dotted form
    ['64:ff9b::1.2.3.4', '64:ff9b::102:304'],
    ['FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
  ];
  for (const [s, want] of cases) assert.equal(formatIPv6(parseIPv6(s)!), want, s);
  // RFC 5952 §2.1-2.3: one address, many spellings, one canonical text.
  const spellings = [
    '2001:db8:0:0:1:0:0:1',
    '2001:0db8:0:0:1:0:0:1',
    '2001:db8::1:0:0:1',
    '2001:db8::0:1:0:0:1',
    '2001:0db8::1:0:0:1',
    '2001:db8:0:0:1::1',
    '2001:db8:0000:0:1::1',
    '2001:DB8:0:0:1::1',
  ];
  for (const s of spellings) assert.equal(formatIPv6(parseIPv6(s)!), '2001:db8::1:0:0:1', s);
});

test('parseScopedIPv6 takes a zone only on non-global addresses and a safe zone name', () => {
  const good: [string, string, string][] = [
    ['fe80::1%eth0', 'fe80::1', 'eth0'],
    ['fe80::1%2', 'fe80::1', '2'],
    ['FEBF::1%wg-0.a_b', 'febf::1', 'wg-0.a_b'],
    ['ff02::1%wg0', 'ff02::1', 'wg0'],
    ['ff08::9abc%10', 'ff08::9abc', '10'],
    ['fe80::1%abcdefghijklmno', 'fe80::1', 'abcdefghijklmno'],
  ];
  for (const [s, addr, zone] of good) {
    const r = parseScopedIPv6(s);
    assert.notEqual(r, null, s);
    assert.equal(formatIPv6(r!.addr), addr, s);
    assert.equal(r!.zone, zone, s);
  }
  const bad = [
    'fe80::1',
    'fe80::1%',
    '%eth0',
    'fe80::1%eth0%1',
    'fe80::1%eth 0',
    'fe80::1%eth/0',
    'fe80::1%abcdefghijklmnop',
    '2001:db8::1%eth0',
    '::1%lo',
    '::%0',
    'fec0::1%eth0',
    'ff0e::1%eth0',
    'ff00::1%eth0',
    'ff0f::1%eth0',
    'fe80::1%eth0/64',
    '[fe80::1%eth0]',
    'fe80::1%' + 'a'.repeat(10_000),
  ];
  for (const s of bad) assert.equal(parseScopedIPv6(s), null, s.slice(0, 40));
});

test('word arithmetic: masks, networks, containment, bits and ordering', () => {
  assert.deepEqual(
    [0, 1, 2, 3].map((w) => ipv6WordMask(0, w)),
    [0, 0, 0, 0],
  );
  assert.deepEqual(
    [0, 1, 2, 3].map((w) => ipv6WordMask(48, w)),
    [0xffffffff, 0xffff0000, 0, 0],
  );
  assert.deepEqual(
    [0, 1, 2, 3].map((w) => ipv6WordMask(97, w)),
    [0xffffffff, 0xffffffff, 0xffffffff, 0x80000000],
  );
  assert.deepEqual(
    [0, 1, 2, 3].map((w) => ipv6WordMask(128, w)),
    [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff],
  );
  const a = parseIPv6('2001:db8:abcd:1234:5678:9abc:def0:1234')!;
  assert.equal(formatIPv6(ipv6Network(a, 48)), '2001:db8:abcd::');
  assert.equal(formatIPv6(ipv6Network(a, 52)), '2001:db8:abcd:1000::');
  assert.equal(formatIPv6(ipv6Network(a, 0)), '::');
  assert.equal(formatIPv6(ipv6Network(a, 128)), '2001:db8:abcd:1234:5678:9abc:def0:1234');
  const net = parseIPv6('2001:db8:8000::')!;
  assert.ok(ipv6Contains(net, 33, parseIPv6('2001:db8:ffff:ffff::1')!));
  assert.ok(!ipv6Contains(net, 33, parseIPv6('2001:db8:7fff:ffff:ffff:ffff:ffff:ffff')!));
  assert.ok(ipv6Contains(a, 128, a));
  assert.ok(!ipv6Contains(a, 128, parseIPv6('2001:db8:abcd:1234:5678:9abc:def0:1235')!));
  assert.ok(ipv6Contains(parseIPv6('ffff::')!, 0, parseIPv6('::')!));
  const bits = Array.from({ length: 16 }, (_, i) => ipv6Bit(parseIPv6('a000::1')!, i)).join('');
  assert.equal(bits, '1010000000000000');
  assert.equal(ipv6Bit(parseIPv6('::1')!, 127), 1);
  assert.equal(ipv6Bit(parseIPv6('::1')!, 126), 0);
  assert.equal(ipv6Bit(parseIPv6('0:0:8000::')!, 32), 1);
  const sorted = ['::', '::1', '::ffff:0.0.0.1', '1::', '2001:db8::', '2001:db8::1', 'fe80::', 'ffff::'];
  const shuffled = [sorted[5]!, sorted[0]!, sorted[7]!, sorted[2]!, sorted[6]!, sorted[1]!, sorted[4]!, sorted[3]!];
  const out = shuffled
    .map((s) => parseIPv6(s)!)
    .sort(compareIPv6)
    .map(formatIPv6);
  assert.deepEqual(out, sorted);
  assert.equal(compareIPv6(a, parseIPv6('2001:db8:abcd:1234:5678:9abc:def0:1234')!), 0);
  assert.ok(ipv6Equals(a, parseIPv6('2001:DB8:ABCD:1234:5678:9ABC:DEF0:1234')!));
  assert.ok(!ipv6Equals(a, net));
  assert.ok(isIPv4MappedIPv6(parseIPv6('::ffff:1.2.3.4')!));
  assert.ok(!isIPv4MappedIPv6(parseIPv6('::fffe:1.2.3.4')!));
  assert.ok(!isIPv4MappedIPv6(parseIPv6('1::ffff:1.2.3.4')!));
});

test('bytes and bigint conversions round-trip and refuse what does not fit', () => {
  const bytes = Uint8Array.from([0xff, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80]);
  const a = ipv6FromBytes(bytes, 1);
  assert.notEqual(a, null);
  assert.equal(formatIPv6(a!), '2001:db8::80');
  assert.deepEqual(ipv6ToBytes(a!), bytes.subarray(1));
  assert.equal(ipv6FromBytes(bytes, 2), null);
  assert.equal(ipv6FromBytes(bytes, -1), null);
  assert.equal(ipv6FromBytes(bytes, 0.5), null);
  assert.equal(ipv6FromBytes(new Uint8Array(15)), null);
  assert.equal(ipv6FromBytes('0123456789abcdef' as unknown as Uint8Array), null);
  assert.equal(formatIPv6(ipv6FromBytes(Buffer.alloc(16, 0xff))!), 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff');
  assert.equal(ipv6ToBigInt(parseIPv6('::1:0:0:0:1')!), (1n << 64n) + 1n);
  assert.equal(ipv6ToBigInt(parseIPv6('8000::')!), 1n << 127n);
  assert.deepEqual(ipv6FromBigInt((1n << 128n) - 1n), parseIPv6('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'));
  assert.deepEqual(ipv6FromBigInt(0x20010db8n << 96n), parseIPv6('2001:db8::'));
  assert.equal(ipv6FromBigInt(1n << 128n), null);
  assert.equal(ipv6FromBigInt(-1n), null);
  assert.equal(ipv6FromBigInt(1 as unknown as bigint), null);
});
