import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AllowedIps } from './allowed-ips.js';
import {
  comparePrefix,
  formatIpPrefix,
  parseIp,
  parseIpPrefix,
  prefixContains,
  prefixNetwork,
  type IpAddress,
  type IpPrefix,
} from '../../../../src-shared/lib/ip/addr.js';
import { ipv6ToBytes } from '../../../../src-shared/lib/ip/ipv6.js';

const pfx = (s: string): IpPrefix => parseIpPrefix(s)!;
const v4 = (s: string): number => {
  const a = parseIp(s)!;
  assert.equal(a.family, 4);
  return a.family === 4 ? a.v4 : 0;
};

/** packetWith puts an IPv6 address at byte 24 of a 64-byte buffer (a header's destination). */
function packetWith(s: string): Buffer {
  const a = parseIp(s)!;
  assert.equal(a.family, 6);
  const buf = Buffer.alloc(64, 0xaa);
  if (a.family === 6) Buffer.from(ipv6ToBytes(a)).copy(buf, 24);
  return buf;
}

function lookup(t: AllowedIps<string>, s: string): string | undefined {
  return s.includes(':') ? t.lookup6(packetWith(s), 24) : t.lookup4(v4(s));
}

test('longest prefix wins in both families, and the families never match each other', () => {
  const t = new AllowedIps<string>();
  for (const [p, v] of [
    ['0.0.0.0/0', 'default4'],
    ['100.64.0.0/10', 'overlay'],
    ['100.64.0.2/32', 'beta'],
    ['192.168.1.128/25', 'lan-hi'],
    ['::/0', 'default6'],
    ['fd7a:115c:a1e0::/48', 'ula'],
    ['fd7a:115c:a1e0::2/128', 'beta6'],
    ['2001:db8::/32', 'doc'],
    ['2001:db8:0:1::/64', 'doc-1'],
    ['2001:db8:0:1:8000::/65', 'doc-1-hi'],
  ] as const)
    t.insert(pfx(p), v);
  const cases: Array<[string, string | undefined]> = [
    ['100.64.0.2', 'beta'],
    ['100.64.0.3', 'overlay'],
    ['100.128.0.0', 'default4'],
    ['192.168.1.200', 'lan-hi'],
    ['fd7a:115c:a1e0::2', 'beta6'],
    ['fd7a:115c:a1e0::3', 'ula'],
    ['fd7a:115c:a1e1::2', 'default6'],
    ['2001:db8:0:1::1', 'doc-1'],
    ['2001:db8:0:1:8000::1', 'doc-1-hi'],
    ['2001:db8:ffff::1', 'doc'],
    ['::ffff:100.64.0.2', 'default6'],
  ];
  for (const [addr, want] of cases) assert.equal(lookup(t, addr), want, addr);
  assert.equal(t.size, 10);
  assert.equal(t.remove(pfx('::/0')), true);
  assert.equal(lookup(t, '2002::1'), undefined, 'no IPv6 default: an IPv4 default does not cover it');
  assert.equal(lookup(t, '8.8.8.8'), 'default4');
  t.remove(pfx('0.0.0.0/0'));
  assert.equal(lookup(t, '8.8.8.8'), undefined);
  assert.equal(t.size, 8);
});

test('insert masks host bits; a prefix length out of range is refused', () => {
  const t = new AllowedIps<string>();
  t.insert(pfx('10.1.2.3/8'), 'a');
  t.insert(pfx('10.0.0.0/8'), 'b');
  t.insert(pfx('2001:db8::1/32'), 'c');
  assert.equal(t.size, 2);
  assert.equal(t.exact(pfx('2001:db8::/32')), 'c');
  assert.deepEqual(t.prefixesOf('c').map(formatIpPrefix), ['2001:db8::/32']);
  assert.deepEqual(t.prefixesOf('b').map(formatIpPrefix), ['10.0.0.0/8']);
  assert.throws(() => t.insert({ addr: parseIp('10.0.0.0')!, bits: 33 }, 'x'), RangeError);
  assert.throws(() => t.insert({ addr: parseIp('::')!, bits: 129 }, 'x'), RangeError);
  assert.throws(() => t.exact({ addr: parseIp('::')!, bits: -1 }), RangeError);
});

test('removeValue drops every prefix of one owner in both families and keeps the others', () => {
  const t = new AllowedIps<string>();
  for (const p of ['100.64.0.2/32', '192.168.0.0/16', 'fd00::2/128', 'fd00:1::/32']) t.insert(pfx(p), 'beta');
  t.insert(pfx('100.64.0.3/32'), 'gamma');
  t.insert(pfx('fd00::3/128'), 'gamma');
  assert.equal(t.removeValue('beta'), 4);
  assert.equal(lookup(t, '192.168.5.5'), undefined);
  assert.equal(lookup(t, 'fd00::2'), undefined);
  assert.equal(lookup(t, 'fd00::3'), 'gamma');
  assert.deepEqual(t.prefixesOf('gamma').map(formatIpPrefix), ['100.64.0.3/32', 'fd00::3/128']);
  assert.equal(t.size, 2);
});

test('exact finds only the stored prefix, not a covering one nor a branch point', () => {
  const t = new AllowedIps<string>();
  t.insert(pfx('2001:db8:1::/48'), 'a');
  t.insert(pfx('2001:db8:2::/48'), 'b'); // the two share a valueless branch at /46
  assert.equal(t.exact(pfx('2001:db8:1::/48')), 'a');
  assert.equal(t.exact(pfx('2001:db8::/46')), undefined);
  assert.equal(t.exact(pfx('2001:db8:1::/64')), undefined);
  assert.equal(t.remove(pfx('2001:db8::/46')), false);
  assert.equal(t.size, 2);
});

