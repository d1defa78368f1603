// The crypto threads switch: off by default (DEFAULT_ON), 'on' is one thread per core up to
// MAX_THREADS, a number is taken as it is, and a typo is refused rather than measured.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_ON, MAX_THREADS, threadsWish } from './threads.js';

test('threadsWish reads WARREN_THREADS', () => {
  assert.deepEqual(threadsWish({}, 2), { threads: DEFAULT_ON ? 2 : 1 });
  assert.deepEqual(threadsWish({ WARREN_THREADS: 'off' }, 8), { threads: 1 });
  assert.deepEqual(threadsWish({ WARREN_THREADS: '0' }, 8), { threads: 1 });
  assert.deepEqual(threadsWish({ WARREN_THREADS: 'on' }, 2), { threads: 2 });
  assert.deepEqual(threadsWish({ WARREN_THREADS: ' ON ' }, 64), { threads: MAX_THREADS });
  assert.deepEqual(threadsWish({ WARREN_THREADS: 'on' }, 1), { threads: 1 });
  assert.deepEqual(threadsWish({ WARREN_THREADS: '3' }, 2), { threads: 3 });
  for (const bad of ['9', 'yes', '-1', '2.5'])
    assert.throws(() => threadsWish({ WARREN_THREADS: bad }, 2), /WARREN_THREADS=.*expected 'on', 'off'/, bad);
});
