// AutoTags follow the person, on a real Registry and store: a user's groups changing, a policy
// file changing AutoTags, the user disabled and enabled; tags an admin set stay; every change of
// tags is audited with who, which system, old → new and why.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCidr } from '../../../src-shared/lib/ip/ipv4.js';
import { createLogger } from '../../../src-shared/lib/log.js';
import { parsePolicyFile } from '../policy/policy-file.js';
import { AuditLog } from './audit.js';
import { Registry } from './registry.js';
import { SqliteStore } from './sqlite-store.js';
import { usersOf } from './users.js';
import { sampleSystemRow, sampleUserRow } from '../testing/rows.js';
import { retagEveryone, retagUser } from './follow-groups.js';

const policy = (autoTags: object): string =>
  JSON.stringify({
    Tags: ['dev', 'ops', 'laptop'],
    Policies: [{ Name: 'p', Senders: ['tag:dev'], Receivers: ['tag:ops'], Acls: [{ Protocol: 'any' }] }],
    AutoTags: autoTags,
  });

test('AutoTags tags follow groups, AutoTags and disabling; hand-set tags stay; each change audited', () => {
  const dir = mkdtempSync(join(tmpdir(), 'warren-follow-'));
  const store = new SqliteStore(join(dir, 'c.db'));
  try {
    const events = { changed: () => {}, revoked: () => {}, removed: () => {} };
    const registry = new Registry(store, parseCidr('100.64.0.0/10')!, 'warren.internal', events, 0, {});
    const apply = (autoTags: object): void => {
      const r = parsePolicyFile(policy(autoTags));
      assert.ok(r.ok, JSON.stringify(r));
      if (r.ok) registry.applyPolicy(policy(autoTags), r.file, 1);
    };
    apply({ 'group:eng': ['tag:dev'] });
    const sv = {
      registry,
      audit: new AuditLog(store, () => 5, assert.fail),
      log: createLogger(0, { write: () => true }),
    };
    const users = usersOf(registry);
    const alice = users.save(sampleUserRow());
    const s = registry.insert(
      { ...sampleSystemRow({ ownerId: alice.id, tags: ['laptop', 'dev'], autoTags: ['dev'] }) },
      1,
    );
    const cause = { actor: 'coordinator', source: null, why: 'a test' };
    assert.equal(retagUser(sv, alice, cause), 0, 'up to date: nothing changes, nothing is audited');

    // Out of eng: tag:dev goes, the admin's laptop stays.
    const out = users.checked(registry, alice, {
      signIn: 1000,
      groups: ['staff'],
      checkedAt: 2,
      refreshToken: null,
      lapsedAt: null,
    })!;
    assert.equal(retagUser(sv, out, cause), 1);
    assert.deepEqual([s.tags, s.autoTags], [['laptop'], []]);
    assert.deepEqual(store.listSystems()[0]!.tags, ['laptop'], 'stored');

    // The policy file now gives staff tag:ops: every owner's systems follow at once.
    apply({ 'group:eng': ['tag:dev'], 'group:staff': ['tag:ops'] });
    assert.equal(
      retagEveryone(sv, { actor: 'admin', source: '10.0.0.1', why: "the policy file's AutoTags changed" }),
      1,
    );
    assert.deepEqual([s.tags, s.autoTags], [['laptop', 'ops'], ['ops']]);

    // Disabled: no AutoTags tags at all; enabled: back.
    users.setDisabled(registry, out, true);
    retagUser(sv, users.get(alice.id)!, { actor: 'admin', source: null, why: 'user disabled' });
    assert.deepEqual(s.tags, ['laptop']);
    users.setDisabled(registry, users.get(alice.id)!, false);
    retagUser(sv, users.get(alice.id)!, { actor: 'admin', source: null, why: 'user enabled' });
    assert.deepEqual(s.tags, ['laptop', 'ops']);

    const audit = store.listAudit({ action: 'system.autotags' });
    assert.deepEqual(
      audit.map((a) => [a.actor, a.target, a.detail]),
      [
        ['coordinator', s.identity, 'laptop of alice@example.com: tags laptop,dev → laptop; a test'],
        [
          'admin',
          s.identity,
          "laptop of alice@example.com: tags laptop → laptop,ops; the policy file's AutoTags changed",
        ],
        ['admin', s.identity, 'laptop of alice@example.com: tags laptop,ops → laptop; user disabled'],
        ['admin', s.identity, 'laptop of alice@example.com: tags laptop → laptop,ops; user enabled'],
      ],
    );
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
