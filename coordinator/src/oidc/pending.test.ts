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

const who = {
  issuer: 'i',
  subject: 's',
  email: 'a@example.com',
  name: '',
  groups: [],
  authTime: null,
  droppedGroups: 0,
};

test('a confirmation token belongs to one login and is used once; an expired login’s token finds nothing', () => {
  const t = new PendingLogins(10, 1000);
  const l = t.add(entry('s1'), 0);
  const token = t.verify(l, { who, sealed: null });
  assert.match(token, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(t.takeToken('another', 10), undefined);
  assert.equal(t.takeToken(token, 10), l);
  assert.equal(t.takeToken(token, 20), undefined, 'used once');
  const m = t.add(entry('s2'), 0);
  const late = t.verify(m, { who, sealed: null });
  assert.equal(t.takeToken(late, 1000), undefined, 'expired');
});

test('a cancelled login answers its poll with the refusal, and its state and token still say cancelled', async () => {
  const t = new PendingLogins(10, 60_000);
  const now = Date.now();
  const l = t.add(entry('s1'), now);
  const token = t.verify(l, { who, sealed: null });
  const waiting = t.wait(l, 5000);
  t.cancel(l, 'cancelled by the system');
  await waiting;
  assert.equal(t.takeToken(token, now)?.cancelled, true);
  const again = t.add(entry('s2'), now);
  t.cancel(again, 'cancelled');
  assert.equal(t.takeState('s2', now)?.cancelled, true, 'the redirect finds it, to say so');
  assert.deepEqual(t.collect(l), { status: 'refused', code: 'cancelled', message: 'cancelled by the system' });
  assert.equal(t.get(l.loginId, now), undefined);
});
