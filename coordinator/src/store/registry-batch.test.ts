// Group commit (registry-batch.ts) on both stores: enrolments queued together commit in one
// transaction and stay exactly as race-free as one transaction each; a batch that fails as a
// whole is run again one request at a time.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { hashKey } from '../auth/enrolment-keys.js';
import { addEnrolKey } from '../testing/rows.js';
import { ControlError } from '../http/errors.js';
import { enrol } from '../api/enrol.js';
import { buildEnrolRequest, generateAgentKeys } from '../testing/agent-sim.js';
import { onKeyedPostgresPair, quietRegistry } from '../testing/keyed-pair.js';
import { stopPostgres, storeBackends, type Backend } from '../testing/store-backends.js';
import { catchUp, ChangeFollower } from './pg-notify.js';
import { KEY_TRUST_MS } from './pg-batch.js';
import type { Store } from './store.js';

after(stopPostgres);

/** countCommits counts the store's outermost transactions from now on. */
function countCommits(store: Store): { readonly n: number } {
  const inner = store.transaction.bind(store);
  let depth = 0;
  const c = { n: 0 };
  store.transaction = <T>(fn: () => T): T => {
    if (depth++ === 0) c.n++;
    try {
      return inner(fn);
    } finally {
      depth--;
    }
  };
  return c;
}

for (const b of storeBackends()) batchTests(b);

function batchTests(b: Backend): void {
  test(
    `[${b.name}] 40 enrolments at once with a key of 30 uses commit together: 30 systems with their own addresses, names and identities, 10 refused, 30 uses spent`,
    { skip: b.skip },
    async () => {
      const h = b.fresh();
      const store = h.open();
      try {
        const r = quietRegistry(store);
        const k = addEnrolKey(store, 30);
        const commits = countCommits(store);
        const now = Date.now();
        const keys = Array.from({ length: 40 }, () => generateAgentKeys());
        // The same agent twice in the batch: its second request is a repeat, not a second system.
        keys.push(keys[0]!);
        const results = await Promise.allSettled(
          keys.map((a, i) =>
            r.batched(() => enrol(r, buildEnrolRequest(a, k.key, `host ${i % 3}`, [], now), null, now)),
          ),
        );
        assert.equal(commits.n, 1, 'one transaction for the whole batch');
        const made = results.flatMap((x) => (x.status === 'fulfilled' && x.value.created ? [x.value.system] : []));
        const refused = results.flatMap((x) => (x.status === 'rejected' ? [x.reason as ControlError] : []));
        assert.equal(made.length, 30);
        assert.equal(refused.length, 10);
        for (const e of refused) assert.equal(e.code, 'key-used-up');
        const repeat = results[40]!;
        assert.ok(repeat.status === 'fulfilled' && !repeat.value.created, 'the repeated agent is answered as a repeat');
        for (const field of ['identity', 'address', 'name'] as const)
          assert.equal(new Set(made.map((s) => s[field])).size, 30, `distinct ${field}s`);
        const stored = store.listSystems();
        assert.deepEqual(stored.map((s) => s.id).sort(), made.map((s) => s.id).sort());
        assert.equal(store.keyById(k.id)!.uses, 30);
      } finally {
        store.close();
        h.dispose();
      }
    },
  );

  test(
    `[${b.name}] a batch in which one request fails with a store error is rolled back and each request runs alone: the others commit, the failed one leaves nothing`,
    { skip: b.skip },
    async () => {
      const h = b.fresh();
      const store = h.open();
      try {
        const r = quietRegistry(store);
        const k = addEnrolKey(store, 10);
        const commits = countCommits(store);
        const now = Date.now();
        const agents = Array.from({ length: 4 }, () => generateAgentKeys());
        const run = (i: number): Promise<string> =>
          r.batched(() => {
            const s = enrol(r, buildEnrolRequest(agents[i]!, k.key, `h${i}`, [], now), null, now).system;
            // After its system is written: as a database error would, in the middle of the batch.
            if (i === 2) throw new Error('the disk went away');
            return s.id;
          });
        const results = await Promise.allSettled([0, 1, 2, 3].map(run));
        assert.deepEqual(
          results.map((x) => x.status),
          ['fulfilled', 'fulfilled', 'rejected', 'fulfilled'],
        );
        const failed = results[2] as PromiseRejectedResult;
        assert.match(String((failed.reason as Error).message), /the disk went away/);
        // The batch, then one transaction per request.
        assert.equal(commits.n, 1 + 4);
        const ok = results.flatMap((x) => (x.status === 'fulfilled' ? [x.value] : []));
        assert.deepEqual(
          store
            .listSystems()
            .map((s) => s.id)
            .sort(),
          [...ok].sort(),
        );
        assert.equal(r.all().length, 3, 'memory holds what the store holds');
        assert.equal(r.byWireguardKey(agents[2]!.wireguardPublicKey), undefined);
        assert.equal(store.keyById(k.id)!.uses, 3);
      } finally {
        store.close();
        h.dispose();
      }
    },
  );
}

