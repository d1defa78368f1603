import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CoordinatorStats } from '../../coordinator/src/api/admin-types.js';
import { busyReason, type Sample } from './coordinator-settle.js';

function stats(
  mapVersion: number,
  passedVersion: number,
  passes: number,
  backlog = { streams: 0, bytes: 0 },
  due = false,
) {
  return {
    mapVersion,
    lastPass: { ms: 1, changed: 0, version: passedVersion, passes, due },
    push: { lastWriteMs: null, frames: 0, backlog },
  } as unknown as CoordinatorStats;
}

const then: Sample = { at: 0, ticks: 1000, passes: 7 };

test('the settle step calls a coordinator quiet only with its passes caught up, nothing unread and under 5% of a core', () => {
  const quiet = { at: 1000, ticks: 1004, passes: 7 };
  assert.equal(busyReason(stats(9, 9, 7), quiet, then), null, '4 ticks in a second: 4%');
  assert.match(busyReason(stats(10, 9, 7, undefined, true), quiet, then)!, /a pass is due \(version 10, passed 9\)/);
  // A catch-up may raise the version past the last pass with no map to change: not due.
  assert.equal(busyReason(stats(10, 9, 7), quiet, then), null);
  assert.match(
    busyReason(stats(9, 9, 7, { streams: 3, bytes: 4096 }), quiet, then)!,
    /streams whose readers have not taken all \(3, 4096 bytes\)/,
  );
  assert.match(busyReason(stats(9, 9, 8), { ...quiet, passes: 8 }, then)!, /passes ended in the last second \(1\)/);
  assert.match(
    busyReason(stats(9, 9, 7), { ...quiet, ticks: 1030 }, then)!,
    /the coordinator was busy \(30% of a core\)/,
  );
  // Without a sample a second old only what is due or unread now counts.
  assert.equal(busyReason(stats(9, 9, 8), { ...quiet, ticks: 1090, passes: 8 }, null), null);
  assert.notEqual(busyReason(stats(10, 9, 7, undefined, true), quiet, null), null);
});
