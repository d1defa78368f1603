import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  IPV6_DOCUMENTATION,
  IPV6_IPV4_MAPPED,
  IPV6_LINK_LOCAL,
  IPV6_UNIQUE_LOCAL,
  comparePrefix,
  compareIp,
  formatIp,
  formatIpPrefix,
  fromCidr,
  hostPrefix,
  ipEquals,
  ipv4Address,
  isDocumentation,
  isIPv4Mapped,
  isLinkLocal,
  isLoopback,
  isUniqueLocal,
  isUnspecified,
  mapIPv4,
  parseIp,
  parseIpPrefix,
  prefixContains,
  prefixEquals,
  prefixIsCanonical,
  prefixNetwork,
  prefixesOverlap,
  toCidr,
  toIPv4,
  unmapIPv4,
  type IpAddress,
  type IpPrefix,
} from './addr.js';
import { formatCidr, parseCidr, type Cidr } from './ipv4.js';

const ip = (s: string): IpAddress => {
  const a = parseIp(s);
  assert.notEqual(a, null, s);
  return a!;
};
const pfx = (s: string): IpPrefix => {
  const p = parseIpPrefix(s);
  assert.notEqual(p, null, s);
  return p!;
};

test('parseIp tells the family from the text and formats each canonically', () => {
  const cases: [string, 4 | 6, string][] = [
    ['192.0.2.1', 4, '192.0.2.1'],
    ['0.0.0.0', 4, '0.0.0.0'],
    ['2001:DB8:0::1', 6, '2001:db8::1'],
    ['::ffff:192.0.2.1', 6, '::ffff:192.0.2.1'],
    ['::', 6, '::'],
  ];
  for (const [s, family, text] of cases) {
    const a = ip(s);
    assert.equal(a.family, family, s);
    assert.equal(formatIp(a), text, s);
  }
  const bad = ['', '1.2.3', '01.2.3.4', '1.2.3.4 ', '[::1]', '::1%lo', '1.2.3.4:80', '::1::', 'a'.repeat(1000)];
  for (const s of bad) assert.equal(parseIp(s), null, s.slice(0, 40));
  assert.equal(parseIp(7 as unknown as string), null);
});

test('equality and ordering keep the families apart, IPv4 first', () => {
  assert.ok(ipEquals(ip('10.0.0.1'), ip('10.0.0.1')));
  assert.ok(ipEquals(ip('2001:db8::1'), ip('2001:0db8:0:0:0:0:0:1')));
  assert.ok(!ipEquals(ip('1.2.3.4'), ip('::ffff:1.2.3.4')));
  assert.ok(!ipEquals(ip('::ffff:1.2.3.4'), ip('1.2.3.4')));
  assert.ok(!ipEquals(ip('0.0.0.0'), ip('::')));
  const sorted = [
    '0.0.0.0',
    '9.255.255.255',
    '10.0.0.0',
    '255.255.255.255',
    '::',
    '::ffff:0.0.0.0',
    '2001:db8::',
    'fe80::1',
  ];
  const shuffled = [7, 2, 5, 0, 6, 3, 1, 4].map((i) => ip(sorted[i]!));
  assert.deepEqual(shuffled.sort(compareIp).map(formatIp), sorted);
  assert.equal(compareIp(ip('10.0.0.1'), ip('10.0.0.1')), 0);
});

test('IPv4-mapped addresses are recognised, unmapped and mapped back', () => {
  const mapped = ip('::ffff:192.0.2.7');
  assert.ok(isIPv4Mapped(mapped));
  assert.deepEqual(unmapIPv4(mapped), ip('192.0.2.7'));
  assert.deepEqual(mapIPv4(ipv4Address(0xc0000207)!), mapped);
  for (const s of ['192.0.2.7', '::192.0.2.7', '::fffe:c000:207', '1::ffff:c000:207', '2001:db8::1']) {
    assert.ok(!isIPv4Mapped(ip(s)), s);
    assert.deepEqual(unmapIPv4(ip(s)), ip(s), s);
  }
});

test('parseIpPrefix keeps host bits as written and bounds the length per family', () => {
  const good: [string, string][] = [
    ['2001:db8::/32', '2001:db8::/32'],
    ['2001:DB8::1/32', '2001:db8::1/32'],
    ['::/0', '::/0'],
    ['::1/128', '::1/128'],
    ['0.0.0.0/0', '0.0.0.0/0'],
    ['192.0.2.1/32', '192.0.2.1/32'],
    ['10.1.2.3/8', '10.1.2.3/8'],
    ['::ffff:0.0.0.0/96', '::ffff:0.0.0.0/96'],
    ['0000:0000:0000:0000:0000:ffff:255.255.255.255/128', '::ffff:255.255.255.255/128'],
  ];
  for (const [s, text] of good) assert.equal(formatIpPrefix(pfx(s)), text, s);
  const bad = [
    '2001:db8::/129',
    '10.0.0.0/33',
    '::/01',
    '::/',
    '::',
    '/32',
    '::/-1',
    '::/+1',
    '::/ 1',
    '::/1 ',
    '::/1/2',
    '::/1000',
    '::/0x10',
    'fe80::%eth0/64',
    '[::1]/128',
    '10.0.0.0/8/8',
    '',
    'a'.repeat(1000) + '/8',
  ];
  for (const s of bad) assert.equal(parseIpPrefix(s), null, s.slice(0, 40));
});

