// The peer pass leaves maps nobody holds a stream for (publisher.ts flushPeers): such a system
// gets its up-to-date map when it asks, and the peers it gained meanwhile still hear of its own
// next change.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LiveSystem } from '../store/registry.js';
import { withPublisherRoom } from '../testing/publisher-room.js';

test('a server without a stream is not recomputed for each developer joining; it gets them all when it asks, and its leaving reaches every one', () => {
  withPublisherRoom(({ registry, pub, delivered, apply, add, mapOf }) => {
    const text = JSON.stringify({
      Tags: ['dev', 'srv', 'other'],
      Policies: [{ Name: 'p', Senders: ['tag:dev'], Receivers: ['tag:srv'], Acls: [] }],
    });
    apply(text);
    const peersIn = (s: LiveSystem): string[] =>
      mapOf(s)
        .peers.map((p) => p.identity)
        .sort();
    const offline = add(['srv'], false);
    const online = add(['srv'], true);
    pub.flush();
    const devs: LiveSystem[] = [];
    for (let i = 0; i < 5; i++) {
      delivered.length = 0;
      const d = add(['dev'], true);
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
  });
});
