import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildZone, DEFAULT_TTL, type ZoneResult, type ZoneSystem } from './zone.js';

const self: ZoneSystem = { identity: 'G982V', address: '100.64.0.1', names: ['laptop'], tags: ['tag:dev'] };
const b: ZoneSystem = {
  identity: 'B1234',
  address: '100.64.0.2',
  names: ['b', 'web.b', 'Files.warren.internal.'],
  tags: ['tag:dev', 'tag:db'],
};
const c: ZoneSystem = { identity: 'C5678', address: '100.64.0.3', names: ['c'], tags: ['db'] };
// D exists in the network but policy does not let us reach it: it is not passed to buildZone.
const zone = buildZone({ self, reachable: [b, c] });

const A = (...addresses: string[]): ZoneResult => ({ rcode: 'NOERROR', addresses, soa: false });
const NODATA: ZoneResult = { rcode: 'NOERROR', addresses: [], soa: false };
const NX: ZoneResult = { rcode: 'NXDOMAIN' };
const SERVFAIL: ZoneResult = { rcode: 'SERVFAIL' };

test('zone answers by name, identity and tag', () => {
  const cases: Array<[string, string, ZoneResult]> = [
    ['b.warren.internal', 'A', A('100.64.0.2')],
    ['B.Warren.Internal.', 'A', A('100.64.0.2')],
    ['web.b.warren.internal', 'A', A('100.64.0.2')],
    ['files.warren.internal', 'A', A('100.64.0.2')],
    ['laptop.warren.internal', 'A', A('100.64.0.1')],
    ['c.warren.internal', 'A', A('100.64.0.3')],
    ['b1234.id.warren.internal', 'A', A('100.64.0.2')],
    ['B1234.ID.WARREN.INTERNAL', 'A', A('100.64.0.2')],
    ['g982v.id.warren.internal.', 'A', A('100.64.0.1')],
    ['dev.tag.warren.internal', 'A', A('100.64.0.1', '100.64.0.2')],
    ['db.tag.warren.internal', 'A', A('100.64.0.2', '100.64.0.3')],
    ['b.warren.internal', 'ANY', A('100.64.0.2')],
    // existing names, other types: NOERROR, empty
    ['b.warren.internal', 'AAAA', NODATA],
    ['b.warren.internal', 'MX', NODATA],
    ['warren.internal', 'A', NODATA],
    ['warren.internal', 'SOA', { rcode: 'NOERROR', addresses: [], soa: true }],
    // empty non-terminals exist
    ['id.warren.internal', 'A', NODATA],
    ['tag.warren.internal', 'A', NODATA],
    // unknown or unreachable names in the zone
    ['d.warren.internal', 'A', NX],
    ['d0000.id.warren.internal', 'A', NX],
    ['ops.tag.warren.internal', 'A', NX],
    ['x.b.warren.internal', 'A', NX],
    ['d.warren.internal', 'AAAA', NX],
    ['bad_name!.warren.internal', 'A', NX],
    // outside the zone
    ['example.com', 'A', SERVFAIL],
    ['internal', 'A', SERVFAIL],
    ['xwarren.internal', 'A', SERVFAIL],
    ['', 'A', SERVFAIL],
    ['.', 'A', SERVFAIL],
  ];
  for (const [name, type, want] of cases) {
    assert.deepEqual(zone.lookup(name, type), want, `${name} ${type}`);
  }
});

test('zone has a short default ttl, the default origin and no skipped names for a clean config', () => {
  assert.equal(zone.origin, 'warren.internal');
  assert.equal(zone.ttl, DEFAULT_TTL);
  assert.ok(zone.ttl <= 10);
  assert.deepEqual(zone.skipped, []);
  assert.ok(Object.isFrozen(zone));
});

test('zone with a custom origin ignores the default one', () => {
  const z = buildZone({ zone: 'Corp.Example.', self, reachable: [b] });
  assert.equal(z.origin, 'corp.example');
  assert.deepEqual(z.lookup('b.corp.example', 'A'), A('100.64.0.2'));
  assert.deepEqual(z.lookup('b.warren.internal', 'A'), SERVFAIL);
});

