// A batch's key rows kept for the next batches (pg-batch.ts KeyCache): trusted for
// KEY_TRUST_MS only, with this coordinator's committed uses added, never a key that does not
// exist, and bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EnrolmentKey } from '../auth/enrolment-keys.js';
import { KEY_TRUST_MS, KeyCache } from './pg-batch.js';

function key(id: string, uses = 0): EnrolmentKey {
  return {
    id,
    hash: `hash-${id}`,
    tags: ['dev'],
    approval: 'automatic',
    usesAllowed: 10,
    uses,
    ephemeral: false,
    createdAt: 0,
    expiresAt: Number.MAX_SAFE_INTEGER,
    revokedAt: null,
  };
}

test('a kept key answers for KEY_TRUST_MS, then is read again', () => {
  let now = 1000;
  const c = new KeyCache(() => now);
  c.put('h1', key('k1'));
  now += KEY_TRUST_MS - 1;
  assert.equal(c.get('h1')?.id, 'k1');
  now += 1;
  assert.equal(c.get('h1'), undefined);
});

test('a kept key carries the uses committed batches counted, and a made-up key is not kept', () => {
  const c = new KeyCache(() => 0);
  c.put('h1', key('k1', 2));
  c.put('h2', key('k2', 0));
  c.put('nothing', null);
  c.used(['k1', 'k3'], [3, 1]);
  assert.equal(c.get('h1')?.uses, 5);
  assert.equal(c.get('h2')?.uses, 0);
  assert.equal(c.get('nothing'), undefined);
});

test('the kept keys are bounded: past 256 the cache starts again', () => {
  const c = new KeyCache(() => 0);
  for (let i = 0; i < 256; i++) c.put(`h${i}`, key(`k${i}`));
  assert.equal(c.get('h0')?.id, 'k0');
  c.put('h256', key('k256'));
  assert.equal(c.get('h0'), undefined);
  assert.equal(c.get('h256')?.id, 'k256');
});
