import { test } from 'node:test';
import assert from 'node:assert/strict';
import { roundRange, type Samples } from './proxy.js';

const bulk = (...mbps: number[]): Samples => ({
  bulk: mbps.map((m) => ({ mbps: m, bytes: 1, cpu: null, clientCpu: 0, serverCpu: 0 })),
  rate: [],
});

test('the proxy bench pairs each round with the direct run of the same round for the ratio spread', () => {
  // Round by round 0.5x, 1x and 0.75x; the medians (2000 vs 1500) alone would hide the spread.
  const r = roundRange({ direct: bulk(4000, 1000, 2000), egress: bulk(2000, 1000, 1500) }, 'egress');
  assert.deepEqual(r, [0.5, 1]);
});

test('the proxy bench gives no ratio spread when a path missed rounds (they no longer pair up)', () => {
  assert.equal(roundRange({ direct: bulk(4000, 1000, 2000), egress: bulk(2000) }, 'egress'), null);
  assert.equal(roundRange({ egress: bulk(2000) }, 'egress'), null);
});
