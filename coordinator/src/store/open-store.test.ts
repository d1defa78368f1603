// Choosing the store: --store URLs that are refused before anything starts, and a PostgreSQL
// that cannot be reached failing the start with a message that hides the password.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { openStore, storeUrlProblem } from './open-store.js';

test('--store takes postgres:// and postgresql:// URLs that name a database, and refuses the rest with what to give', () => {
  assert.equal(storeUrlProblem('postgres://warren@db.internal:5432/warren'), null);
  assert.equal(storeUrlProblem('postgresql://warren:pw@127.0.0.1/warren?host=/run/postgresql'), null);
  assert.match(storeUrlProblem('mysql://root@localhost/warren') ?? '', /only postgres:\/\/ is known/);
  assert.match(storeUrlProblem('postgres://warren@localhost') ?? '', /names no database/);
  assert.match(storeUrlProblem('coordinator.db') ?? '', /is not a URL/);
  assert.match(storeUrlProblem(`postgres://u@h/${'d'.repeat(3000)}`) ?? '', /longer than 2048/);
});

test('a PostgreSQL that refuses the connection fails the start with the URL, without its password', async () => {
  // A port that was free a moment ago: nothing listens there.
  const srv = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => srv.once('listening', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  assert.throws(
    () => openStore('/nonexistent', `postgres://warren:s3cret@127.0.0.1:${port}/warren`),
    (e: Error) =>
      e.message.includes(`cannot use PostgreSQL at postgres://warren:***@127.0.0.1:${port}/warren`) &&
      /ECONNREFUSED/.test(e.message) &&
      !e.message.includes('s3cret'),
  );
});