const pg = storeBackends().find((b) => b.name === 'postgres')!;

test(
  '[postgres] a batch of 32 enrolments waits for the database twice (the key, then its writes with COMMIT), not 4 times per enrolment; the next batch once',
  { skip: pg.skip },
  () =>
    onKeyedPostgresPair(100, async ({ store, r, k, now }) => {
      const agents = Array.from({ length: 32 }, () => generateAgentKeys());
      const before = store.statements();
      const results = await Promise.all(
        agents.map((a, i) => r.batched(() => enrol(r, buildEnrolRequest(a, k.key, `h${i}`, [], now), null, now))),
      );
      const waited = store.statements().waited - before.waited;
      assert.equal(results.filter((x) => x.created).length, 32);
      assert.equal(waited, 2);
      assert.equal(store.keyById(k.id)!.uses, 32, 'every use counted');
      assert.equal(store.listSystems().length, 32);
      assert.equal(r.version, store.mapVersion(), 'the version counted in the batch is the one stored');
      // The next batch, within KEY_TRUST_MS, answers the key from the row the first one read.
      const more = Array.from({ length: 8 }, () => generateAgentKeys());
      const again = store.statements().waited;
      await Promise.all(
        more.map((a, i) => r.batched(() => enrol(r, buildEnrolRequest(a, k.key, `m${i}`, [], now), null, now))),
      );
      if (Date.now() - now < KEY_TRUST_MS)
        assert.equal(store.statements().waited - again, 1, 'its writes with COMMIT only');
      assert.equal(store.keyById(k.id)!.uses, 40);
    }),
);

test(
  '[postgres] a key revoked by another coordinator after a batch read it fails the next batch that trusted the row; run again one by one, each request is refused as revoked',
  { skip: pg.skip },
  () =>
    onKeyedPostgresPair(100, async ({ store, other, r, k, now }) => {
      const enrolSome = (n: number, prefix: string): Promise<PromiseSettledResult<unknown>[]> =>
        Promise.allSettled(
          Array.from({ length: n }, (_, i) =>
            r.batched(() =>
              enrol(r, buildEnrolRequest(generateAgentKeys(), k.key, `${prefix}${i}`, [], now), null, now),
            ),
          ),
        );
      assert.deepEqual(
        (await enrolSome(2, 'a')).map((x) => x.status),
        ['fulfilled', 'fulfilled'],
      );
      assert.equal(other.revokeKey(k.id, now), true);
      const commits = countCommits(store);
      const refused = await enrolSome(3, 'b');
      assert.deepEqual(
        refused.map((x) => (x.status === 'rejected' ? (x.reason as ControlError).code : 'enrolled')),
        ['key-revoked', 'key-revoked', 'key-revoked'],
      );
      // Past KEY_TRUST_MS (a slow machine) the batch read the key afresh and refused at once.
      if (Date.now() - now < KEY_TRUST_MS)
        assert.equal(commits.n, 1 + 3, 'the batch, then one transaction per request');
      assert.equal(store.listSystems().length, 2);
      assert.equal(r.all().length, 2, 'memory holds what the store holds');
      assert.equal(store.keyById(k.id)!.uses, 2);
    }),
);

test(
  '[postgres] a repeat enrolment answered from a kept key row is refused once another coordinator revoked the key, as with a fresh read',
  { skip: pg.skip },
  () =>
    onKeyedPostgresPair(100, async ({ store, other, r, k, now }) => {
      const agent = generateAgentKeys();
      const req = buildEnrolRequest(agent, k.key, 'again', [], now);
      const first = await r.batched(() => enrol(r, req, null, now));
      assert.equal(first.created, true);
      assert.equal(other.revokeKey(k.id, now), true);
      const repeat = await r
        .batched(() => enrol(r, req, null, now))
        .then(
          () => 'answered',
          (e: unknown) => (e as ControlError).code,
        );
      assert.equal(repeat, 'key-revoked');
      assert.equal(store.keyById(k.id)!.uses, 1, 'a repeat counts no use');
    }),
);

