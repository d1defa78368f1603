// The peer pass leaves maps nobody holds a stream for (publisher.ts flushPeers): such a system
// gets its up-to-date map when it asks, and the peers it gained meanwhile still hear of its own
// next change.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NetworkMap, SignedMap } from '../../../src-shared/wire/control.js';
import { parseCidr } from '../../../src-shared/lib/ip/ipv4.js';
import { createLogger } from '../../../src-shared/lib/log.js';
import { MapPublisher } from './publisher.js';
import { parsePolicyFile } from '../policy/policy-file.js';
import { Registry, type LiveSystem } from '../store/registry.js';
import { loadOrCreateSigningKey, verifySignedMap } from '../auth/signing.js';
import { SqliteStore } from '../store/sqlite-store.js';
import { sampleNewSystem } from '../testing/rows.js';

test('a server without a stream is not recomputed for each developer joining; it gets them all when it asks, and its leaving reaches every one', () => {
  const dir = mkdtempSync(join(tmpdir(), 'warren-puboff-'));
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
    const text = JSON.stringify({
      Tags: ['dev', 'srv', 'other'],
      Policies: [{ Name: 'p', Senders: ['tag:dev'], Receivers: ['tag:srv'], Acls: [] }],
    });
    const r = parsePolicyFile(text);
    assert.ok(r.ok);
    registry.applyPolicy(text, r.file, 0);
    let n = 0;
    const add = (tags: string[]): LiveSystem => {
      n++;
      return registry.insert(sampleNewSystem(n, registry.allocate(), { tags }), n);
    };
    const peersIn = (s: LiveSystem): string[] => {
      const signed = JSON.parse(pub.fullMap(s)!.signedJson.toString()) as SignedMap;
      const map = JSON.parse(verifySignedMap(key.publicKey, signed)!.toString()) as NetworkMap;
      return map.peers.map((p) => p.identity).sort();
    };
    const offline = add(['srv']);
    const online = add(['srv']);
    registry.setOnline(online, true, 1);
    pub.flush();
    const devs: LiveSystem[] = [];
    for (let i = 0; i < 5; i++) {
      delivered.length = 0;
      const d = add(['dev']);
      registry.setOnline(d, true, n);
      devs.push(d);
      pub.flush();
      assert.ok(delivered.includes(online.id), `developer ${i}: the server with a stream got its new map`);
      assert.ok(!delivered.includes(offline.id), `developer ${i}: the server without one was left alone`);
    }
    const ids = devs.map((d) => d.identity).sort();
    assert.deepEqual(peersIn(offline), ids, 'asked, it lists every developer');
    // It leaves the policy while still without a stream: every developer that joined while it
    // was left alone must drop it, not only those its last computed map listed.
    delivered.length = 0;
    registry.patch(offline, { tags: ['other'] });
    pub.flush();
    for (const d of devs) {
      assert.ok(delivered.includes(d.id), `${d.identity} got a new map pushed`);
      assert.deepEqual(peersIn(d), [online.identity], `${d.identity} no longer lists it`);
    }
    pub.stop();
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
