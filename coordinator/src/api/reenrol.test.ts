// An enrolled system enrolling again (coordinator/src/api/enrol.ts reEnrol): another key with
// other tags gives the system that key's tags and spends one use; the same key, or a key with
// the same tags, changes nothing and spends nothing; the approval state stays.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCidr } from '../../../src-shared/lib/ip/ipv4.js';
import { hashKey, newKeyText } from '../auth/enrolment-keys.js';
import { Registry } from '../store/registry.js';
import { SqliteStore } from '../store/sqlite-store.js';
import type { Store } from '../store/store.js';
import { buildEnrolRequest, generateAgentKeys, type AgentKeys } from '../testing/agent-sim.js';
import { enrol } from './enrol.js';

function withRegistry(body: (registry: Registry, store: Store, addKey: (tags: string[]) => string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'warren-reenrol-'));
  const store = new SqliteStore(join(dir, 'c.db'));
  const events = { changed: () => {}, revoked: () => {}, removed: () => {} };
  const registry = new Registry(store, parseCidr('100.64.0.0/10')!, 'warren.internal', events, 0, {});
  const addKey = (tags: string[]): string => {
    const { key, id } = newKeyText();
    store.insertKey({
      id,
      hash: hashKey(key),
      tags,
      approval: 'automatic',
      usesAllowed: 10,
      uses: 0,
      ephemeral: false,
      createdAt: 0,
      expiresAt: Number.MAX_SAFE_INTEGER,
      revokedAt: null,
    });
    return key;
  };
  try {
    body(registry, store, addKey);
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const usesOf = (store: Store, key: string): number => store.keyByHash(hashKey(key))!.uses;
const enrolAs = (registry: Registry, keys: AgentKeys, key: string): ReturnType<typeof enrol> => {
  const now = Date.now();
  return enrol(registry, buildEnrolRequest(keys, key, 'laptop', [], now), null, now);
};

test("re-enrolling with another key whose tags differ applies that key's tags and spends one use", () => {
  withRegistry((registry, store, addKey) => {
    const first = addKey(['dev']);
    const agent = generateAgentKeys();
    const a = enrolAs(registry, agent, first);
    assert.equal(a.created, true);
    assert.deepEqual(a.system.tags, ['dev']);
    const versionBefore = registry.version;

    const second = addKey(['prod', 'web']);
    const b = enrolAs(registry, agent, second);
    assert.equal(b.created, false);
    assert.equal(b.system.id, a.system.id, 'the same system, not a new one');
    assert.deepEqual(b.system.tags, ['prod', 'web']);
    assert.deepEqual(b.retaggedFrom, ['dev']);
    assert.equal(usesOf(store, second), 1, 'the new key spent one use');
    assert.equal(usesOf(store, first), 1);
    assert.ok(registry.version > versionBefore, 'peers get a new map with the new tags');
    assert.equal(b.system.state, 'active', 'the approval state stays');
  });
});

test('re-enrolling with the same key or a key with the same tags changes nothing and spends nothing', () => {
  withRegistry((registry, store, addKey) => {
    const first = addKey(['dev']);
    const agent = generateAgentKeys();
    enrolAs(registry, agent, first);
    const again = enrolAs(registry, agent, first);
    assert.equal(again.retaggedFrom, undefined);
    assert.equal(usesOf(store, first), 1, 'a retry with the same key spends no use');

    const sameTags = addKey(['dev']);
    const r = enrolAs(registry, agent, sameTags);
    assert.equal(r.retaggedFrom, undefined);
    assert.deepEqual(r.system.tags, ['dev']);
    assert.equal(usesOf(store, sameTags), 0, 'a key with the same tags spends no use');
  });
});
