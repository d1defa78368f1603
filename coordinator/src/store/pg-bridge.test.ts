// The synchronous PostgreSQL door against a real server: every statement gets its own answer
// even when the coordinator's thread is woken without one, as happens when the worker's wake-up
// for the previous statement arrives late (the worker stores the answer flag, is preempted, and
// notifies after the next statement's wait began).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { postgresUnavailable, startPostgres, type PgCluster } from '../testing/postgres.js';
import { PgBridge, PgError } from './pg-bridge.js';

const skip = postgresUnavailable() ?? false;
let pg: PgCluster | null = null;
before(() => {
  if (!skip) pg = startPostgres();
});
after(() => pg?.stop());

/** stray starts a thread that wakes whoever waits on the word, without storing anything, as a
 * late notify does, until the returned stop is called. */
async function stray(word: Int32Array): Promise<() => Promise<void>> {
  const stopFlag = new Int32Array(new SharedArrayBuffer(4));
  const w = new Worker(
    `const { workerData: { word, stop } } = require('node:worker_threads');
     require('node:worker_threads').parentPort.postMessage('up');
     while (Atomics.load(stop, 0) === 0) Atomics.notify(word, 0);`,
    { eval: true, workerData: { word, stop: stopFlag } },
  );
  await new Promise((resolve) => w.once('message', resolve));
  return async () => {
    Atomics.store(stopFlag, 0, 1);
    await new Promise((resolve) => w.once('exit', resolve));
  };
}

test('each statement gets its own answer while stray wake-ups hit the waiting thread', { skip }, async () => {
  const bridge = new PgBridge(pg!.createDatabase('bridge_wakeups'));
  // The word the worker answers through is private; the test reaches it to play the late notify.
  const word = (bridge as unknown as { signal: Int32Array }).signal;
  const stop = await stray(word);
  try {
    for (let n = 0; n < 500; n++) {
      const r = bridge.query<{ n: number }>('SELECT $1::int AS n', [n]);
      assert.deepEqual(r.rows, [{ n }], `statement ${n} got another's answer`);
    }
    assert.throws(
      () => bridge.query('SELECT * FROM no_such_table'),
      (e: unknown) => e instanceof PgError && e.code === '42P01',
    );
    assert.deepEqual(bridge.query('SELECT 7 AS n').rows, [{ n: 7 }]);
  } finally {
    await stop();
    bridge.close();
  }
});
