import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCoordinatorBench } from './coordinator.js';
import { shardCount } from './agent-shards.js';

test('the bench takes its agent threads from WARREN_BENCH_AGENT_SHARDS and refuses a count it cannot use', () => {
  assert.equal(shardCount('3'), 3);
  assert.ok(shardCount('') >= 1);
  for (const bad of ['0', '17', '1.5', 'two'])
    assert.throws(() => shardCount(bad), /WARREN_BENCH_AGENT_SHARDS must be a whole number from 1 to 16/);
});

test('the coordinator bench split over two agent threads sees every watcher take the change and every peer the joiner', async () => {
  const systems = 40;
  const r = await runCoordinatorBench({ systems, agentThreads: 2, progress: () => {} });
  assert.equal(r.agentThreads, 2);
  // Each thread's watchers are merged: all of them, each once, each as a delta.
  assert.equal(r.received, systems);
  assert.equal(r.changeBytes.deltas, systems);
  assert.ok(r.changeBytes.sent > 0 && r.changeBytes.sent < r.changeBytes.full, JSON.stringify(r.changeBytes));
  assert.ok(r.propagationMs.p50 >= 0 && r.propagationMs.max < 30_000, JSON.stringify(r.propagationMs));
  // Both threads sampled maps in full (about 50 each at most, one in every watchers/50).
  assert.ok(r.verified >= 2 && r.verified <= systems, `verified ${r.verified}`);
  // The join: its peers sit in both threads (agent i in thread i mod 2), and every one has it.
  assert.ok(r.join.peers >= 2, `peers ${r.join.peers}`);
  assert.equal(r.join.reached, r.join.peers);
  assert.ok(Number.isFinite(r.join.joinMs), `joinMs ${r.join.joinMs}`);
  // Per-take CPU is timed only with one agent thread (process.cpuUsage is the whole process's).
  assert.ok(Number.isNaN(r.agentTake.target.p50Us));
  assert.equal(r.refetched, 0);
});
