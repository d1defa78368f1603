// The pass over everyone (a policy file) leaves the maps of systems without a watch stream
// (everyone-pass.ts): such a system gets the new map when it asks, and the peers the new
// policy gave it still hear of its own next change. The maps the pass does compute are the
// ones a fresh builder renders, though each peer's JSON kept its head across the policy file
// (netmap.ts revHead) and maps listing the same peers share their joined bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NetworkMap, SignedMap } from '../../../src-shared/wire/control.js';
import { parseCidr } from '../../../src-shared/lib/ip/ipv4.js';
import { createLogger } from '../../../src-shared/lib/log.js';
import { MapPublisher } from './publisher.js';
import { MapBuilder } from './netmap.js';
import { parsePolicyFile } from '../policy/policy-file.js';
import { Registry, type LiveSystem } from '../store/registry.js';
import { loadOrCreateSigningKey, verifySignedMap } from '../auth/signing.js';
import { SqliteStore } from '../store/sqlite-store.js';
import { sampleNewSystem } from '../testing/rows.js';

function policy(devsReach: string, record: string): string {
  return JSON.stringify({
    Tags: ['dev', 'srv', 'ops'],
    Policies: [{ Name: 'p', Senders: ['tag:dev'], Receivers: [devsReach], Acls: [] }],
    Dns: { Records: [{ Name: record, Targets: ['tag:srv'] }] },
  });
}

test('a policy pass leaves systems without a stream until they ask, and their new peers still hear of their next change', () => {
  const dir = mkdtempSync(join(tmpdir(), 'warren-everyone-'));
  const store = new SqliteStore(join(dir, 'c.db'));
  try {
    const { key } = loadOrCreateSigningKey(join(dir, 'signing.key'));
    let pub: MapPublisher | null = null;
    const registry = new Registry(
      store,
      parseCidr('100.64.0.0/10')!,
      'warren.internal',
      { changed: (x) => pub?.changed(x), revoked: () => {}, removed: () => {} },
      0,
    );
    const delivered: string[] = [];
    pub = new MapPublisher(registry, key, (s) => delivered.push(s.id), createLogger(0, { write: () => {} }));
    // The systems set online stand for those with a watch stream (server.ts asks the hub).
    pub.hasStream = (id) => registry.get(id)?.online ?? false;
    const apply = (text: string): void => {
      const r = parsePolicyFile(text);
      assert.ok(r.ok);
      registry.applyPolicy(text, r.file, 0);
    };
    apply(policy('tag:srv', 'db'));
    let n = 0;
    const add = (tags: string[], online: boolean): LiveSystem => {
      n++;
      const s = registry.insert(sampleNewSystem(n, registry.allocate(), { tags }), n);
      if (online) registry.setOnline(s, true, n);
      return s;
    };
    const mapOf = (s: LiveSystem): NetworkMap => {
      const signed = JSON.parse(pub.fullMap(s)!.signedJson.toString()) as SignedMap;
      return JSON.parse(verifySignedMap(key.publicKey, signed)!.toString()) as NetworkMap;
    };
    const devs = [add(['dev'], true), add(['dev'], true), add(['dev'], true)];
    const srv = add(['srv'], true);
    const ops = add(['ops'], false); // no stream: not a peer of anyone yet
    pub.flush();
    const before = pub.published(ops.id)?.version ?? 0;
    // The new policy makes every developer a peer of ops, and renames the servers' record.
    delivered.length = 0;
    apply(policy('tag:ops', 'database'));
    pub.flush();
    assert.deepEqual(delivered.sort(), [...devs.map((d) => d.id), srv.id].sort(), 'every watched map, and only those');
    assert.equal(pub.published(ops.id)?.version ?? 0, before, 'the unwatched map was not computed');
    const asked = mapOf(ops);
    assert.deepEqual(
      asked.peers.map((p) => p.identity).sort(),
      devs.map((d) => d.identity).sort(),
      'asked, it has the new policy',
    );
    // Its own change (a new tag that leaves the policy) must reach every developer now listing it.
    delivered.length = 0;
    registry.patch(ops, { tags: ['srv'] });
    pub.flush();
    for (const d of devs) {
      assert.ok(delivered.includes(d.id), `${d.identity} got a new map`);
      const peers = mapOf(d).peers.map((p) => p.identity);
      assert.ok(!peers.includes(ops.identity), `${d.identity} no longer lists it`);
    }
    // Each map the pass made is the one a builder with nothing cached renders, and its digest is
    // the SHA-256 of that text, though its peers' bytes were shared (prefixParts).
    apply(policy('tag:srv', 'db2'));
    pub.flush();
    const fresh = new MapBuilder(registry);
    for (const s of [...devs, srv]) {
      const { protocol: _p, version: _v, generatedAt: _g, ...m } = mapOf(s);
      const text = fresh.content(s).text;
      assert.deepEqual(m, JSON.parse(`{${text}`), `${s.identity}: the same map`);
      assert.ok(
        createHash('sha256').update(text, 'utf8').digest().equals(pub.published(s.id)!.digest),
        `${s.identity}: its digest is the rendered text's`,
      );
    }
    pub.stop();
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
