import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hashKey, keyRefusal, looksLikeKey, newKeyText, type EnrolmentKey } from './enrolment-keys.js';

test('new keys look like keys, are distinct, and hash stably', () => {
  const a = newKeyText();
  const b = newKeyText();
  assert.ok(looksLikeKey(a.key), a.key);
  assert.notEqual(a.key, b.key);
  assert.notEqual(a.id, b.id);
  assert.equal(hashKey(a.key), hashKey(a.key));
  assert.notEqual(hashKey(a.key), hashKey(b.key));
  assert.equal(a.key.length, 47);
  for (const bad of ['', 'wek-short', `${a.key}x`, a.key.replace('wek-', 'xyz-'), `${a.key.slice(0, -1)}!`]) {
    assert.equal(looksLikeKey(bad), false, bad);
  }
});

test('keyRefusal: revoked before expired before used up', () => {
  const base: EnrolmentKey = {
    id: 'k1',
    hash: 'h',
    tags: [],
    approval: 'automatic',
    usesAllowed: 2,
    uses: 0,
    ephemeral: false,
    createdAt: 0,
    expiresAt: 1000,
    revokedAt: null,
  };
  const cases: [Partial<EnrolmentKey>, number, ReturnType<typeof keyRefusal>][] = [
    [{}, 999, null],
    [{ uses: 1 }, 0, null],
    [{}, 1000, 'key-expired'],
    [{ uses: 2 }, 0, 'key-used-up'],
    [{ uses: 2 }, 5000, 'key-expired'],
    [{ revokedAt: 5 }, 0, 'key-revoked'],
    [{ revokedAt: 5, uses: 2 }, 5000, 'key-revoked'],
  ];
  for (const [patch, now, want] of cases) {
    assert.equal(keyRefusal({ ...base, ...patch }, now), want, JSON.stringify({ patch, now }));
  }
});
