import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCidr } from '../../../src-shared/lib/ip/ipv4.js';
import { Registry } from './registry.js';
import { SOFT_VERSIONS } from './soft-writes.js';
import { SqliteStore } from './sqlite-store.js';
import type { Store } from './store.js';

function open(file: string): { store: Store; registry: Registry } {
  const store = new SqliteStore(file);
  const events = { changed: () => {}, revoked: () => {}, removed: () => {} };
  return { store, registry: new Registry(store, parseCidr('100.64.0.0/10')!, 'warren.internal', events, 0) };
}

test('online flags bump the version in memory only; the next change, a flush, or a restart after a crash never goes back', () => {
  const dir = mkdtempSync(join(tmpdir(), 'warren-soft-'));
  const file = join(dir, 'c.db');
  try {
    const a = open(file);
    const s = a.registry.insert(
      {
        id: 'sys-1',
        wgKey: 'wg1',
        machineKey: 'mk1',
        hostname: 'h1',
        name: 'h1',
        address: a.registry.allocate(),
        tags: [],
        dnsNames: [],
        state: 'active',
        ephemeral: false,
        keyId: null,
        createdAt: 1,
        lastSeen: null,
        observedIp: null,
        listenPort: null,
        reported: [],
      },
      1,
    );
    const written = a.store.mapVersion();
    assert.equal(a.registry.version, written);
    a.registry.setOnline(s, true, 500);
    a.registry.setOnline(s, false, 600);
    // Two versions used, nothing written yet (no fsync per flag).
    assert.equal(a.registry.version, written + 2);
    assert.equal(a.store.mapVersion(), written);
    assert.equal(a.store.listSystems()[0]!.lastSeen, null);
    // A change after them is written above them, with the last-seen time they set.
    a.registry.patch(s, { dnsNames: ['x'] });
    assert.equal(a.registry.version, written + 3);
    assert.equal(a.store.mapVersion(), written + 3);
    assert.equal(a.store.listSystems()[0]!.lastSeen, 600);
    // More flags, then a "crash" (the store closes without a flush): the next start is above
    // any version the old process may have sent.
    a.registry.setOnline(s, true, 700);
    const sent = a.registry.version;
    a.store.close();
    const b = open(file);
    assert.ok(b.registry.version > sent, `${b.registry.version} > ${sent}`);
    assert.equal(b.registry.version, written + 3 + SOFT_VERSIONS + 1);
    // flushSoft writes what waits.
    b.registry.setOnline(b.registry.get('sys-1')!, true, 900);
    b.registry.flushSoft();
    assert.equal(b.store.mapVersion(), b.registry.version);
    assert.equal(b.store.listSystems()[0]!.lastSeen, 900);
    b.store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
