// Two coordinators' stores on one PostgreSQL database, in one process: a change committed
// through one reaches the other's registry through its catch-up (ChangeFollower), a NOTIFY
// reaches the other's LISTEN connection within a second, and an enrolment through a registry
// that has not caught up yet still gets an address and a name nobody holds. A catch-up reads
// only the systems written or removed since the last look, and misses none that a transaction
// still open at that look commits later.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCidr } from '../../../src-shared/lib/ip/ipv4.js';
import { createLogger } from '../../../src-shared/lib/log.js';
import { parsePolicyFile } from '../policy/policy-file.js';
import { postgresUnavailable, startPostgres, type PgCluster } from '../testing/postgres.js';
import { sampleSystemRow, sampleUserRow } from '../testing/rows.js';
import { catchUp, ChangeFollower, ChangeListener } from './pg-notify.js';
import { PostgresStore } from './postgres-store.js';
import { Registry, type LiveSystem } from './registry.js';
import { checkSharedSecrets, requireSharedFiles } from './shared-secrets.js';
import { usersOf } from './users.js';

const skip = postgresUnavailable() ?? false;
let pg: PgCluster | null = null;
let databases = 0;
before(() => {
  if (!skip) pg = startPostgres();
});
after(() => pg?.stop());

const NET = parseCidr('100.64.0.0/24')!;

interface Side {
  store: PostgresStore;
  registry: Registry;
  follower: ChangeFollower;
  heard: (string | null)[];
  revoked: string[];
}

function side(url: string): Side {
  const store = new PostgresStore(url);
  const heard: (string | null)[] = [];
  const revoked: string[] = [];
  const events = {
    changed: (s: LiveSystem | null) => heard.push(s?.id ?? null),
    revoked: (s: LiveSystem) => revoked.push(s.id),
    removed: () => {},
  };
  const registry = new Registry(store, NET, 'warren.internal', events, 0);
  return {
    store,
    registry,
    heard,
    revoked,
    follower: new ChangeFollower(store, (changes) => catchUp(registry, 1, changes)),
  };
}

function twoSides(): { a: Side; b: Side; url: string; close(): void } {
  const url = pg!.createDatabase(`warren_multi_${process.pid}_${++databases}`);
  const a = side(url);
  const b = side(url);
  return { a, b, url, close: () => [a, b].forEach((s) => s.store.close()) };
}

function row(n: number, address: number, name = `h${n}`): Omit<ReturnType<typeof sampleSystemRow>, 'identity'> {
  const { identity: _, ...r } = sampleSystemRow({ id: `sys-${n}`, wgKey: `wg${n}`, machineKey: `mk${n}`, address });
  return { ...r, hostname: name, name };
}

test(
  'a system enrolled, a policy applied and a revocation through one store reach the other registry by its catch-up',
  { skip },
  () => {
    const { a, b, close } = twoSides();
    try {
      assert.equal(b.follower.sync(), false, 'nothing changed yet');
      const s = a.registry.insert(row(1, NET.addr + 5), 2);
      assert.equal(b.registry.get(s.id), undefined, 'not before the catch-up');
      assert.equal(b.follower.sync(), true);
      assert.equal(b.registry.get(s.id)?.identity, s.identity);
      assert.ok(b.heard.includes(s.id), "the other side's listeners (its publisher) heard of the system");
      assert.ok(b.registry.version > a.registry.version - 1, 'its maps are not older than the change');

      const text = JSON.stringify({ Tags: ['dev'], Policies: [] });
      const parsed = parsePolicyFile(text, NET, a.registry.network6);
      assert.ok(parsed.ok);
      a.registry.applyPolicy(text, parsed.file, 3);
      b.heard.length = 0;
      assert.equal(b.follower.sync(), true);
      assert.equal(b.registry.appliedPolicy?.text, text);
      assert.ok(b.heard.includes(null), 'a policy changes every map');

      a.registry.revoke(a.registry.get(s.id)!);
      b.follower.sync();
      assert.equal(b.registry.get(s.id)?.state, 'revoked');
      assert.deepEqual(b.revoked, [s.id], 'its watch streams are closed there too');

      // A change through b itself is no reason for b to reload, and a is told of it.
      b.heard.length = 0;
      b.registry.patch(b.registry.get(s.id)!, { tags: ['x'] });
      const heardOwn = b.heard.length;
      assert.equal(b.follower.sync(), false);
      assert.equal(b.heard.length, heardOwn);
      assert.equal(a.follower.sync(), true);
      assert.deepEqual(a.registry.get(s.id)?.tags, ['x']);
    } finally {
      close();
    }
  },
);

