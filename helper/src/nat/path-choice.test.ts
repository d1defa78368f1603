// The choice between two working direct paths: clearly faster within a family (30 %), IPv6
// preferred over IPv4 unless clearly slower, with hysteresis so similar paths do not trade places.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { replaces, type ChoicePath } from './path-choice.js';

const v4 = (rtt: number | null): ChoicePath => ({ addr: { family: 4, v4: 0xc0000201 }, rtt });
const v6 = (rtt: number | null): ChoicePath => ({ addr: { family: 6, w0: 0x20010db8, w1: 0, w2: 0, w3: 1 }, rtt });

test('within a family a path must be 30 % faster to take over', () => {
  assert.equal(replaces(v4(null), 6, v4(10)), true);
  assert.equal(replaces(v4(null), 7, v4(10)), false);
  assert.equal(replaces(v6(null), 6, v6(10)), true);
  assert.equal(replaces(v6(null), 8, v6(10)), false);
});

test('IPv6 takes over from IPv4 unless more than 30 % (plus 1 ms) slower', () => {
  assert.equal(replaces(v6(null), 10, v4(10)), true, 'same speed: IPv6');
  assert.equal(replaces(v6(null), 14, v4(10)), true, '40 % of 10 ms is within 1.3x + 1 ms');
  assert.equal(replaces(v6(null), 15, v4(10)), false, 'clearly slower');
  assert.equal(replaces(v6(null), 1, v4(0)), true, 'sub-millisecond LAN paths count as the same');
  assert.equal(replaces(v6(null), 5, v4(null)), true, 'a current path never measured loses');
});

test('IPv4 takes over from IPv6 only when clearly faster, and the two thresholds leave a gap', () => {
  assert.equal(replaces(v4(null), 10, v6(10)), false);
  assert.equal(replaces(v4(null), 10, v6(14)), false, 'IPv6 at 1.4x of IPv4 keeps its place');
  assert.equal(replaces(v4(null), 5, v6(14)), true);
  assert.equal(replaces(v4(null), 0, v6(1)), false, 'no flapping between 0 and 1 ms');
  // No pair of round trips makes each replace the other: that would be flapping.
  for (let a = 0; a <= 60; a++)
    for (let b = 0; b <= 60; b++)
      assert.ok(!(replaces(v6(null), a, v4(b)) && replaces(v4(null), b, v6(a))), `IPv6 ${a} ms vs IPv4 ${b} ms`);
});
