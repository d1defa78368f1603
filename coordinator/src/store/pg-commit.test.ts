// A PostgreSQL transaction is acknowledged only when its COMMIT committed (postgres-store.ts
// transaction, rollback, commitBatch). A batch sends its rows without waiting, so a row that
// fails aborts the transaction and its error is answered to the next statement that is waited
// for: a savepoint's rollback (a request refused later in the batch), or a statement whose
// caller goes on. After that the COMMIT answers ROLLBACK, without an error. Neither may leave a
// request answered as enrolled, nor its system in memory, when the database does not hold it.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ControlError } from '../http/errors.js';
import { enrol } from '../api/enrol.js';
import { buildEnrolRequest, generateAgentKeys } from '../testing/agent-sim.js';
import { onKeyedPostgresPair, quietRegistry } from '../testing/keyed-pair.js';
import { sampleSystemRow } from '../testing/rows.js';
import { onTwoPostgresStores, stopPostgres, storeBackends } from '../testing/store-backends.js';

after(stopPostgres);

const pg = storeBackends().find((b) => b.name === 'postgres')!;

test(
  '[postgres] a batch whose row clashed with another coordinator, then refused a request, is not acknowledged: run again one by one, every enrolled system is in the database and memory holds only what it holds',
  { skip: pg.skip },
  () =>
    onKeyedPostgresPair(2, async ({ store, other, r, k, now }) => {
      // The other coordinator takes the first address and the name "h0" and one of the key's
      // two uses; this one has not caught up, so its memory offers both again.
      const taken = enrol(
        quietRegistry(other),
        buildEnrolRequest(generateAgentKeys(), k.key, 'h0', [], now),
        null,
        now,
      );
      // The batch's first request sends its row (refused by the database, which aborts the
      // transaction) and takes the last use; the second is refused as key-used-up in memory,
      // and the rollback of its savepoint is the first statement waited for.
      const results = await Promise.allSettled(
        [0, 1].map((i) =>
          r.batched(() => enrol(r, buildEnrolRequest(generateAgentKeys(), k.key, `h${i}`, [], now), null, now)),
        ),
      );
      assert.deepEqual(
        results.map((x) => (x.status === 'fulfilled' ? 'enrolled' : (x.reason as ControlError).code)),
        ['enrolled', 'key-used-up'],
      );
      const mine = (results[0] as PromiseFulfilledResult<ReturnType<typeof enrol>>).value.system;
      const stored = store.listSystems();
      assert.deepEqual(stored.map((s) => s.id).sort(), [taken.system.id, mine.id].sort(), 'the database holds both');
      assert.notEqual(mine.name, 'h0', 'another name was drawn');
      assert.notEqual(mine.address, taken.system.address, 'another address was drawn');
      assert.deepEqual(
        r
          .all()
          .map((s) => s.id)
          .sort(),
        stored.map((s) => s.id).sort(),
        'memory holds what the database holds',
      );
      assert.equal(store.keyById(k.id)!.uses, 2);
    }),
);

test(
  '[postgres] a transaction whose COMMIT PostgreSQL answers with ROLLBACK (a deferred row failed, its error taken by a statement whose caller went on) throws: nothing is answered as committed',
  { skip: pg.skip },
  () =>
    onTwoPostgresStores((store, other) => {
      other.insertSystem(sampleSystemRow({ id: 'sys-1' }));
      assert.throws(
        () =>
          store.transaction(() => {
            store.beginBatch();
            // Sent without waiting: the primary key refuses it and aborts the transaction.
            store.insertSystem(sampleSystemRow({ id: 'sys-1', identity: 'HHHHH', name: 'b', address: 2 }));
            assert.throws(() => store.keyById('nothing'), /duplicate key/);
          }),
        /did not commit the transaction \(it answered ROLLBACK\)/,
      );
      assert.deepEqual(
        store.listSystems().map((s) => s.identity),
        [sampleSystemRow().identity],
      );
    }),
);