test(
  "a change committed through one store is notified to the other's LISTEN connection within a second",
  { skip },
  async () => {
    const { a, url, close } = twoSides();
    const log = createLogger(0, { write: () => {} });
    let heardAt = 0;
    const listener = new ChangeListener(url, () => (heardAt ||= Date.now()), log, 60_000);
    try {
      await listener.start();
      await new Promise((r) => setTimeout(r, 100));
      heardAt = 0;
      const sent = Date.now();
      a.registry.insert(row(1, NET.addr + 5), 2);
      while (heardAt === 0 && Date.now() - sent < 3000) await new Promise((r) => setTimeout(r, 10));
      assert.ok(heardAt > 0, 'the notification arrived');
      assert.ok(heardAt - sent < 1000, `within a second (${heardAt - sent} ms)`);
    } finally {
      await listener.stop();
      close();
    }
  },
);

/** reads counts calls of the store's whole-table reads of users and of the policy's text. */
function reads(store: PostgresStore): { users: number; policy: number } {
  const n = { users: 0, policy: 0 };
  const listUsers = store.listUsers.bind(store);
  const currentPolicy = store.currentPolicy.bind(store);
  store.listUsers = () => (n.users++, listUsers());
  store.currentPolicy = () => (n.policy++, currentPolicy());
  return n;
}

test(
  "a catch-up reads the users again only after one was written, and the policy's text only after another was applied",
  { skip },
  () => {
    const { a, b, close } = twoSides();
    try {
      usersOf(b.registry); // loaded once, as a running coordinator has at its start
      const n = reads(b.store);
      a.registry.insert(row(1, NET.addr + 5), 2);
      assert.equal(b.follower.sync(), true);
      assert.deepEqual(n, { users: 0, policy: 0 }, 'a system enrolled elsewhere: neither is read');

      const user = usersOf(a.registry).save(sampleUserRow());
      a.registry.insert({ ...row(2, NET.addr + 6), ownerId: user.id }, 2);
      assert.equal(b.follower.sync(), true);
      assert.deepEqual(n, { users: 1, policy: 0 }, 'a sign-in elsewhere: the users are read');
      assert.equal(usersOf(b.registry).get(user.id)?.email, 'alice@example.com');

      const text = JSON.stringify({ Tags: ['dev'], Policies: [] });
      const parsed = parsePolicyFile(text, NET, a.registry.network6);
      assert.ok(parsed.ok);
      a.registry.applyPolicy(text, parsed.file, 3);
      assert.equal(b.follower.sync(), true);
      assert.deepEqual(n, { users: 1, policy: 1 }, 'a policy applied elsewhere: its text is read');
      assert.equal(b.registry.appliedPolicy?.text, text);
    } finally {
      close();
    }
  },
);

test(
  "a sign-in and a user disabled through one coordinator reach the other's users and maps by its catch-up",
  { skip },
  () => {
    const { a, b, close } = twoSides();
    try {
      const user = usersOf(a.registry).save(sampleUserRow());
      a.registry.insert({ ...row(1, NET.addr + 5), ownerId: user.id }, 2);
      assert.equal(b.follower.sync(), true);
      assert.equal(usersOf(b.registry).get(user.id)?.email, 'alice@example.com', 'the sign-in is known at B');

      const epoch = b.registry.worldEpoch;
      b.heard.length = 0;
      usersOf(a.registry).setDisabled(a.registry, user, true);
      assert.equal(b.follower.sync(), true, "A's disabling is a change B did not make");
      assert.equal(usersOf(b.registry).get(user.id)?.disabled, true, 'B knows the user is disabled');
      assert.ok(b.registry.worldEpoch > epoch, "B's maps are computed again");
      assert.ok(b.heard.includes(null), "B's publisher heard of it");
      assert.equal(b.follower.sync(), false, 'and then nothing more');
    } finally {
      close();
    }
  },
);