test('zone skips bad names with a reason and keeps the rest', () => {
  const bad: ZoneSystem = {
    identity: 'E0000',
    address: '100.64.0.5',
    names: [
      'ok',
      'has space',
      'under_score',
      'a'.repeat(64),
      '',
      'id',
      'x.tag',
      'warren.internal',
      7 as unknown as string,
    ],
    tags: ['tag:good', 'tag:bad tag', 'tag:'],
  };
  const z = buildZone({
    self,
    reachable: [
      bad,
      { identity: 'F!', address: '100.64.0.6', names: ['f'], tags: [] },
      { identity: 'F0000', address: '100.64.0.256', names: ['f'], tags: [] },
    ],
  });
  assert.deepEqual(z.lookup('ok.warren.internal', 'A'), A('100.64.0.5'));
  assert.deepEqual(z.lookup('good.tag.warren.internal', 'A'), A('100.64.0.5'));
  assert.deepEqual(z.lookup('f.warren.internal', 'A'), NX);
  assert.equal(z.skipped.length, 12, z.skipped.join('\n'));
  for (const fragment of [
    '"has space"',
    '"under_score"',
    'reserved',
    'is the zone itself',
    'not a string',
    '"tag:bad tag"',
    'identity',
    'not an IPv4',
  ]) {
    assert.ok(
      z.skipped.some((s) => s.includes(fragment)),
      `a reason mentions ${fragment}`,
    );
  }
});

test('zone refuses an invalid zone name', () => {
  assert.throws(() => buildZone({ zone: 'bad zone', self, reachable: [] }), /not a valid domain name/);
});

test('zone rejects names that would exceed 253 characters', () => {
  const long = Array.from({ length: 4 }, () => 'a'.repeat(60)).join('.'); // 243 characters
  const z = buildZone({ self: { ...self, names: [long] }, reachable: [] });
  assert.equal(z.lookup(`${long}.warren.internal`, 'A').rcode, 'NXDOMAIN');
  assert.equal(z.skipped.length, 1);
});

test('AAAA (RFC 3596): every name with an A answer has an AAAA answer for a system with IPv6', () => {
  const s6: ZoneSystem = { ...self, address6: 'fd12:3456:789a::6440:1' };
  const b6: ZoneSystem = { ...b, address6: 'FD12:3456:789A:0:0:0:6440:2' };
  const z = buildZone({ self: s6, reachable: [b6, c] });
  const cases: Array<[string, string, ZoneResult]> = [
    ['b.warren.internal', 'AAAA', A('fd12:3456:789a::6440:2')],
    ['b.warren.internal', 'A', A('100.64.0.2')],
    ['b.warren.internal', 'ANY', A('100.64.0.2', 'fd12:3456:789a::6440:2')],
    ['web.b.warren.internal', 'AAAA', A('fd12:3456:789a::6440:2')],
    ['b1234.id.warren.internal', 'AAAA', A('fd12:3456:789a::6440:2')],
    ['laptop.warren.internal', 'AAAA', A('fd12:3456:789a::6440:1')],
    ['g982v.id.warren.internal', 'AAAA', A('fd12:3456:789a::6440:1')],
    ['dev.tag.warren.internal', 'AAAA', A('fd12:3456:789a::6440:1', 'fd12:3456:789a::6440:2')],
    // db: b has IPv6, c has not; c alone has a name with A only: NODATA, not NXDOMAIN
    ['db.tag.warren.internal', 'AAAA', A('fd12:3456:789a::6440:2')],
    ['c.warren.internal', 'AAAA', NODATA],
    ['c.warren.internal', 'A', A('100.64.0.3')],
    // NXDOMAIN rules are unchanged
    ['d.warren.internal', 'AAAA', NX],
    ['x.b.warren.internal', 'AAAA', NX],
    ['id.warren.internal', 'AAAA', NODATA],
    ['example.com', 'AAAA', SERVFAIL],
  ];
  for (const [name, type, want] of cases) assert.deepEqual(z.lookup(name, type), want, `${name} ${type}`);
});

test('a system with only an IPv6 address gets AAAA and NODATA for A; a bad IPv6 address leaves it out', () => {
  const only6: ZoneSystem = { identity: 'E0000', address: null, address6: 'fd00::5', names: ['e'], tags: [] };
  const bad: ZoneSystem = { identity: 'F0000', address: '100.64.0.6', address6: '100.64.0.6', names: ['f'], tags: [] };
  const z = buildZone({ self, reachable: [only6, bad] });
  assert.deepEqual(z.lookup('e.warren.internal', 'AAAA'), A('fd00::5'));
  assert.deepEqual(z.lookup('e.warren.internal', 'A'), NODATA);
  assert.deepEqual(z.lookup('f.warren.internal', 'A'), NX);
  assert.ok(
    z.skipped.some((l) => l.includes('F0000') && l.includes('not an IPv6 address')),
    z.skipped.join('\n'),
  );
});
