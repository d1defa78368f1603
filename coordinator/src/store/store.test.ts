// The store against each backend (SQLite, and PostgreSQL where it is installed), then what only
// SQLite data directories have: old migrations' data, WAL.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS, NewerSchema, migrate } from './migrations.js';
import { SqliteStore } from './sqlite-store.js';
import { isIdentityClash, KeyUsedUp, type Store } from './store.js';
import { stopPostgres, storeBackends, withHandle, type Backend } from '../testing/store-backends.js';
import { sampleSystemRow } from '../testing/rows.js';

after(stopPostgres);

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'warren-store-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const system = sampleSystemRow;

test('migrations run once, are recorded, and a newer schema is refused', () => {
  withDir((dir) => {
    const file = join(dir, 'c.db');
    const db = new Database(file);
    assert.deepEqual(
      migrate(db),
      MIGRATIONS.map((m) => m.id),
    );
    assert.deepEqual(migrate(db), []);
    db.prepare('INSERT INTO migrations (id, name, applied_at) VALUES (?, ?, ?)').run(999, 'future', 0);
    assert.throws(() => migrate(db), NewerSchema);
    db.close();
  });
});

for (const b of storeBackends()) backendTests(b);

test('a data directory from before records the identities its systems hold, revoked ones included, and keeps them', () => {
  withDir((dir) => {
    const file = join(dir, 'c.db');
    const old = new Database(file);
    assert.deepEqual(migrate(old, MIGRATIONS.slice(0, 1)), [1]);
    const insert = old.prepare(`INSERT INTO systems (id, identity, wg_key, machine_key, hostname, name, address, tags,
      dns_names, state, ephemeral, key_id, created_at) VALUES (?, ?, ?, ?, 'h', ?, ?, '[]', '[]', ?, 0, NULL, ?)`);
    // Before, revoking gave an identity back: KVF6B went from a revoked system to a live one.
    insert.run('sys-old', 'KVF6B', 'wg1', 'mk1', 'old', 1, 'revoked', 1);
    insert.run('sys-new', 'KVF6B', 'wg2', 'mk2', 'new', 2, 'active', 2);
    insert.run('sys-gone', 'R2D2X', 'wg3', 'mk3', 'gone', 3, 'revoked', 3);
    insert.run('sys-live', 'G982V', 'wg4', 'mk4', 'live', 4, 'active', 4);
    old.close();

    const s = new SqliteStore(file);
    assert.deepEqual(s.issuedIdentities().sort(), ['G982V', 'KVF6B', 'R2D2X']);
    assert.deepEqual(
      s.listSystems().map((x) => [x.id, x.identity, x.state]),
      [
        ['sys-old', 'KVF6B', 'revoked'],
        ['sys-new', 'KVF6B', 'active'],
        ['sys-gone', 'R2D2X', 'revoked'],
        ['sys-live', 'G982V', 'active'],
      ],
    );
    for (const identity of ['KVF6B', 'R2D2X', 'G982V'])
      assert.throws(
        () =>
          s.insertSystem(
            system({ id: `sys-${identity}`, identity, wgKey: identity, machineKey: identity, address: 9, name: 'n' }),
          ),
        isIdentityClash,
        identity,
      );
    s.close();
  });
});

test('[sqlite] the store uses WAL', () => {
  withDir((dir) => {
    new SqliteStore(join(dir, 'c.db')).close();
    const db = new Database(join(dir, 'c.db'));
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    db.close();
  });
});

const KEY = {
  id: 'k1',
  hash: 'h1',
  tags: ['dev'],
  approval: 'gated' as const,
  usesAllowed: 3,
  uses: 0,
  ephemeral: true,
  createdAt: 1,
  expiresAt: 99,
  revokedAt: null,
};

