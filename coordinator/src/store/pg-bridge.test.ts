// The synchronous door to PostgreSQL (pg-bridge.ts) against a throwaway server: a deferred
// statement is not waited for, runs in order with the others, and its failure is what the next
// waited statement throws, so a transaction that deferred a failing statement does not commit.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
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
