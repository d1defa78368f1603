import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AllowedIps, maskOf } from './allowed-ips.js';

const ip = (s: string): number => s.split('.').reduce((a, o) => (a * 256 + Number(o)) >>> 0, 0);

test('longest prefix wins, table-driven', () => {
  const t = new AllowedIps<string>();
  t.insert(ip('0.0.0.0'), 0, 'default');
  t.insert(ip('100.64.0.0'), 10, 'overlay');
  t.insert(ip('100.64.0.2'), 32, 'beta');
  t.insert(ip('192.168.1.0'), 24, 'lan');
  t.insert(ip('192.168.1.128'), 25, 'lan-hi');
  const cases: Array<[string, string | undefined]> = [
    ['100.64.0.2', 'beta'],
    ['100.64.0.3', 'overlay'],
    ['100.127.255.255', 'overlay'],
    ['100.128.0.0', 'default'],
    ['192.168.1.1', 'lan'],
    ['192.168.1.200', 'lan-hi'],
    ['8.8.8.8', 'default'],
  ];
  for (const [addr, want] of cases) assert.equal(t.lookup(ip(addr)), want, addr);
  t.remove(ip('0.0.0.0'), 0);
  assert.equal(t.lookup(ip('8.8.8.8')), undefined);
  assert.equal(t.size, 4);
});

test('insert masks host bits and replaces the owner of an identical prefix', () => {
  const t = new AllowedIps<string>();
  t.insert(ip('10.1.2.3'), 8, 'a');
  t.insert(ip('10.0.0.0'), 8, 'b');
  assert.equal(t.size, 1);
  assert.equal(t.lookup(ip('10.200.0.1')), 'b');
  assert.deepEqual(t.entries(), [{ addr: ip('10.0.0.0'), bits: 8, value: 'b' }]);
  assert.throws(() => t.insert(0, 33, 'x'), RangeError);
});

test('removeValue drops all prefixes of one peer and keeps the others', () => {
  const t = new AllowedIps<string>();
  t.insert(ip('100.64.0.2'), 32, 'beta');
  t.insert(ip('192.168.0.0'), 16, 'beta');
  t.insert(ip('100.64.0.3'), 32, 'gamma');
  t.removeValue('beta');
  assert.equal(t.lookup(ip('100.64.0.2')), undefined);
  assert.equal(t.lookup(ip('192.168.5.5')), undefined);
  assert.equal(t.lookup(ip('100.64.0.3')), 'gamma');
  assert.equal(t.size, 1);
});

test('matches a brute-force longest-prefix search on random tables', () => {
  let seed = 12345;
  const rnd = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed;
  };
  for (let round = 0; round < 20; round++) {
    const t = new AllowedIps<number>();
    const ref = new Map<string, { addr: number; bits: number; value: number }>();
    for (let i = 0; i < 300; i++) {
      // Cluster addresses so prefixes nest and share paths.
      const bits = rnd() % 33;
      const addr = (rnd() & 0xff0fffff & maskOf(bits)) >>> 0;
      t.insert(addr, bits, i);
      ref.set(`${addr}/${bits}`, { addr, bits, value: i });
      if (rnd() % 10 === 0) {
        const victim = [...ref.values()][rnd() % ref.size]!;
        t.remove(victim.addr, victim.bits);
        ref.delete(`${victim.addr}/${victim.bits}`);
      }
    }
    assert.equal(t.size, ref.size);
    for (let q = 0; q < 2000; q++) {
      const a = (rnd() & 0xff0fffff) >>> 0;
      let best: { bits: number; value: number } | undefined;
      for (const e of ref.values()) {
        if ((a & maskOf(e.bits)) >>> 0 === e.addr && (!best || e.bits > best.bits)) best = e;
      }
      assert.equal(t.lookup(a), best?.value, `lookup ${a}`);
    }
  }
});

test('exact finds only the stored prefix, not a covering one', () => {
  const t = new AllowedIps<string>();
  t.insert(0x0a000000, 8, 'ten');
  t.insert(0x0a010000, 16, 'ten-one');
  assert.equal(t.exact(0x0a000000, 8), 'ten');
  assert.equal(t.exact(0x0a010000, 16), 'ten-one');
  assert.equal(t.exact(0x0a010000, 24), undefined);
  assert.equal(t.exact(0x0a020000, 16), undefined);
  assert.equal(t.exact(0x0b000000, 8), undefined);
});
