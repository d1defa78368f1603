// How long a scheduled map pass waits (pass-pacer.ts): as long as the last pass took while
// passes follow each other (a burst), next to nothing after a quiet spell (one system joining a
// settled fleet), and never more than the cap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_DELAY_MS, MIN_DELAY_MS, PassPacer } from './pass-pacer.js';

test('a pass waits what is left of the last pass duration since it ended, within the bounds', () => {
  let now = 0;
  const pacer = new PassPacer(() => now);
  assert.equal(pacer.delay(), MIN_DELAY_MS, 'no pass yet');
  const r = pacer.timed(() => {
    now += 300; // a 300 ms pass
    return 'done';
  });
  assert.equal(r, 'done');
  assert.equal(pacer.last, 300);
  assert.equal(pacer.delay(), 300, 'scheduled as it ends: waits its whole duration');
  now += 200;
  assert.equal(pacer.delay(), 100, 'scheduled 200 ms later: waits the rest');
  now += 5000;
  assert.equal(pacer.delay(), MIN_DELAY_MS, 'after a quiet spell: at once');
  pacer.timed(() => (now += 4000));
  assert.equal(pacer.delay(), MAX_DELAY_MS, 'a very slow pass: the cap');
  assert.throws(() =>
    pacer.timed(() => {
      now += 50;
      throw new Error('pass failed');
    }),
  );
  assert.equal(pacer.last, 50, 'a failed pass is timed too');
});