test(
  'a catch-up reads only the rows changed since the last look, sees removals, and misses no transaction open at the look',
  { skip },
  () => {
    const { a, b, url, close } = twoSides();
    const c = new PostgresStore(url);
    try {
      const made = Array.from({ length: 10 }, (_, i) => a.registry.insert(row(i + 1, NET.addr + 10 + i), 2));
      assert.equal(b.follower.sync(), true);
      assert.equal(b.registry.all().length, 10);

      let m = a.store.changeMark();
      a.registry.patch(a.registry.get(made[3]!.id)!, { tags: ['x'] });
      assert.deepEqual(
        a.store.systemsChangedSince(m.mark).rows.map((r) => r.id),
        [made[3]!.id],
        'one row written since the mark, not the table',
      );
      assert.equal(b.follower.sync(), true);
      assert.deepEqual(b.registry.get(made[3]!.id)?.tags, ['x']);

      m = a.store.changeMark();
      a.registry.remove(a.registry.get(made[5]!.id)!);
      const since = a.store.systemsChangedSince(m.mark);
      assert.deepEqual({ rows: since.rows, removed: since.removed }, { rows: [], removed: [made[5]!.id] });
      assert.equal(b.follower.sync(), true);
      assert.equal(b.registry.get(made[5]!.id), undefined, 'the removal reached b');
      assert.equal(b.registry.all().length, 9);

      // A transaction open while b looks, committed after: b's next look still finds its row.
      c.transaction(() => {
        c.updateSystem(made[7]!.id, { hostname: 'late' });
        c.bumpMapVersion();
        assert.equal(b.follower.sync(), false, 'nothing committed yet');
      });
      assert.equal(b.follower.sync(), true);
      assert.equal(b.registry.get(made[7]!.id)?.hostname, 'late');
    } finally {
      c.close();
      close();
    }
  },
);

test('an enrolment through a registry that has not caught up gets an address and a name nobody holds', { skip }, () => {
  const { a, b, close } = twoSides();
  try {
    const first = a.registry.insert(row(1, NET.addr + 7, 'laptop'), 2);
    // b does not know of it, and is given the same address and name by its caller.
    const second = b.registry.insert(row(2, NET.addr + 7, 'laptop'), 2);
    assert.notEqual(second.address, first.address);
    assert.notEqual(second.name, first.name);
    assert.notEqual(second.identity, first.identity);
    const stored = a.store.listSystems();
    assert.equal(new Set(stored.map((s) => s.address)).size, 2);
    assert.equal(new Set(stored.map((s) => s.name)).size, 2);
  } finally {
    close();
  }
});

test(
  "the first coordinator's secrets are recorded; another with other files, or none, is refused with the fix",
  { skip },
  () => {
    const url = pg!.createDatabase(`warren_multi_${process.pid}_${++databases}`);
    const store = new PostgresStore(url);
    const dir = mkdtempSync(join(tmpdir(), 'warren-shared-'));
    try {
      const nat = (t: string): void => writeFileSync(join(dir, 'nat.key'), t);
      for (const f of ['signing.key', 'admin.token']) writeFileSync(join(dir, f), 'x');
      nat('secret-1');
      requireSharedFiles(store, dir);
      checkSharedSecrets(store, dir, 'PUB1', 'token-1');
      checkSharedSecrets(store, dir, 'PUB1', 'token-1');
      assert.throws(
        () => checkSharedSecrets(store, dir, 'PUB2', 'token-1'),
        /signing\.key \(public key PUB2\) in .* is not what the other coordinators on this database use \(their signing key is PUB1\); every coordinator on one database shares signing\.key, admin\.token, nat\.key: copy/,
      );
      assert.throws(() => checkSharedSecrets(store, dir, 'PUB1', 'token-2'), /admin\.token in .* is not what/);
      nat('secret-2');
      assert.throws(() => checkSharedSecrets(store, dir, 'PUB1', 'token-1'), /nat\.key in .* is not what/);
      rmSync(join(dir, 'signing.key'));
      assert.throws(
        () => requireSharedFiles(store, dir),
        /has no signing\.key but this database is served already; .*copy/,
      );
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
