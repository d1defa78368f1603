import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatIPv4, parseCidr } from '../../../src-shared/lib/ip/ipv4.js';
import { AddressSpaceFull, allocateAddress, hostRange, isHostAddress, parseNetwork } from './allocate.js';

test('parseNetwork accepts canonical prefixes from /8 to /30 only', () => {
  assert.deepEqual(parseNetwork('100.64.0.0/10'), parseCidr('100.64.0.0/10'));
  for (const bad of ['100.64.0.1/10', '10.0.0.0/31', '10.0.0.0/7', 'nope', '10.0.0.0']) {
    assert.equal(typeof parseNetwork(bad), 'object', bad);
    assert.ok('problem' in (parseNetwork(bad) as object), bad);
  }
});

test('allocateAddress fills a /29 with distinct host addresses, never network or broadcast', () => {
  const net = parseCidr('10.9.0.8/29')!;
  const used = new Set<number>();
  for (let i = 0; i < 6; i++) {
    const a = allocateAddress(net, (x) => used.has(x), used.size);
    assert.ok(isHostAddress(net, a), formatIPv4(a));
    assert.ok(!used.has(a));
    used.add(a);
  }
  assert.deepEqual([...used].sort((a, b) => a - b).map(formatIPv4), [
    '10.9.0.9',
    '10.9.0.10',
    '10.9.0.11',
    '10.9.0.12',
    '10.9.0.13',
    '10.9.0.14',
  ]);
  assert.throws(() => allocateAddress(net, (x) => used.has(x), used.size), AddressSpaceFull);
});

test('allocateAddress finds the last free address by scanning when random picks miss', () => {
  const net = parseCidr('10.0.0.0/24')!;
  const { first, last } = hostRange(net);
  const free = first + 77;
  const inUse = (x: number): boolean => x !== free;
  // A random source that always lands on a taken address first.
  const got = allocateAddress(net, inUse, last - first, (min) => min);
  assert.equal(got, free);
});

test('allocateAddress in 100.64.0.0/10 is random: 200 picks are spread out', () => {
  const net = parseCidr('100.64.0.0/10')!;
  const used = new Set<number>();
  for (let i = 0; i < 200; i++) used.add(allocateAddress(net, (x) => used.has(x), used.size));
  assert.equal(used.size, 200);
  const spread = Math.max(...used) - Math.min(...used);
  assert.ok(spread > 2 ** 20, `addresses cluster in a range of ${spread}`);
});
