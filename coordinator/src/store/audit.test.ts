// The audit log: what the store keeps and returns, pruning, and the bound on refused attempts.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { AUDIT_LIMITS, AuditLog } from './audit.js';
import { AUDIT_TEXT_MAX, type AuditRecord } from './audit-rows.js';
import type { Store } from './store.js';
import { stopPostgres, storeBackends, withHandle, type Backend } from '../testing/store-backends.js';

after(stopPostgres);

function withStoreOf(b: Backend, fn: (store: Store) => void): void {
  withHandle(b, (h) => {
    const store = h.open();
    try {
      fn(store);
    } finally {
      store.close();
    }
  });
}

function entry(over: Partial<AuditRecord> = {}): AuditRecord {
  return {
    at: 1000,
    actor: 'admin',
    source: '127.0.0.1',
    action: 'keys.create',
    target: 'k0123456789ab',
    outcome: 'ok',
    reason: null,
    detail: null,
    ...over,
  };
}

function clock(start: number): { now: () => number; set: (t: number) => void } {
  let t = start;
  return { now: () => t, set: (v) => (t = v) };
}

const refused = (source: string | null, action = 'enrol') => ({ actor: 'anonymous', source, action, target: '-' });

for (const b of storeBackends()) auditTests(b);

function auditTests(b: Backend): void {
  const opt = { skip: b.skip };
  test(
    `[${b.name}] the store returns audit entries oldest first and filters by time, actor, action prefix, outcome and limit`,
    opt,
    () => {
      withStoreOf(b, (store) => {
        store.appendAudit(entry({ at: 1000 }));
        store.appendAudit(entry({ at: 2000, action: 'keys.revoke' }));
        store.appendAudit(
          entry({ at: 3000, actor: 'anonymous', action: 'enrol', outcome: 'refused', reason: 'key-invalid' }),
        );
        store.appendAudit(entry({ at: 4000, action: 'keysx.other', target: 'x' }));
        store.appendAudit(entry({ at: 5000, actor: 'G982V', action: 'enrol', source: null, detail: 'laptop, active' }));

        const all = store.listAudit({});
        assert.deepEqual(
          all.map((e) => e.at),
          [1000, 2000, 3000, 4000, 5000],
        );
        assert.deepEqual(all[4], {
          ...entry({ at: 5000, actor: 'G982V', action: 'enrol', source: null, detail: 'laptop, active' }),
          id: all[4]!.id,
        });
        assert.deepEqual(
          store.listAudit({ since: 3000 }).map((e) => e.at),
          [3000, 4000, 5000],
        );
        assert.deepEqual(
          store.listAudit({ actor: 'admin' }).map((e) => e.at),
          [1000, 2000, 4000],
        );
        // "keys" is keys.create and keys.revoke, not keysx.other.
        assert.deepEqual(
          store.listAudit({ action: 'keys' }).map((e) => e.action),
          ['keys.create', 'keys.revoke'],
        );
        assert.deepEqual(
          store.listAudit({ action: 'keys.revoke' }).map((e) => e.at),
          [2000],
        );
        assert.deepEqual(
          store.listAudit({ refused: true }).map((e) => [e.actor, e.reason]),
          [['anonymous', 'key-invalid']],
        );
        assert.deepEqual(
          store.listAudit({ limit: 2 }).map((e) => e.at),
          [4000, 5000],
          'the limit keeps the newest',
        );
        assert.deepEqual(
          store.listAudit({ actor: 'admin', since: 1500, limit: 1 }).map((e) => e.at),
          [4000],
        );
      });
    },
  );

  test(`[${b.name}] the store cuts long audit text fields to AUDIT_TEXT_MAX characters`, opt, () => {
    withStoreOf(b, (store) => {
      const long = 'x'.repeat(AUDIT_TEXT_MAX * 5);
      store.appendAudit(entry({ actor: long, source: long, action: long, target: long, reason: long, detail: long }));
      const [e] = store.listAudit({});
      for (const v of [e!.actor, e!.source, e!.action, e!.target, e!.reason, e!.detail])
        assert.equal(v!.length, AUDIT_TEXT_MAX);
    });
  });

  test(`[${b.name}] pruning drops entries past the age limit and all but the newest maxRows`, opt, () => {
    withStoreOf(b, (store) => {
      for (let i = 1; i <= 50; i++) store.appendAudit(entry({ at: i * 1000, target: `t${i}` }));
      assert.equal(store.pruneAudit(1000, 11_000), 10, 'the ten entries older than 11 s go');
      assert.deepEqual(
        store.listAudit({ limit: 1 }).map((e) => e.target),
        ['t50'],
      );
      assert.equal(store.listAudit({ limit: 1000 })[0]!.target, 't11');
      assert.equal(store.pruneAudit(15, 0), 25, 'then all but the newest 15');
      const left = store.listAudit({ limit: 1000 });
      assert.equal(left.length, 15);
      assert.equal(left[0]!.target, 't36');
      assert.equal(store.pruneAudit(15, 0), 0, 'nothing more to prune');
    });
  });

  test(
    `[${b.name}] refused attempts are written up to the per-source limit per minute, the rest summarised as "and K more"`,
    opt,
    () => {
      withStoreOf(b, (store) => {
        const c = clock(60_000 * 100);
        const errors: Error[] = [];
        const log = new AuditLog(store, c.now, (e) => errors.push(e));
        for (let i = 0; i < 50; i++) log.refused(refused('192.0.2.1', i % 2 ? 'agent.map' : 'enrol'), 'key-invalid');
        for (let i = 0; i < 5; i++) log.refused(refused('192.0.2.2'), 'key-invalid');
        // An admin action is never held back, whatever the refusals did.
        log.ok({ actor: 'admin', source: '192.0.2.1', action: 'keys.create', target: 'k1' });
        assert.equal(store.listAudit({ limit: 1000, refused: true }).length, AUDIT_LIMITS.refusedPerSource + 5);
        assert.equal(store.listAudit({ actor: 'admin' }).length, 1);

        c.set(60_000 * 101 + 5);
        log.tick();
        const summaries = store.listAudit({ limit: 1000 }).filter((e) => e.reason === 'summary');
        assert.equal(summaries.length, 1, 'only the source over its limit gets a summary');
        const s = summaries[0]!;
        assert.equal(s.source, '192.0.2.1');
        assert.equal(s.action, 'enrol,agent.map', 'the actions held back, in the order first seen');
        assert.equal(s.outcome, 'refused');
        assert.match(s.detail!, /^and 30 more refused from this source in the minute from 1970-01-01T01:40:00\.000Z$/);

        // The new minute starts with a fresh allowance.
        for (let i = 0; i < 3; i++) log.refused(refused('192.0.2.1'), 'bad-signature');
        log.flush();
        assert.equal(store.listAudit({ limit: 1000, since: 60_000 * 101 }).length, 4);
        assert.deepEqual(errors, []);
      });
    },
  );

  test(
    `[${b.name}] refused attempts from many sources are bounded per minute in all, and untracked sources are counted`,
    opt,
    () => {
      withStoreOf(b, (store) => {
        const c = clock(0);
        const limits = { ...AUDIT_LIMITS, refusedPerSource: 3, refusedPerWindow: 10, sources: 6, summaries: 2 };
        const log = new AuditLog(store, c.now, (e) => assert.fail(e), limits);
        // Eight sources of five attempts: six are tracked, two are over the tracking limit.
        for (let s = 1; s <= 8; s++) for (let i = 0; i < 5; i++) log.refused(refused(`2001:db8::${s}`), 'unauthorized');
        log.flush();
        assert.equal(store.listAudit({ limit: 1000 }).length, 10, 'at most refusedPerWindow are written');
        log.stop();
        const summaries = store.listAudit({ limit: 1000 }).filter((e) => e.reason === 'summary');
        // 40 attempts, 10 written: 30 summarised in two per-source lines and one for the rest.
        assert.equal(summaries.length, 3);
        const held = summaries.map((e) => Number(/^and (\d+) more/.exec(e.detail!)![1]));
        assert.equal(
          held.reduce((a, b) => a + b, 0),
          30,
        );
        assert.equal(summaries[2]!.source, null);
        assert.match(summaries[2]!.detail!, /from other sources/);
      });
    },
  );

  test(
    `[${b.name}] refused attempts wait in a queue until flushed, and an admin action writes them first, in order`,
    opt,
    () => {
      withStoreOf(b, (store) => {
        const c = clock(0);
        const log = new AuditLog(store, c.now, (e) => assert.fail(e));
        log.refused(refused('192.0.2.9'), 'key-invalid');
        c.set(10);
        log.refused(refused('192.0.2.9'), 'key-expired');
        assert.equal(store.listAudit({}).length, 0, 'queued, not yet written');
        c.set(20);
        log.ok({ actor: 'admin', source: null, action: 'policy.apply', target: 'policy' });
        assert.deepEqual(
          store.listAudit({}).map((e) => [e.at, e.reason ?? e.outcome]),
          [
            [0, 'key-invalid'],
            [10, 'key-expired'],
            [20, 'ok'],
          ],
        );
        log.refused(refused('192.0.2.9'), 'key-invalid');
        log.stop();
        assert.equal(store.listAudit({}).length, 4, 'stop writes what is queued');
      });
    },
  );

  test(`[${b.name}] a failed audit write is reported and does not throw`, opt, () => {
    withHandle(b, (h) => {
      const store = h.open();
      store.close();
      const errors: Error[] = [];
      const log = new AuditLog(
        store,
        () => 0,
        (e) => errors.push(e),
      );
      log.ok({ actor: 'admin', source: null, action: 'keys.create', target: 'k1' });
      log.refused(refused(null), 'key-invalid');
      log.tick();
      assert.equal(errors.length, 3);
    });
  });
}
