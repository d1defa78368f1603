// People in maps: user: and group: selectors expand to the systems their users enrolled, a
// disabled user's systems are named by neither, and a policy's via says who put a system there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCidr } from '../../../src-shared/lib/ip/ipv4.js';
import { buildWorld, MapBuilder } from './netmap.js';
import { parsePolicyFile } from '../policy/policy-file.js';
import { Registry } from '../store/registry.js';
import { SqliteStore } from '../store/sqlite-store.js';
import { usersOf, type UserRow } from '../store/users.js';
import { sampleSystemRow, sampleUserRow } from '../testing/rows.js';

const POLICY = JSON.stringify({
  Tags: ['server'],
  Policies: [
    { Name: 'eng', Senders: ['group:eng'], Receivers: ['tag:server'], Acls: [{ Protocol: 'any' }] },
    { Name: 'bob', Senders: ['user:bob@example.com'], Receivers: ['tag:server'], Acls: [{ Protocol: 'icmp' }] },
  ],
});

test('user: and group: name the systems their users enrolled; via says through whom; a disabled user is named by neither', () => {
  const dir = mkdtempSync(join(tmpdir(), 'warren-people-'));
  const store = new SqliteStore(join(dir, 'c.db'));
  try {
    const registry = new Registry(
      store,
      parseCidr('100.64.0.0/10')!,
      'z',
      { changed() {}, revoked() {}, removed() {} },
      0,
    );
    const user = (id: string, email: string, groups: string[]): UserRow =>
      usersOf(registry).save(sampleUserRow({ id, subject: id, email, groups, createdAt: 0, lastAuthAt: 0 }));
    user('u-a', 'alice@example.com', ['eng']);
    user('u-b', 'bob@example.com', []);
    const row = (n: number, over: object) =>
      registry.insert(
        sampleSystemRow({
          id: `s${n}`,
          wgKey: `wg${n}`,
          machineKey: `mk${n}`,
          name: `n${n}`,
          address: 0x64400000 + n,
          tags: [],
          ...over,
        }),
        0,
      );
    const a = row(1, { ownerId: 'u-a' });
    const b = row(2, { ownerId: 'u-b' });
    const s = row(3, { tags: ['server'] });
    const k = row(4, {});
    const r = parsePolicyFile(POLICY);
    assert.ok(r.ok);
    if (!r.ok) return;
    registry.applyPolicy(POLICY, r.file, 1);
    const w = buildWorld(registry);
    assert.deepEqual([...w.policies[0]!.senders], [a.identity]);
    assert.deepEqual([...w.policies[1]!.senders], [b.identity]);
    assert.ok(!w.policies.some((p) => p.senders.has(k.identity)), 'a key-enrolled system has no user');
    const map = JSON.parse(`{${new MapBuilder(registry).content(s).text}`) as {
      policies: { name: string; via?: object }[];
    };
    assert.deepEqual(
      map.policies.map((p) => [p.name, p.via]),
      [
        ['eng', { [a.identity]: 'group:eng (alice@example.com)' }],
        ['bob', { [b.identity]: 'user:bob@example.com' }],
      ],
    );
    // Disabling a user (the admin's command comes with the trust requirement) is a flag on the
    // user; map computation must stop naming the user's systems at once.
    usersOf(registry).get('u-a')!.disabled = true;
    registry.worldEpoch++;
    assert.deepEqual([...buildWorld(registry).policies[0]!.senders], []);
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