// A tiny seeded generator, so a failure repeats.
function rng(seed: number): () => number {
  return () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed ^ (seed >>> 15)) >>> 0;
  };
}

/** randomAddress clusters addresses (few distinct high bits) so prefixes nest and share paths. */
function randomAddress(rnd: () => number, family: 4 | 6): IpAddress {
  if (family === 4) return { family: 4, v4: (rnd() & 0xff0f00ff) >>> 0 };
  const tops = [0x20010db8, 0xfd7a115c, 0, 0xfe800000];
  return { family: 6, w0: tops[rnd() % 4]!, w1: rnd() & 0x0f0000ff, w2: rnd() % 4, w3: (rnd() & 0xff00000f) >>> 0 };
}

function randomPrefix(rnd: () => number, family: 4 | 6): IpPrefix {
  const max = family === 4 ? 32 : 128;
  // Half of the lengths near the ends, where host routes and defaults live.
  const r = rnd() % 4;
  const bits = r === 0 ? max - (rnd() % 3) : r === 1 ? rnd() % 3 : rnd() % (max + 1);
  return prefixNetwork({ addr: randomAddress(rnd, family), bits });
}

/** Reference is the brute-force model: a list searched in full for every question. */
class Reference {
  readonly entries = new Map<string, { p: IpPrefix; v: number }>();
  insert(p: IpPrefix, v: number): void {
    this.entries.set(formatIpPrefix(prefixNetwork(p)), { p: prefixNetwork(p), v });
  }
  lookup(a: IpAddress): number | undefined {
    let best: { p: IpPrefix; v: number } | undefined;
    for (const e of this.entries.values()) if (prefixContains(e.p, a) && (!best || e.p.bits > best.p.bits)) best = e;
    return best?.v;
  }
  prefixesOf(v: number): string[] {
    const mine = [...this.entries.values()].filter((e) => e.v === v).map((e) => e.p);
    return mine.sort(comparePrefix).map(formatIpPrefix);
  }
}

function tableLookup(t: AllowedIps<number>, a: IpAddress): number | undefined {
  if (a.family === 4) return t.lookup4(a.v4);
  const buf = Buffer.alloc(40);
  Buffer.from(ipv6ToBytes(a)).copy(buf, 8);
  return t.lookup6(buf, 8);
}

function step(t: AllowedIps<number>, ref: Reference, rnd: () => number, family: 4 | 6): void {
  const op = rnd() % 20;
  if (op < 13) {
    // Values 0-4 are five peers: inserting an existing prefix for another peer moves it.
    const p = randomPrefix(rnd, family);
    const v = rnd() % 5;
    t.insert(p, v);
    ref.insert(p, v);
  } else if (op < 18) {
    const stored = [...ref.entries.values()];
    const victim = stored.length > 0 && op < 17 ? stored[rnd() % stored.length]!.p : randomPrefix(rnd, family);
    assert.equal(t.remove(victim), ref.entries.delete(formatIpPrefix(victim)), `remove ${formatIpPrefix(victim)}`);
  } else if (op === 18 && rnd() % 8 === 0) {
    const v = rnd() % 5;
    const had = [...ref.entries.entries()].filter(([, e]) => e.v === v);
    for (const [k] of had) ref.entries.delete(k);
    assert.equal(t.removeValue(v), had.length);
  }
}

function check(t: AllowedIps<number>, ref: Reference, rnd: () => number, family: 4 | 6): void {
  assert.equal(t.size, ref.entries.size);
  for (const e of ref.entries.values()) assert.equal(t.exact(e.p), e.v, `exact ${formatIpPrefix(e.p)}`);
  for (let q = 0; q < 30; q++) {
    const p = randomPrefix(rnd, family);
    assert.equal(t.exact(p), ref.entries.get(formatIpPrefix(p))?.v, `exact ${formatIpPrefix(p)}`);
  }
  for (let q = 0; q < 400; q++) {
    const a = randomAddress(rnd, family);
    assert.equal(tableLookup(t, a), ref.lookup(a), `lookup in ${family}`);
  }
  const all = t.byValue();
  for (let v = 0; v < 5; v++) {
    assert.deepEqual(t.prefixesOf(v).map(formatIpPrefix), ref.prefixesOf(v), `prefixes of ${v}`);
    assert.deepEqual((all.get(v) ?? []).map(formatIpPrefix), ref.prefixesOf(v), `byValue ${v}`);
  }
}

for (const family of [4, 6] as const) {
  test(`IPv${family}: insert, move between owners, remove and removeValue agree with a brute-force table`, () => {
    const rnd = rng(family * 7919);
    for (let round = 0; round < 12; round++) {
      const t = new AllowedIps<number>();
      const ref = new Reference();
      for (let i = 0; i < 400; i++) {
        step(t, ref, rnd, family);
        if (i % 100 === 99) check(t, ref, rnd, family);
      }
    }
  });
}

test('both families in one table stay apart: each answers only for its own addresses', () => {
  const rnd = rng(4242);
  const t = new AllowedIps<number>();
  const ref = new Reference();
  for (let i = 0; i < 600; i++) step(t, ref, rnd, i % 2 === 0 ? 4 : 6);
  check(t, ref, rnd, 4);
  check(t, ref, rnd, 6);
});