function backendTests(b: Backend): void {
  const opt = { skip: b.skip };
  test(`[${b.name}] the store keeps everything across a reopen`, opt, () =>
    withHandle(b, (h) => {
      const a = h.open();
      a.transaction(() => {
        a.insertSystem(system());
        a.bumpMapVersion();
        a.bumpMapVersion();
        a.insertPolicy('{"Tags":[]}', 5, a.mapVersion());
        a.insertKey(KEY);
      });
      a.useKey('k1');
      a.updateSystem('sys-1', {
        tags: ['dev', 'ops'],
        lastSeen: 77,
        observedIp: '203.0.113.9',
        reported: ['10.0.0.2:51820'],
      });
      a.close();

      const s = h.open();
      assert.equal(s.mapVersion(), 2);
      assert.deepEqual(s.currentPolicy(), { id: 1, text: '{"Tags":[]}', appliedAt: 5, mapVersion: 2 });
      assert.deepEqual(s.listSystems(), [
        system({ tags: ['dev', 'ops'], lastSeen: 77, observedIp: '203.0.113.9', reported: ['10.0.0.2:51820'] }),
      ]);
      assert.deepEqual(s.listKeys(), [{ ...KEY, uses: 1 }]);
      assert.equal(s.keyByHash('h1')?.uses, 1);
      assert.equal(s.revokeKey('k1', 10), true);
      assert.equal(s.revokeKey('k1', 11), false);
      assert.equal(s.keyById('k1')?.revokedAt, 10);
      assert.equal(s.keyById('nope'), null);
      s.close();
    }),
  );

  test(
    `[${b.name}] address and name are unique among systems that are not revoked; an identity is stored once, ever`,
    opt,
    () => withHandle(b, (h) => uniqueness(b, h.open(), h.sql)),
  );

  test(`[${b.name}] a failed transaction changes nothing`, opt, () =>
    withHandle(b, (h) => {
      const s = h.open();
      assert.throws(
        () =>
          s.transaction(() => {
            s.bumpMapVersion();
            s.insertSystem(system());
            s.insertSystem(system());
          }),
        b.uniqueOn('systems', '\\w+'),
      );
      assert.equal(s.mapVersion(), 0);
      assert.deepEqual(s.listSystems(), []);
      s.close();
    }),
  );

  test(`[${b.name}] a refused insert inside a transaction can be caught and the transaction goes on`, opt, () =>
    withHandle(b, (h) => {
      const s = h.open();
      s.insertSystem(system());
      s.transaction(() => {
        s.bumpMapVersion();
        const again = system({ id: 'sys-2', wgKey: 'wg2', machineKey: 'mk2', address: 2, name: 'two' });
        assert.throws(() => s.insertSystem(again), isIdentityClash);
        s.insertSystem({ ...again, identity: 'HHHHH' });
      });
      assert.equal(s.mapVersion(), 1);
      assert.deepEqual(
        s.listSystems().map((x) => x.identity),
        ['G982V', 'HHHHH'],
      );
      s.close();
    }),
  );

  test(`[${b.name}] two stores on one database count map versions without losing a bump`, opt, () =>
    withHandle(b, (h) => {
      const [x, y] = [h.open(), h.open()];
      const seen = new Set<number>();
      for (let i = 0; i < 20; i++) for (const s of [x, y]) seen.add(s.transaction(() => s.bumpMapVersion()));
      assert.equal(seen.size, 40);
      assert.equal(x.mapVersion(), 40);
      x.close();
      y.close();
    }),
  );

  test(`[${b.name}] a key's uses never pass its allowance, nor count once it is revoked`, opt, () =>
    withHandle(b, (h) => {
      const [x, y] = [h.open(), h.open()];
      x.insertKey({ ...KEY, usesAllowed: 2 });
      x.useKey('k1');
      y.useKey('k1');
      // The last use went to y; x's enrolment, checked against its stale count, rolls back whole.
      assert.throws(() => x.transaction(() => (x.insertSystem(system()), x.useKey('k1'))), KeyUsedUp);
      assert.deepEqual(x.listSystems(), []);
      assert.equal(y.keyById('k1')?.uses, 2);
      y.insertKey({ ...KEY, id: 'k2', hash: 'h2' });
      y.revokeKey('k2', 5);
      assert.throws(() => x.useKey('k2'), KeyUsedUp);
      assert.equal(x.keyById('k2')?.uses, 0);
      x.close();
      y.close();
    }),
  );

  test(`[${b.name}] a database a newer coordinator migrated is refused`, opt, () =>
    withHandle(b, (h) => {
      h.open().close();
      h.sql("INSERT INTO migrations (id, name, applied_at) VALUES (999, 'future', 0)");
      assert.throws(() => h.open(), NewerSchema);
    }),
  );
}

function uniqueness(b: Backend, s: Store, sql: (text: string) => void): void {
  s.insertSystem(system());
  const clash = system({ id: 'sys-2', wgKey: 'wg2', machineKey: 'mk2', address: 2, name: 'other' });
  assert.throws(
    () => s.insertSystem(system({ id: 'sys-4', wgKey: 'wg4', machineKey: 'mk4', identity: 'AAAAA', name: 'other' })),
    (e) => b.uniqueOn('systems', 'address').test(String(e)) && !isIdentityClash(e),
  );
  assert.throws(
    () => s.insertSystem(system({ id: 'sys-5', wgKey: 'wg5', machineKey: 'mk5', identity: 'BBBBB', address: 3 })),
    b.uniqueOn('systems', 'name'),
  );
  assert.throws(() => s.insertSystem(clash), isIdentityClash);
  s.updateSystem('sys-1', { state: 'revoked' });
  // The revoked system gives back its address and name, never its identity.
  assert.throws(() => s.insertSystem(clash), b.uniqueOn('issued_identities', 'identity'));
  s.insertSystem({ ...clash, identity: 'CCCCC' });
  assert.equal(s.listSystems().length, 2);
  // Nor does a deleted (removed) system.
  s.deleteSystem('sys-2');
  assert.throws(
    () =>
      s.insertSystem(
        system({ id: 'sys-6', wgKey: 'wg6', machineKey: 'mk6', identity: 'CCCCC', address: 6, name: 'six' }),
      ),
    isIdentityClash,
  );
  // Refused inserts issued nothing.
  assert.deepEqual(s.issuedIdentities().sort(), ['CCCCC', 'G982V']);
  assert.throws(() => sql("UPDATE systems SET identity = 'DDDDD' WHERE id = 'sys-1'"), /identity never changes/);
  // The WireGuard and machine keys stay unique even after a revoke.
  assert.throws(
    () => s.insertSystem(system({ id: 'sys-3', identity: 'ZZZZZ', address: 9, name: 'x', machineKey: 'mk9' })),
    b.uniqueOn('systems', 'wg_key'),
  );
  s.close();
}
