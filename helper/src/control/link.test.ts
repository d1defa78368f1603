import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ControlHttpError } from './http.js';
import { MapRejected } from '../../../src-shared/lib/netmap/open.js';
import { CoordinatorLink, conditionOfFailure, conditionOfMapFailure } from './link.js';

test('each way a watch dial fails maps to the condition that says what is wrong', () => {
  const cases: [unknown, string][] = [
    [new Error('the stream ended'), 'unreachable'],
    [undefined, 'unreachable'],
    [new ControlHttpError(0, 'unreachable', 'cannot reach the coordinator: ECONNREFUSED'), 'unreachable'],
    [new ControlHttpError(0, 'timeout', 'no answer within 40000 ms'), 'unreachable'],
    [new ControlHttpError(502, 'http-error', 'HTTP 502'), 'unreachable'],
    [new ControlHttpError(504, 'http-error', 'HTTP 504'), 'unreachable'],
    [new ControlHttpError(409, 'pending-approval', 'waits for an admin'), 'pending-approval'],
    [new ControlHttpError(403, 'revoked', 'revoked by the admin'), 'revoked'],
    [new ControlHttpError(401, 'unauthorized', 'this coordinator knows no such system'), 'rejected'],
    [new ControlHttpError(401, 'bad-signature', "does not verify with this system's machine key"), 'rejected'],
    [new ControlHttpError(401, 'clock-skew', 'clock off by 10 min'), 'rejected'],
    [new ControlHttpError(429, 'rate-limited', 'too many'), 'error'],
    [new ControlHttpError(500, 'internal', 'oops'), 'error'],
    [new ControlHttpError(500, 'http-error', 'HTTP 500'), 'error'],
  ];
  for (const [e, want] of cases) assert.equal(conditionOfFailure(e), want, String((e as Error)?.message));
});

test('a map whose signature fails is told apart from a map that cannot be used', () => {
  assert.equal(
    conditionOfMapFailure(new MapRejected('bad signature: the map was not signed by the pinned coordinator key')),
    'bad-signature',
  );
  assert.equal(conditionOfMapFailure(new MapRejected('malformed map: not JSON')), 'map-refused');
  assert.equal(conditionOfMapFailure(new Error('apply failed')), 'map-refused');
});

test('the link goes from connecting through pending approval to connected when the first map comes', () => {
  let now = 1_000;
  const l = new CoordinatorLink(now, () => now);
  assert.deepEqual(l.current(), { condition: 'connecting', since: 1_000, detail: null });
  now = 2_000;
  l.opened();
  l.pending();
  assert.equal(l.current().condition, 'pending-approval');
  assert.equal(l.current().since, 2_000);
  // A redial while pending keeps it pending: the open stream alone says nothing new.
  now = 3_000;
  l.opened();
  assert.equal(l.current().condition, 'pending-approval');
  assert.equal(l.current().since, 2_000);
  now = 4_000;
  l.mapTaken();
  assert.deepEqual(l.current(), { condition: 'connected', since: 4_000, detail: null });
  assert.equal(l.lastMapAt, 4_000);
});

test('a bad map signature holds over a connected stream until a map verifies', () => {
  let now = 0;
  const l = new CoordinatorLink(now, () => now);
  l.opened();
  now = 5;
  l.mapFailed(new MapRejected('bad signature: the map was not signed by the pinned coordinator key'));
  assert.equal(l.current().condition, 'bad-signature');
  assert.match(l.current().detail ?? '', /pinned coordinator key/);
  // The stream dropping and coming back does not hide it.
  l.failed(new ControlHttpError(0, 'unreachable', 'ECONNRESET'), 'ECONNRESET');
  l.opened();
  assert.equal(l.current().condition, 'bad-signature');
  assert.equal(l.current().since, 5);
  l.mapTaken();
  assert.equal(l.current().condition, 'connected');
});

test('an outage shows as unreachable with the error, then connected again', () => {
  let now = 0;
  const l = new CoordinatorLink(now, () => now);
  l.opened();
  l.mapTaken();
  now = 10;
  l.failed(new ControlHttpError(0, 'unreachable', 'cannot reach the coordinator: ECONNREFUSED'), 'ECONNREFUSED');
  assert.deepEqual(l.current(), { condition: 'unreachable', since: 10, detail: 'ECONNREFUSED' });
  now = 20;
  l.failed(new ControlHttpError(0, 'unreachable', 'x'), 'ETIMEDOUT');
  assert.deepEqual(l.current(), { condition: 'unreachable', since: 10, detail: 'ETIMEDOUT' });
  l.opened();
  assert.equal(l.current().condition, 'connected');
});

test('revoked outranks every later condition; a key mismatch outranks a connected stream until it matches', () => {
  let now = 0;
  const l = new CoordinatorLink(now, () => now);
  l.opened();
  l.keyChecked('the coordinator holds A, the profile gives B');
  assert.equal(l.current().condition, 'key-mismatch');
  l.keyChecked(null);
  assert.equal(l.current().condition, 'connected');
  now = 7;
  l.failed(new ControlHttpError(403, 'revoked', 'revoked by the admin'), 'revoked by the admin');
  l.opened();
  l.mapTaken();
  assert.deepEqual(l.current(), { condition: 'revoked', since: 7, detail: 'revoked by the admin' });
});
