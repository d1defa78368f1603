// EarlyInitiators: what a responder remembers of initiations from keys it did not know yet.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { REKEY_TIMEOUT } from './constants.js';
import { EarlyInitiators } from './early-initiators.js';

test('a key that tried within REKEY_TIMEOUT is answered once; older, unknown or future attempts are not', () => {
  const e = new EarlyInitiators();
  e.set('aa', 1000);
  assert.equal(e.triedRecently('bb', 1000), false, 'a key that never tried');
  assert.equal(e.triedRecently('aa', 1000 + REKEY_TIMEOUT), true, 'its retry is still to come');
  assert.equal(e.triedRecently('aa', 1000 + REKEY_TIMEOUT), false, 'answered once per attempt');
  e.set('aa', 2000);
  assert.equal(e.triedRecently('aa', 2001 + REKEY_TIMEOUT), false, 'its own retry is due by now');
  e.set('aa', 3000);
  assert.equal(e.triedRecently('aa', 2999), false, 'a clock that went back answers nothing');
  assert.equal(e.size, 0);
});

test('the table keeps at most its bound, forgetting the key heard from longest ago', () => {
  const e = new EarlyInitiators(3);
  e.set('k1', 1);
  e.set('k2', 2);
  e.set('k3', 3);
  e.set('k1', 4); // heard again: now the newest
  e.set('k4', 5);
  assert.equal(e.size, 3);
  assert.equal(e.triedRecently('k2', 10), false, 'k2 was the oldest and went');
  assert.deepEqual(
    ['k1', 'k3', 'k4'].map((k) => e.triedRecently(k, 10)),
    [true, true, true],
  );
  for (let i = 0; i < 10_000; i++) e.set(`flood${i}`, 20);
  assert.equal(e.size, 3, 'a flood of claims stays within the bound');
});
