// This system's own sign-in: read from the map's self part defensively (left out when
// malformed, the map still taken; absent from older coordinators), carried into the profile in
// force, and turned into Status.signIn and, once lapsed, a problem that says how to sign in again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SelfSignIn } from '../../../src-shared/wire/control.js';
import { sampleMap } from '../../../src-shared/lib/netmap/testing.js';
import { parseNetworkMap } from '../../../src-shared/lib/netmap/map-parse.js';
import { clockTime, lapsedSignInProblem, signInState } from './sign-in.js';

const mapWith = (signIn: unknown): unknown =>
  sampleMap(signIn === undefined ? {} : { self: { signIn: signIn as SelfSignIn } });

const good = { user: 'alice@example.com', authority: 'corp', authenticatedAt: 1000, expiresAt: 5000 };

test('map.self.signIn is taken when well formed, and left out (the map still taken) when not', () => {
  assert.deepEqual(parseNetworkMap(mapWith(good)).self.signIn, good);
  const { expiresAt: _, ...noExpiry } = good;
  assert.deepEqual(parseNetworkMap(mapWith(noExpiry)).self.signIn, noExpiry);
  assert.equal(parseNetworkMap(mapWith(undefined)).self.signIn, undefined, 'an older coordinator sends none');
  for (const bad of [
    'alice',
    [good],
    { ...good, user: 'a'.repeat(255) },
    { ...good, user: 'alice\u001b[2J@example.com' },
    { ...good, user: 'alice@example.com\u202e' },
    { ...good, authority: '' },
    { ...good, authenticatedAt: -1 },
    { ...good, expiresAt: 1.5 },
    { ...good, expiresAt: '5000' },
  ]) {
    const m = parseNetworkMap(mapWith(bad));
    assert.equal(m.self.signIn, undefined, JSON.stringify(bad));
    assert.equal(m.self.identity, 'ME123');
  }
});

test('the sign-in lapses one millisecond after expiresAt, and the problem names the user, the time and the way back', () => {
  assert.equal(signInState(good, 5000)?.lapsed, false, 'still accepted at exactly expiresAt');
  const lapsed = signInState(good, 5001)!;
  assert.equal(lapsed.lapsed, true);
  assert.equal(signInState({ ...good, expiresAt: undefined }, 1e15)?.lapsed, false, 'no requirement, no lapse');
  assert.equal(signInState(null, 0), null);
  const now = new Date(2026, 11, 5, 18, 30).getTime();
  const problem = lapsedSignInProblem(
    { ...lapsed, expiresAt: new Date(2026, 11, 5, 9, 5).getTime() },
    'http://c:8080',
    now,
  );
  assert.match(problem, /^Your sign-in as alice@example\.com expired at 09:05: /);
  assert.match(
    problem,
    /sign in again \(warren login --coordinator http:\/\/c:8080, or Sign in again in the app\) to reach what a policy keeps for a recent sign-in$/,
  );
  assert.equal(
    clockTime(new Date(2026, 11, 4, 23, 59).getTime(), now),
    '2026-12-04 23:59',
    'another day: the date too',
  );
});
