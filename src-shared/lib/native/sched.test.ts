// idleOtherThreads: every thread the process has when it is called but the main one ends up in
// SCHED_IDLE, the main thread and threads started later keep the normal class, and a worker
// thread may not call it. The scheduling class is read back from the kernel
// (/proc/self/task/TID/stat, field 41 "policy", proc(5)), not from the addon.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { idleOtherThreads } from './index.js';
import { findAddon } from './load.js';
import { SCHED_IDLE, SCHED_OTHER, threadPolicies } from './testing.js';

test('idleOtherThreads puts the threads the process had in SCHED_IDLE and keeps the main thread and later threads normal', async () => {
  const before = threadPolicies();
  assert.ok(before.size > 1, `expected Node's platform threads, saw ${before.size} thread(s)`);
  const moved = idleOtherThreads();
  const after = threadPolicies();
  assert.equal(after.get(process.pid), SCHED_OTHER, 'the main (JS) thread keeps the normal class');
  const others = [...before.keys()].filter((t) => t !== process.pid && after.has(t));
  assert.ok(moved >= others.length, `moved ${moved}, but ${others.length} other threads are still alive`);
  for (const t of others) assert.equal(after.get(t), SCHED_IDLE, `thread ${t}`);

  // A thread started afterwards (here a worker's) is not touched, and may not call it itself.
  const w = new Worker(
    `const { parentPort } = require('node:worker_threads');
     let error = '';
     try { require(${JSON.stringify(findAddon(dirname(fileURLToPath(import.meta.url))))}).idleOtherThreads(); } catch (e) { error = e.message; }
     parentPort.postMessage({ error });`,
    { eval: true },
  );
  const reply = await new Promise<{ error: string }>((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
  const later = threadPolicies();
  const fresh = [...later.keys()].filter((t) => !before.has(t));
  await w.terminate();
  assert.match(reply.error, /not the main thread/, 'a worker thread cannot idle the main thread');
  assert.ok(fresh.length > 0, 'the worker started a thread');
  for (const t of fresh) assert.equal(later.get(t), SCHED_OTHER, `thread ${t} started later`);
  assert.equal(later.get(process.pid), SCHED_OTHER);
});