test('prefixNetwork clears host bits and prefixIsCanonical tells whether there were any', () => {
  const cases: [string, boolean, string][] = [
    ['2001:db8::/32', true, '2001:db8::/32'],
    ['2001:db8::1/32', false, '2001:db8::/32'],
    ['2001:db8:ffff:ffff::/33', false, '2001:db8:8000::/33'],
    ['fd12:3456:789a:1::/48', false, 'fd12:3456:789a::/48'],
    ['::1/128', true, '::1/128'],
    ['::1/127', false, '::/127'],
    ['::/0', true, '::/0'],
    ['ffff::/0', false, '::/0'],
    ['10.0.0.0/8', true, '10.0.0.0/8'],
    ['10.0.0.1/8', false, '10.0.0.0/8'],
    ['192.0.2.1/32', true, '192.0.2.1/32'],
    ['255.0.0.0/0', false, '0.0.0.0/0'],
  ];
  for (const [s, canonical, network] of cases) {
    assert.equal(prefixIsCanonical(pfx(s)), canonical, s);
    assert.equal(formatIpPrefix(prefixNetwork(pfx(s))), network, s);
    assert.ok(prefixIsCanonical(prefixNetwork(pfx(s))), s);
  }
});

test('prefixContains matches within a family only: mapped addresses are not IPv4', () => {
  const cases: [string, string, boolean][] = [
    ['fd12:3456:789a::/48', 'fd12:3456:789a::', true],
    ['fd12:3456:789a::/48', 'fd12:3456:789a:ffff:ffff:ffff:ffff:ffff', true],
    ['fd12:3456:789a::/48', 'fd12:3456:789b::', false],
    ['fd12:3456:789a::/48', 'fd12:3456:7899:ffff:ffff:ffff:ffff:ffff', false],
    ['2001:db8:8000::/33', '2001:db8:ffff::', true],
    ['2001:db8:8000::/33', '2001:db8:7fff:ffff::', false],
    ['2001:db8::1/128', '2001:db8::1', true],
    ['2001:db8::1/128', '2001:db8::2', false],
    ['2001:db8::1/32', '2001:db8:ffff::', true], // host bits written in the prefix are ignored
    ['::/0', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', true],
    ['10.0.0.0/8', '10.255.255.255', true],
    ['10.0.0.0/8', '11.0.0.0', false],
    ['0.0.0.0/0', '255.255.255.255', true],
    ['192.0.2.1/32', '192.0.2.1', true],
    ['192.0.2.1/32', '192.0.2.2', false],
    // Across families: never, whatever the bits.
    ['::/0', '1.2.3.4', false],
    ['::ffff:0:0/96', '1.2.3.4', false],
    ['::ffff:1.2.3.4/128', '1.2.3.4', false],
    ['0.0.0.0/0', '::ffff:1.2.3.4', false],
    ['0.0.0.0/0', '::', false],
    ['::ffff:0:0/96', '::ffff:1.2.3.4', true],
  ];
  for (const [p, a, want] of cases) assert.equal(prefixContains(pfx(p), ip(a)), want, `${a} in ${p}`);
  assert.ok(prefixContains(pfx('0.0.0.0/0'), unmapIPv4(ip('::ffff:1.2.3.4'))));
});

test('prefixEquals, prefixesOverlap and comparePrefix', () => {
  assert.ok(prefixEquals(pfx('2001:db8::/32'), pfx('2001:db8::1/32')));
  assert.ok(!prefixEquals(pfx('2001:db8::/32'), pfx('2001:db8::/33')));
  assert.ok(!prefixEquals(pfx('0.0.0.0/0'), pfx('::/0')));
  const overlaps: [string, string, boolean][] = [
    ['10.0.0.0/8', '10.1.0.0/16', true],
    ['10.1.0.0/16', '10.0.0.0/8', true],
    ['10.0.0.0/8', '11.0.0.0/8', false],
    ['fd00::/8', 'fd12::/16', true],
    ['fc00::/7', 'fe80::/10', false],
    ['2001:db8::/32', '2001:db8::1/128', true],
    ['2001:db8::/33', '2001:db8:8000::/33', false],
    ['::/0', '2001:db8::/32', true],
    ['::/0', '0.0.0.0/0', false],
    ['::ffff:0:0/96', '10.0.0.0/8', false],
  ];
  for (const [p, q, want] of overlaps) assert.equal(prefixesOverlap(pfx(p), pfx(q)), want, `${p} ${q}`);
  const sorted = [
    '0.0.0.0/0',
    '10.0.0.0/8',
    '10.0.0.0/16',
    '10.1.0.0/16',
    '::/0',
    '2001:db8::/32',
    '2001:db8::/48',
    'fd00::/8',
  ];
  const shuffled = [4, 7, 2, 0, 5, 3, 6, 1].map((i) => pfx(sorted[i]!));
  assert.deepEqual(shuffled.sort(comparePrefix).map(formatIpPrefix), sorted);
  assert.equal(comparePrefix(pfx('10.0.0.1/8'), pfx('10.0.0.0/8')), 0);
});

test('hostPrefix is /32 or /128', () => {
  assert.equal(formatIpPrefix(hostPrefix(ip('192.0.2.1'))), '192.0.2.1/32');
  assert.equal(formatIpPrefix(hostPrefix(ip('fd00::1'))), 'fd00::1/128');
});

test('special ranges: loopback, unspecified, link-local, unique local, documentation', () => {
  // [address, loopback, unspecified, link-local, unique local, documentation]
  const cases: [string, boolean, boolean, boolean, boolean, boolean][] = [
    ['::1', true, false, false, false, false],
    ['::', false, true, false, false, false],
    ['::2', false, false, false, false, false],
    ['fe80::1', false, false, true, false, false],
    ['febf:ffff::1', false, false, true, false, false],
    ['fec0::1', false, false, false, false, false],
    ['fc00::1', false, false, false, true, false],
    ['fd12:3456:789a::1', false, false, false, true, false],
    ['fe00::1', false, false, false, false, false],
    ['2001:db8::1', false, false, false, false, true],
    ['2001:db9::1', false, false, false, false, false],
    ['::ffff:127.0.0.1', false, false, false, false, false], // mapped: IPv6, none of these
    ['127.0.0.1', true, false, false, false, false],
    ['127.255.255.254', true, false, false, false, false],
    ['128.0.0.1', false, false, false, false, false],
    ['0.0.0.0', false, true, false, false, false],
    ['169.254.1.1', false, false, true, false, false],
    ['169.255.0.1', false, false, false, false, false],
    ['192.0.2.9', false, false, false, false, true],
    ['198.51.100.9', false, false, false, false, true],
    ['203.0.113.9', false, false, false, false, true],
    ['203.0.114.9', false, false, false, false, false],
  ];
  for (const [s, loop, unspec, ll, ula, doc] of cases) {
    const a = ip(s);
    assert.deepEqual(
      [isLoopback(a), isUnspecified(a), isLinkLocal(a), isUniqueLocal(a), isDocumentation(a)],
      [loop, unspec, ll, ula, doc],
      s,
    );
  }
  assert.ok(isIPv4Mapped(ip('::ffff:127.0.0.1')));
  assert.deepEqual([IPV6_LINK_LOCAL, IPV6_UNIQUE_LOCAL, IPV6_IPV4_MAPPED, IPV6_DOCUMENTATION].map(formatIpPrefix), [
    'fe80::/10',
    'fc00::/7',
    '::ffff:0.0.0.0/96',
    '2001:db8::/32',
  ]);
});

test('conversions to and from ipv4.ts keep values and refuse what ipv4.ts cannot hold', () => {
  for (const s of ['0.0.0.0/0', '100.64.0.0/10', '100.64.0.7/10', '255.255.255.255/32']) {
    const c = parseCidr(s)!;
    const p = fromCidr(c);
    assert.notEqual(p, null, s);
    assert.equal(formatIpPrefix(p!), s);
    assert.deepEqual(toCidr(p!), c, s);
    assert.equal(formatCidr(toCidr(p!)!), s);
  }
  const badCidrs = [
    { addr: -1, bits: 8 },
    { addr: 2 ** 32, bits: 8 },
    { addr: 1.5, bits: 8 },
    { addr: NaN, bits: 8 },
    { addr: 0, bits: 33 },
    { addr: 0, bits: -1 },
    { addr: 0, bits: 8.5 },
    null,
    'x',
  ];
  for (const c of badCidrs) assert.equal(fromCidr(c as unknown as Cidr), null, JSON.stringify(c));
  assert.equal(toCidr(pfx('::/0')), null);
  assert.equal(toIPv4(ip('100.64.0.1')), 0x64400001);
  assert.equal(toIPv4(ip('::ffff:100.64.0.1')), null);
  assert.equal(toIPv4(unmapIPv4(ip('::ffff:100.64.0.1'))), 0x64400001);
  assert.deepEqual(ipv4Address(0xffffffff), ip('255.255.255.255'));
  for (const n of [-1, 2 ** 32, 0.5, NaN, Infinity]) assert.equal(ipv4Address(n), null, String(n));
});
