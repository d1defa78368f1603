import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CoordinatorSummary } from '../../../src-shared/wire/status.js';
import { sampleCoordinator } from '../api/testing.js';
import { coordinatorProblems, UNREACHABLE_PROBLEM_MS } from './link-problems.js';

const NOW = 1_800_000_000_000;
const X = { approveAs: 'DG0RM', profilePath: '/etc/warren/warren.json', now: NOW };

const summary = (over: Partial<CoordinatorSummary>): CoordinatorSummary => sampleCoordinator(NOW, over);

test('a connected coordinator is no problem', () => {
  assert.deepEqual(coordinatorProblems(summary({}), X), []);
});

test('pending approval names the command that approves this system', () => {
  const [p] = coordinatorProblems(summary({ condition: 'pending-approval', mapVersion: 0 }), X);
  assert.match(p ?? '', /waiting for an admin to approve this system: .*`warren-coordinator systems approve DG0RM`/);
});

test('unreachable becomes a problem only after the bound, and says which map stays in force', () => {
  const fresh = summary({ condition: 'unreachable', since: NOW - UNREACHABLE_PROBLEM_MS + 1, detail: 'ECONNREFUSED' });
  assert.deepEqual(coordinatorProblems(fresh, X), []);
  const old = summary({ condition: 'unreachable', since: NOW - 65_000, detail: 'ECONNREFUSED' });
  const [p] = coordinatorProblems(old, X);
  assert.match(
    p ?? '',
    /https:\/\/c\.example:8443 has not answered for 65 s \(ECONNREFUSED\); map version 42 stays in force/,
  );
});

test('a bad map signature says the key does not match the pinned one and how to enrol again', () => {
  const [p] = coordinatorProblems(summary({ condition: 'bad-signature', mapVersion: 0 }), X);
  assert.match(p ?? '', /key does not match the pinned key \(Coordinator\.PublicKey in \/etc\/warren\/warren\.json\)/);
  assert.match(p ?? '', /this system has no map and no peers/);
  assert.match(p ?? '', /warren enrol --coordinator-key KEY/);
});

test('rejected, revoked and a replaced PrivateKey each say what to do', () => {
  const rejected = coordinatorProblems(summary({ condition: 'rejected', detail: 'no such system' }), X)[0] ?? '';
  assert.match(rejected, /refuses this system's machine key or system id \(no such system\).*Enrol again/);
  const revoked = coordinatorProblems(summary({ condition: 'revoked', detail: 'gone' }), X)[0] ?? '';
  assert.match(revoked, /revoked this system.*every tunnel is down.*Enrol again/);
  const key =
    coordinatorProblems(summary({ condition: 'key-mismatch', detail: 'the coordinator holds A' }), X)[0] ?? '';
  assert.match(key, /PrivateKey is not the key this system enrolled with \(the coordinator holds A\)/);
  assert.match(key, /Put the enrolled PrivateKey back in \/etc\/warren\/warren\.json, or enrol again/);
});