test(
  '[postgres] a key used up by another coordinator while a batch counted its uses fails that COMMIT; run again one by one, the requests past the allowance are refused alone',
  { skip: pg.skip },
  () =>
    onKeyedPostgresPair(5, async ({ store, other, r, k, now }) => {
      const commits = countCommits(store);
      const agents = Array.from({ length: 4 }, () => generateAgentKeys());
      let raced = false;
      const run = (i: number): Promise<boolean> =>
        r.batched(() => {
          if (!raced) {
            // Once this batch has looked the key up (5 uses left, which it remembers), another
            // coordinator takes 3, committed at once: 2 are left for the batch's 4.
            raced = true;
            store.keyByHash(hashKey(k.key));
            for (let n = 0; n < 3; n++) other.useKey(k.id);
          }
          return enrol(r, buildEnrolRequest(agents[i]!, k.key, `h${i}`, [], now), null, now).created;
        });
      const results = await Promise.allSettled([0, 1, 2, 3].map(run));
      assert.deepEqual(
        results.map((x) => (x.status === 'fulfilled' ? 'ok' : (x.reason as ControlError).code)),
        ['ok', 'ok', 'key-used-up', 'key-used-up'],
      );
      assert.equal(commits.n, 1 + 4, 'the batch, then one transaction per request');
      assert.equal(store.keyById(k.id)!.uses, 5, 'never past the allowance');
      assert.equal(store.listSystems().length, 2);
      assert.equal(r.all().length, 2, 'memory holds what the store holds');
    }),
);

test(
  '[postgres] a batch that sent its rows without waiting, behind another coordinator that took the same name, fails at COMMIT and runs again one by one: every system gets a name nobody holds',
  { skip: pg.skip },
  () =>
    onKeyedPostgresPair(10, async ({ store, other, r, k, now }) => {
      const o = quietRegistry(other);
      // The other coordinator enrols "h1" first; this one has not caught up, so its memory
      // offers the name again.
      const taken = enrol(o, buildEnrolRequest(generateAgentKeys(), k.key, 'h1', [], now), null, now).system;
      const commits = countCommits(store);
      const agents = Array.from({ length: 3 }, () => generateAgentKeys());
      const made = await Promise.all(
        agents.map((a, i) => r.batched(() => enrol(r, buildEnrolRequest(a, k.key, `h${i}`, [], now), null, now))),
      );
      assert.equal(commits.n, 1 + 3, 'the batch, then one transaction per request');
      const names = [taken, ...made.map((x) => x.system)].map((s) => s.name);
      assert.equal(new Set(names).size, 4, `four distinct names (${names.join(' ')})`);
      const addresses = [taken, ...made.map((x) => x.system)].map((s) => s.address);
      assert.equal(new Set(addresses).size, 4, 'four distinct addresses');
      assert.equal(store.listSystems().length, 4);
      assert.equal(store.keyById(k.id)!.uses, 4);
    }),
);

test(
  '[postgres] batches of two coordinators overlap: one begun first commits after the other, takes the next change number and a higher version, and the other, caught up in between, still reads its system',
  { skip: pg.skip },
  () =>
    onKeyedPostgresPair(10, async ({ store, other, r, k, now }) => {
      // Addresses of its own: in this one thread, an insert that met the batch's uncommitted
      // address would wait for a COMMIT that cannot come.
      const o = quietRegistry(other, '100.64.0.64/26');
      const follower = new ChangeFollower(other, (changes) => catchUp(o, now, changes));
      let theirs: { seq: number; version: number; id: string } | null = null;
      const mine = await r.batched(() => {
        const s = enrol(r, buildEnrolRequest(generateAgentKeys(), k.key, 'first', [], now), null, now).system;
        // This batch's row is written (the statement after it was answered) but not committed;
        // the other coordinator enrols and commits meanwhile, without waiting for this batch.
        store.getMeta('network6');
        const o1 = enrol(o, buildEnrolRequest(generateAgentKeys(), k.key, 'second', [], now), null, now).system;
        theirs = { seq: [...other.ownChanges].at(-1)!, version: other.mapVersion(), id: o1.id };
        assert.equal(follower.sync(), false, 'nothing of this batch is visible yet');
        return s;
      });
      const t = theirs as unknown as { seq: number; version: number; id: string };
      const seq = [...store.ownChanges].at(-1)!;
      assert.equal(seq, t.seq + 1, 'committed second, it took the next change number');
      assert.ok(store.mapVersion() > t.version, `the stored version ${store.mapVersion()} is above ${t.version}`);
      assert.ok(r.version <= store.mapVersion(), 'no version handed out is above the stored one');
      assert.equal(follower.sync(), true, 'the catch-up sees a change by another coordinator');
      assert.equal(o.get(mine.id)?.address, mine.address, 'and reads the system of the batch that began first');
      assert.equal(store.keyById(k.id)!.uses, 2);
    }),
);
