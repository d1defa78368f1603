import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HEAP_GROWING_PERCENT, heapGrowingPercent } from './heap-growth.js';

test('heap growth is a quarter of the live heap by default, a whole percent from 10 to 400 when set, and off on request', () => {
  assert.equal(heapGrowingPercent({}), HEAP_GROWING_PERCENT);
  assert.equal(HEAP_GROWING_PERCENT, 25);
  assert.equal(heapGrowingPercent({ WARREN_COORDINATOR_HEAP_GROWING: '' }), HEAP_GROWING_PERCENT);
  assert.equal(heapGrowingPercent({ WARREN_COORDINATOR_HEAP_GROWING: '100' }), 100);
  assert.equal(heapGrowingPercent({ WARREN_COORDINATOR_HEAP_GROWING: 'off' }), null);
  for (const bad of ['5', '401', '50.5', '-50', '1e2', 'fifty', ' 50'])
    assert.throws(
      () => heapGrowingPercent({ WARREN_COORDINATOR_HEAP_GROWING: bad }),
      /whole percent from 10 to 400, or off/,
      bad,
    );
});
