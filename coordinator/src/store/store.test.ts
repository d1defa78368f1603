import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS, NewerSchema, migrate } from './migrations.js';
import { isIdentityClash, Store, type SystemRow } from './store.js';

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'warren-store-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function system(over: Partial<SystemRow> = {}): SystemRow {
  return {
    id: 'sys-1',
    identity: 'G982V',
    wgKey: 'wg1',
    machineKey: 'mk1',
    hostname: 'Laptop',
    name: 'laptop',
    address: 0x64400001,
    tags: ['dev'],
    dnsNames: ['db'],
    state: 'active',
    ephemeral: false,
    keyId: 'k1',
    createdAt: 1000,
    lastSeen: null,
    observedIp: null,
    listenPort: null,
    reported: [],
    ...over,
  };
}

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

test('the store uses WAL and keeps everything across a reopen', () => {
  withDir((dir) => {
    const file = join(dir, 'c.db');
    const a = new Store(file);
    a.transaction(() => {
      a.insertSystem(system());
      a.bumpMapVersion();
      a.bumpMapVersion();
      a.insertPolicy('{"Tags":[]}', 5, a.mapVersion());
      a.insertKey({
        id: 'k1',
        hash: 'h1',
        tags: ['dev'],
        approval: 'gated',
        usesAllowed: 3,
        uses: 0,
        ephemeral: true,
        createdAt: 1,
        expiresAt: 99,
        revokedAt: null,
      });
    });
    a.useKey('k1');
    a.updateSystem('sys-1', {
      tags: ['dev', 'ops'],
      lastSeen: 77,
      observedIp: '203.0.113.9',
      reported: ['10.0.0.2:51820'],
    });
    a.close();

    const b = new Store(file);
    const db = new Database(file);
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    db.close();
    assert.equal(b.mapVersion(), 2);
    assert.deepEqual(b.currentPolicy(), { id: 1, text: '{"Tags":[]}', appliedAt: 5, mapVersion: 2 });
    assert.deepEqual(b.listSystems(), [
      system({ tags: ['dev', 'ops'], lastSeen: 77, observedIp: '203.0.113.9', reported: ['10.0.0.2:51820'] }),
    ]);
    const k = b.keyByHash('h1');
    assert.equal(k?.uses, 1);
    assert.equal(k?.ephemeral, true);
    assert.equal(b.revokeKey('k1', 10), true);
    assert.equal(b.revokeKey('k1', 11), false);
    assert.equal(b.keyById('k1')?.revokedAt, 10);
    b.close();
  });
});

test('address and name are unique among systems that are not revoked; an identity is stored once, ever', () => {
  withDir((dir) => {
    const s = new Store(join(dir, 'c.db'));
    s.insertSystem(system());
    const clash = system({ id: 'sys-2', wgKey: 'wg2', machineKey: 'mk2', address: 2, name: 'other' });
    assert.throws(
      () => s.insertSystem(system({ id: 'sys-4', wgKey: 'wg4', machineKey: 'mk4', identity: 'AAAAA', name: 'other' })),
      (e) => /UNIQUE constraint failed: systems.address/.test(String(e)) && !isIdentityClash(e),
    );
    assert.throws(
      () => s.insertSystem(system({ id: 'sys-5', wgKey: 'wg5', machineKey: 'mk5', identity: 'BBBBB', address: 3 })),
      /UNIQUE constraint failed: systems.name/,
    );
    assert.throws(() => s.insertSystem(clash), isIdentityClash);
    s.updateSystem('sys-1', { state: 'revoked' });
    // The revoked system gives back its address and name, never its identity.
    assert.throws(() => s.insertSystem(clash), /UNIQUE constraint failed: issued_identities.identity/);
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
    const raw = new Database(join(dir, 'c.db'));
    assert.throws(
      () => raw.prepare("UPDATE systems SET identity = 'DDDDD' WHERE id = 'sys-1'").run(),
      /identity never changes/,
    );
    raw.close();
    // The WireGuard and machine keys stay unique even after a revoke.
    assert.throws(
      () => s.insertSystem(system({ id: 'sys-3', identity: 'ZZZZZ', address: 9, name: 'x', machineKey: 'mk9' })),
      /UNIQUE constraint failed: systems.wg_key/,
    );
    s.close();
  });
});

test('a failed transaction changes nothing', () => {
  withDir((dir) => {
    const s = new Store(join(dir, 'c.db'));
    assert.throws(
      () =>
        s.transaction(() => {
          s.bumpMapVersion();
          s.insertSystem(system());
          s.insertSystem(system());
        }),
      /UNIQUE constraint failed: systems\./,
    );
    assert.equal(s.mapVersion(), 0);
    assert.deepEqual(s.listSystems(), []);
    s.close();
  });
});

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

    const s = new Store(file);
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
