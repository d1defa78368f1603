// The synchronous door to PostgreSQL (pg-bridge.ts) against a throwaway server: a deferred
// statement is not waited for, runs in order with the others, and its failure is what the next
// waited statement throws, so a transaction that deferred a failing statement does not commit;
// and every statement gets its own answer even when the coordinator's thread is woken without
// one, as happens when the worker's wake-up for the previous statement arrives late (it stores
// the answer flag, is preempted, and notifies after the next statement's wait began).
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

test('a deferred statement runs in order, and its failure is thrown by the next query, once', { skip }, () => {
  const db = new PgBridge(pg!.createDatabase(`bridge_${process.pid}`));
  try {
    db.query('CREATE TABLE t (id INTEGER PRIMARY KEY)');
    db.defer('INSERT INTO t (id) VALUES ($1)', [1]);
    db.defer('INSERT INTO t (id) VALUES ($1)', [2]);
    assert.deepEqual(
      db.query<{ id: number }>('SELECT id FROM t ORDER BY id').rows.map((r) => r.id),
      [1, 2],
      'both ran before the query that followed them',
    );

    db.defer('BEGIN');
    db.defer('INSERT INTO t (id) VALUES ($1)', [3]);
    db.defer('INSERT INTO t (id) VALUES ($1)', [1]);
    db.defer('INSERT INTO t (id) VALUES ($1)', [4]);
    assert.throws(
      () => db.query('COMMIT'),
      (e: unknown) => e instanceof PgError && e.code === '23505',
      'the duplicate key, not the COMMIT that PostgreSQL turned into a ROLLBACK',
    );
    db.query('ROLLBACK');
    assert.deepEqual(
      db.query<{ id: number }>('SELECT id FROM t ORDER BY id').rows.map((r) => r.id),
      [1, 2],
      'nothing of the failed transaction was kept',
    );
    assert.equal(db.query('SELECT 1').rowCount, 1, 'the error was reported once');
  } finally {
    db.close();
  }
});

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
