// The pass over everyone (a policy file) leaves the maps of systems without a watch stream
// (everyone-pass.ts): such a system gets the new map when it asks, and the peers the new
// policy gave it still hear of its own next change. The maps the pass does compute are the
// ones a fresh builder renders, though each peer's JSON kept its head across the policy file
// (netmap.ts revHead) and maps listing the same peers share their joined bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { MapBuilder } from './netmap.js';
import { withPublisherRoom } from '../testing/publisher-room.js';

function policy(devsReach: string, record: string): string {
  return JSON.stringify({
    Tags: ['dev', 'srv', 'ops'],
    Policies: [{ Name: 'p', Senders: ['tag:dev'], Receivers: [devsReach], Acls: [] }],
    Dns: { Records: [{ Name: record, Targets: ['tag:srv'] }] },
  });
}

test('a policy pass leaves systems without a stream until they ask, and their new peers still hear of their next change', () => {
  withPublisherRoom(({ registry, pub, delivered, apply, add, mapOf }) => {
    apply(policy('tag:srv', 'db'));
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
        createHash('sha256').update(text, 'utf8').digest('hex') === pub.published(s.id)!.digest,
        `${s.identity}: its digest is the rendered text's`,
      );
    }
  });
});
