// The table of pending logins: bounded, expiring, and each state usable once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loginCode, PendingLogins, TableFull } from './pending.js';
import type { LoginStartRequest } from '../../../src-shared/wire/login.js';

const req = {} as LoginStartRequest;
const entry = (state: string) => ({ provider: 'p', state, nonce: 'n', codeVerifier: 'v', request: req, source: null });

test('the table refuses a login beyond its capacity until one expires', () => {
  const t = new PendingLogins(2, 1000);
  t.add(entry('s1'), 0);
  t.add(entry('s2'), 500);
  assert.throws(() => t.add(entry('s3'), 900), TableFull);
  // At 1000 the first expired: the sweep in add makes room for exactly one.
  t.add(entry('s3'), 1000);
  assert.equal(t.size, 2);
  assert.throws(() => t.add(entry('s4'), 1000), TableFull);
});

test('a state is taken once; an expired login is not found', () => {
  const t = new PendingLogins(10, 1000);
  const l = t.add(entry('s1'), 0);
  assert.equal(t.takeState('s1', 10), l);
  assert.equal(t.takeState('s1', 20), undefined, 'a replayed state finds nothing');
  t.add(entry('s2'), 0);
  assert.equal(t.takeState('s2', 1000), undefined, 'expired');
  assert.equal(t.get(l.loginId, 999), l);
  assert.equal(t.get(l.loginId, 1000), undefined);
});

test('a waiting poll wakes when the login finishes, and the outcome is collected once', async () => {
  const t = new PendingLogins(10, 60_000);
  const l = t.add(entry('s1'), Date.now());
  const started = Date.now();
  const waiting = t.wait(l, 5000);
  setTimeout(() => t.finish(l, { status: 'refused', code: 'x', message: 'no' }), 20);
  await waiting;
  assert.ok(Date.now() - started < 2000);
  assert.deepEqual(t.collect(l), { status: 'refused', code: 'x', message: 'no' });
  assert.equal(t.get(l.loginId, Date.now()), undefined);
});

test('login ids are random and long; codes are 4+4 Crockford base32', () => {
  const t = new PendingLogins(10, 1000);
  const a = t.add(entry('a'), 0);
  const b = t.add(entry('b'), 0);
  assert.notEqual(a.loginId, b.loginId);
  assert.ok(a.loginId.length >= 43);
  assert.match(loginCode(a.loginId), /^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/);
});
