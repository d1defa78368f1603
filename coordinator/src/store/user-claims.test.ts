// Token checks with several coordinators on one database (oidc/recheck.ts): a check is claimed
// in the database, so two coordinators racing for the same users' checks each get a disjoint
// share and every user is checked once per interval in all; an outcome for a sign-in that was
// replaced meanwhile is not written. And migration 7 counts an owned system's tags as AutoTags'.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { stopPostgres, storeBackends, withHandle, type Backend, type StoreHandle } from '../testing/store-backends.js';
import { sampleUserRow } from '../testing/rows.js';
import type { ClaimJob } from '../testing/claim-worker.js';
import { MIGRATIONS, migrate } from './migrations.js';
import { migratePg, PG_MIGRATIONS } from './migrations-pg.js';
import { PgBridge } from './pg-bridge.js';

after(stopPostgres);

const exec = promisify(execFile);
const INTERVAL = 300_000;
const USERS = 400;

/** race runs two processes, as two coordinators, claiming the same users' checks at the same
 * instant, in opposite orders so they meet and contend for the same rows; it returns what each
 * got. */
async function race(b: Backend, h: StoreHandle, ids: string[], now: number): Promise<string[][]> {
  const startAt = Date.now() + 1500;
  const worker = fileURLToPath(new URL('../testing/claim-worker.js', import.meta.url));
  const run = async (order: string[]): Promise<string[]> => {
    const job: ClaimJob = {
      backend: b.name,
      where: h.where,
      ids: order,
      signIn: 1000,
      now,
      intervalMs: INTERVAL,
      startAt,
    };
    const { stdout } = await exec(process.execPath, [worker, JSON.stringify(job)], { timeout: 60_000 });
    return JSON.parse(stdout) as string[];
  };
  return Promise.all([run(ids), run([...ids].reverse())]);
}

