// Reading the helper's sign-in fields for the window: malformed or hostile values are dropped or
// bounded, never passed on as they came.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromStatus } from './app-state.js';
import { isOpenableUrl, loginViewOf, sameCoordinator, signInViewOf } from './login-view.js';
import type { Status } from './status.js';

test('loginViewOf keeps a well-formed progress and drops malformed ones', () => {
  const ok = {
    state: 'enrolled',
    coordinator: 'http://c',
    provider: 'corp',
    startedAt: 1,
    expiresAt: 2,
    user: 'alice@example.com',
    identity: 'K7Q2M',
    tags: ['dev', 7, 'x'.repeat(100)],
    message: 'Signed in as alice@example.com\u001b[31m.',
  };
  const v = loginViewOf(ok)!;
  assert.deepEqual(v.tags, ['dev', 'x'.repeat(64)]);
  assert.equal(v.message, 'Signed in as alice@example.com?[31m.');
  for (const bad of [null, 'waiting', { ...ok, state: 'done' }, { ...ok, message: 5 }])
    assert.equal(loginViewOf(bad), null, JSON.stringify(bad));
  assert.equal(loginViewOf({ ...ok, expiresAt: 'soon' })?.expiresAt, 0);
});

test('signInViewOf needs a user and a lapsed flag', () => {
  assert.deepEqual(signInViewOf({ user: 'a@b', expiresAt: 5, lapsed: true, authority: 'x' }), {
    user: 'a@b',
    expiresAt: 5,
    lapsed: true,
  });
  assert.equal(signInViewOf({ user: 'a@b' }), null);
  assert.equal(signInViewOf({ lapsed: false }), null);
  assert.equal(signInViewOf({ user: 'a@b', lapsed: false, expiresAt: Infinity })?.expiresAt, null);
});

test('only bounded http(s) URLs are openable, and coordinator URLs compare without trailing slashes', () => {
  assert.equal(isOpenableUrl('https://idp.example/authorize?a=b'), true);
  for (const u of ['javascript:alert(1)', 'file:///x', 'https://a b', 'HTTPS://x', `http://x/${'a'.repeat(4090)}`, 7])
    assert.equal(isOpenableUrl(u), false, String(u).slice(0, 20));
  assert.equal(sameCoordinator('http://c:8080', 'http://c:8080/ '), true);
  assert.equal(sameCoordinator(undefined, 'http://c'), false);
  assert.equal(sameCoordinator('http://c', 'http://d'), false);
});

test('the window gets the sign-in, its progress, and a long problem whole', () => {
  const long = `Your sign-in as ${'a'.repeat(200)}@example.com expired at 09:05: sign in again (warren login ...)`;
  const { tunnel } = fromStatus(
    {
      version: '1',
      identity: 'ME123',
      publicKey: 'k',
      virtualAddress: '100.64.0.1',
      virtualNetwork: '100.64.0.0/10',
      adapter: 'w0',
      listenPort: 1,
      state: 'connected',
      mode: 'coordinated',
      peers: [],
      drops: {},
      startedAt: 0,
      problems: [long],
      signIn: { user: 'a@b', authority: 'corp', authenticatedAt: 1, expiresAt: 2, lapsed: true },
      login: {
        state: 'waiting',
        message: 'Waiting.',
        coordinator: 'c',
        provider: 'corp',
        startedAt: 0,
        expiresAt: 9,
        user: null,
        identity: null,
        tags: [],
      },
    } as Status,
    0,
  );
  assert.deepEqual(tunnel.problems, [long]);
  assert.deepEqual(tunnel.signIn, { user: 'a@b', expiresAt: 2, lapsed: true });
  assert.equal(tunnel.login?.state, 'waiting');
});
