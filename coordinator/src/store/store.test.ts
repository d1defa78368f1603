import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS, NewerSchema, migrate } from './migrations.js';
import { Store, type SystemRow } from './store.js';

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

test('identity, address and name are unique among systems that are not revoked', () => {
  withDir((dir) => {
    const s = new Store(join(dir, 'c.db'));
    s.insertSystem(system());
    const clash = system({ id: 'sys-2', wgKey: 'wg2', machineKey: 'mk2', address: 2, name: 'other' });
    assert.throws(
      () => s.insertSystem(system({ id: 'sys-4', wgKey: 'wg4', machineKey: 'mk4', identity: 'AAAAA', name: 'other' })),
      /UNIQUE constraint failed: systems.address/,
    );
    assert.throws(
      () => s.insertSystem(system({ id: 'sys-5', wgKey: 'wg5', machineKey: 'mk5', identity: 'BBBBB', address: 3 })),
      /UNIQUE constraint failed: systems.name/,
    );
    assert.throws(() => s.insertSystem(clash), /UNIQUE constraint failed: systems.identity/);
    s.updateSystem('sys-1', { state: 'revoked' });
    s.insertSystem(clash);
    assert.equal(s.listSystems().length, 2);
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
