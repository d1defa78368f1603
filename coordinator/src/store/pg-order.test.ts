// Two coordinators enrolling at once on one PostgreSQL database, each in a process of its own
// (testing/enrol-worker.ts), their batches overlapping (pg-batch.ts: no lock until the tail):
// every change number is taken once, and a reader sees the changes in the order of their
// numbers, which is what a catch-up counts on (pg-notify.ts); each coordinator's memory ends
// holding every system, with its own address, name and identity.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { setTimeout as delay } from 'node:timers/promises';
import { addEnrolKey } from '../testing/rows.js';
import { stopPostgres, storeBackends } from '../testing/store-backends.js';
import type { EnrolJob, EnrolReport } from '../testing/enrol-worker.js';
import pgClient from 'pg';
import { PgBridge } from './pg-bridge.js';
import { SQL } from './pg-sql.js';

after(stopPostgres);

const exec = promisify(execFile);
const pg = storeBackends().find((b) => b.name === 'postgres')!;
const EACH = 96;

interface Sample {
  seq: number;
  ids: string[];
}

test(
  '[postgres] two coordinators enrolling at once in overlapping batches: each change number taken once, seen in order by a reader, and both memories end with every system',
  { skip: pg.skip },
  async () => {
    const h = pg.fresh();
    const reader = new PgBridge(h.where);
    try {
      const store = h.open();
      const { key } = addEnrolKey(store, 1000);
      store.close();
      const worker = fileURLToPath(new URL('../testing/enrol-worker.js', import.meta.url));
      const startAt = Date.now() + 1500;
      const run = async (prefix: string): Promise<EnrolReport> => {
        const job: EnrolJob = { where: h.where, key, count: EACH, batch: 8, prefix, total: 2 * EACH, startAt };
        const { stdout } = await exec(process.execPath, [worker, JSON.stringify(job)], { timeout: 120_000 });
        return JSON.parse(stdout) as EnrolReport;
      };
      let done = false;
      const both = Promise.all([run('a'), run('b')]).finally(() => (done = true));
      // The reader: the change sequence and the systems stored, in one snapshot, while they run.
      const samples: Sample[] = [];
      while (!done) {
        const r = reader.query<{ seq: string | null; ids: string[] }>(
          "SELECT (SELECT value FROM meta WHERE key = 'change_seq') AS seq, ARRAY(SELECT id FROM systems ORDER BY id) AS ids",
        ).rows[0]!;
        samples.push({ seq: Number(r.seq ?? '0'), ids: r.ids });
        await delay(2);
      }
      const [one, two] = await both;
      const stored = reader.query<{ id: string; address: number; name: string; identity: string }>(
        'SELECT id, address, name, identity FROM systems',
      ).rows;
      const seq = Number(
        reader.query<{ value: string }>("SELECT value FROM meta WHERE key = 'change_seq'").rows[0]!.value,
      );

      assert.deepEqual([one!.refused, two!.refused], [[], []], 'no enrolment was refused');
      assert.equal(stored.length, 2 * EACH);
      for (const field of ['address', 'name', 'identity'] as const)
        assert.equal(new Set(stored.map((s) => s[field])).size, 2 * EACH, `distinct ${field}s`);
      const taken = [...one!.changes, ...two!.changes].sort((a, b) => a - b);
      assert.deepEqual(
        taken,
        Array.from({ length: seq }, (_, i) => i + 1),
        'every change number from 1 to the last was taken, each by one coordinator',
      );
      const grew = samples.filter((s) => s.ids.length > 0 && s.ids.length < 2 * EACH).length;
      assert.ok(grew > 0, 'the reader looked while systems were being enrolled');
      for (let i = 1; i < samples.length; i++) {
        const [a, b] = [samples[i - 1]!, samples[i]!];
        assert.ok(b.seq >= a.seq, `the change sequence went back from ${a.seq} to ${b.seq}`);
        if (b.seq === a.seq)
          assert.deepEqual(b.ids, a.ids, `change ${a.seq} seen twice with different systems committed`);
      }
      const all = stored.map((s) => s.id).sort();
      assert.deepEqual([...one!.known].sort(), all, "the first coordinator's memory holds every system");
      assert.deepEqual([...two!.known].sort(), all, "the second coordinator's memory holds every system");
      console.log(
        `# ${samples.length} reader samples, ${grew} while enrolling; changes ${one!.changes.length} + ${two!.changes.length}`,
      );
    } finally {
      reader.close();
      h.dispose();
    }
  },
);

test(
  "[postgres] a bump that waited for another transaction's lock takes the numbers after the ones that transaction committed, never ones read before the wait",
  { skip: pg.skip },
  async () => {
    const h = pg.fresh();
    h.open().close();
    const [one, two] = [new pgClient.Client(h.where), new pgClient.Client(h.where)];
    try {
      await Promise.all([one.connect(), two.connect()]);
      const bump = async (c: pgClient.Client, floor: number): Promise<{ version: number; seq: number }> => {
        const r = (await c.query<{ version: string; seq: string }>(SQL.bumpMapVersion, [floor])).rows[0]!;
        return { version: Number(r.version), seq: Number(r.seq) };
      };
      await one.query('BEGIN');
      const first = await bump(one, 500);
      await two.query('BEGIN');
      let waited = true;
      const later = bump(two, 10).finally(() => (waited = false));
      await delay(200);
      assert.ok(waited, 'the second bump waits for the first transaction');
      await one.query('COMMIT');
      const second = await later;
      await two.query('COMMIT');
      assert.equal(second.seq, first.seq + 1, 'the next change number');
      assert.equal(second.version, first.version + 1, 'a version above the one committed before it');
    } finally {
      await Promise.all([one.end(), two.end()]);
      h.dispose();
    }
  },
);