for (const b of storeBackends()) {
  test(
    `${b.name}: two coordinators claiming the same checks at once get each user's check once`,
    { skip: b.skip },
    async () => {
      const h = b.fresh();
      try {
        const s = h.open();
        const ids = Array.from({ length: USERS }, (_, i) => `usr-${String(i).padStart(4, '0')}`);
        s.transaction(() => ids.forEach((id) => s.saveUser(sampleUserRow({ id, subject: id }), 'sealed')));
        s.close();
        const due = 1000 + INTERVAL;
        // Each round is one interval later, so every check is due again. A round in which one
        // process got through its list before the other started proves nothing about the race,
        // so rounds go on until both processes claimed some (PostgreSQL lets both writers in at
        // once; SQLite has one writer at a time, and its busy handler may let one take all).
        let raced = 0;
        for (let round = 0; round < 6 && raced === 0; round++) {
          const now = due + round * INTERVAL;
          const [one, two] = await race(b, h, ids, now);
          console.log(
            `# ${b.name} round ${round}: of ${USERS} due checks one process claimed ${one!.length}, the other ${two!.length}`,
          );
          assert.equal(one!.filter((id) => two!.includes(id)).length, 0, 'no check was claimed by both');
          assert.deepEqual([...one!, ...two!].sort(), ids, 'every due check was claimed');
          // The claim moved each check one interval on: not due again before then.
          const [early1, early2] = await race(b, h, ids, now + INTERVAL - 1);
          assert.deepEqual([early1!.length, early2!.length], [0, 0]);
          if (one!.length > 0 && two!.length > 0) raced++;
          if (b.name === 'sqlite') break;
        }
        if (b.name === 'postgres') assert.equal(raced, 1, 'in six rounds the processes never contended');
      } finally {
        h.dispose();
      }
    },
  );

  test(
    `${b.name}: a claim says when the check is due; a new sign-in, a disabled or lapsed user change what is claimed`,
    { skip: b.skip },
    () =>
      withHandle(b, (h) => {
        const s = h.open();
        try {
          s.saveUser(sampleUserRow(), 'sealed');
          const due = 1000 + INTERVAL;
          assert.equal(s.claimUserCheck('usr-1', 1000, due - 1, INTERVAL), due, 'not due yet');
          assert.equal(s.claimUserCheck('usr-1', 999, due, INTERVAL), due, 'another sign-in is not claimed');
          assert.equal(s.claimUserCheck('usr-1', 1000, due, INTERVAL), null);
          assert.equal(s.claimUserCheck('usr-1', 1000, due, INTERVAL), due + INTERVAL, 'claimed once');
          // The person signs in again (at another coordinator) while the check asks the provider:
          // the outcome for the old sign-in is not written, and the new one is due on its own.
          s.saveUser(sampleUserRow({ id: 'usr-x', groups: ['ops'], lastAuthAt: 5000 }), 'sealed-2');
          const stale = { signIn: 1000, groups: [], checkedAt: due, refreshToken: null, lapsedAt: due };
          assert.equal(s.userChecked('usr-1', stale), false);
          const [u] = s.listUsers();
          assert.deepEqual([u!.groups, u!.lapsedAt], [['ops'], null]);
          assert.equal(s.userRefreshToken('usr-1'), 'sealed-2');
          assert.equal(s.claimUserCheck('usr-1', 5000, 5000 + INTERVAL, INTERVAL), null);
          assert.ok(s.userChecked('usr-1', { ...stale, signIn: 5000, lapsedAt: 9000 }));
          assert.ok(
            s.claimUserCheck('usr-1', 5000, 10 * INTERVAL, INTERVAL) !== null,
            'a lapsed sign-in is not checked',
          );
          s.saveUser(sampleUserRow({ id: 'usr-y', subject: 'bob', email: 'bob@example.com' }), 'sealed');
          const bob = s.listUsers().find((x) => x.subject === 'bob')!;
          s.setUserDisabled(bob.id, true);
          assert.ok(s.claimUserCheck(bob.id, 1000, 10 * INTERVAL, INTERVAL) !== null, 'a disabled user is not checked');
        } finally {
          s.close();
        }
      }),
  );

  test(
    `${b.name}: migration 7 counts an owned system's tags as AutoTags' and a key-enrolled one's as set by hand`,
    { skip: b.skip },
    () =>
      withHandle(b, (h) => {
        atStep6(b, h);
        const s = h.open();
        try {
          s.saveUser(sampleUserRow(), null);
          const systems = s.listSystems();
          assert.deepEqual(
            systems.map((x) => [x.id, x.tags, x.autoTags]),
            [
              ['sys-a', ['dev'], ['dev']],
              ['sys-k', ['dev'], []],
            ],
          );
          s.updateSystem('sys-k', { autoTags: ['server'], tags: ['dev', 'server'] });
          assert.deepEqual(s.listSystems()[1]!.autoTags, ['server']);
        } finally {
          s.close();
        }
      }),
  );
}

/** atStep6 brings a fresh database to schema step 6 with an owned and a key-enrolled system. */
function atStep6(b: Backend, h: StoreHandle): void {
  const rows = `
    INSERT INTO users (id, issuer, subject, provider, email, groups, created_at, last_auth_at)
      VALUES ('usr-1', 'https://idp.example.com', 'alice-sub', 'corp', 'alice@example.com', '["eng"]', 1000, 1000);
    INSERT INTO systems (id, identity, wg_key, machine_key, hostname, name, address, tags, dns_names, state, ephemeral,
      key_id, created_at, owner_id)
      VALUES ('sys-a', 'G982V', 'wg1', 'mk1', 'a', 'a', 1, '["dev"]', '[]', 'active', 0, NULL, 1000, 'usr-1'),
             ('sys-k', 'H982V', 'wg2', 'mk2', 'k', 'k', 2, '["dev"]', '[]', 'active', 0, 'k1', 1001, NULL);`;
  if (b.name === 'sqlite') {
    const db = new Database(h.where);
    try {
      migrate(db, MIGRATIONS.slice(0, 6));
      db.exec(rows);
    } finally {
      db.close();
    }
    return;
  }
  const db = new PgBridge(h.where);
  try {
    migratePg(db, PG_MIGRATIONS.slice(0, 6));
    db.query(rows);
  } finally {
    db.close();
  }
}
