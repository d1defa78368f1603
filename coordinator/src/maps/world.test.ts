// A World built after the last one (MapBuilder.world) reuses its Members across policy files
// (world-members.ts) and, when the policies name the same systems, its index of who is named
// and with it the peer classes. Whatever it reuses, every map must be the one a builder with
// nothing cached renders from a World built from scratch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildWorld, MapBuilder } from './netmap.js';
import { withPublisherRoom, type PublisherRoom } from '../testing/publisher-room.js';

function policy(ports: string, devsReach: string[], record = 'db'): string {
  return JSON.stringify({
    Tags: ['dev', 'srv', 'ops', 'web'],
    Policies: [
      { Name: 'devs', Senders: ['tag:dev'], Receivers: devsReach, Acls: [{ Protocol: 'tcp', Ports: ports }] },
      { Name: 'mesh', Senders: ['tag:ops'], Receivers: ['tag:ops', 'tag:srv'], Acls: [] },
      { Name: 'off', Senders: ['tag:web'], Receivers: ['tag:dev'], Acls: [], Enabled: false },
    ],
    Dns: { Records: [{ Name: record, Targets: ['tag:srv'] }] },
  });
}

/** sameAsFresh checks every active system's map from the long-lived builder against one from a
 * new builder, and the World's resolution against buildWorld's from scratch. */
function sameAsFresh(room: PublisherRoom, kept: MapBuilder, step: string): void {
  const fresh = new MapBuilder(room.registry);
  const active = room.registry.active();
  assert.ok(active.length > 0, `${step}: systems to compare`);
  for (const s of active) {
    const a = kept.content(s);
    const b = fresh.content(s);
    assert.equal(a.text, b.text, `${step}: the map of ${s.identity}`);
    assert.ok(a.selfDigest.equals(b.selfDigest), `${step}: the self digest of ${s.identity}`);
  }
  const w = kept.world();
  const scratch = buildWorld(room.registry);
  assert.deepEqual(
    w.policies.map((p) => [[...p.senders], [...p.receivers], p.sendersJson, p.receiversJson, p.tailJson]),
    scratch.policies.map((p) => [[...p.senders], [...p.receivers], p.sendersJson, p.receiversJson, p.tailJson]),
    `${step}: the policies resolved`,
  );
  assert.deepEqual([...w.involved].sort(), [...scratch.involved].sort(), `${step}: who each policy names`);
  assert.deepEqual([...w.recordNames].sort(), [...scratch.recordNames].sort(), `${step}: DNS records`);
}

test('the World kept across enrolments, tags, policy edits and removals gives the maps a rebuild gives', () => {
  withPublisherRoom((room) => {
    const { registry, apply, add } = room;
    apply(policy('22', ['tag:srv']));
    const kept = new MapBuilder(registry);
    const devs = [add(['dev'], true), add(['dev'], false)];
    const srv = add(['srv'], true);
    const ops = [add(['ops'], true), add(['ops'], true)];
    sameAsFresh(room, kept, 'enrolled');

    // A policy edit that changes only what the policies allow: the Members, the index of who is
    // named and the peer lists are all kept.
    let before = kept.world();
    const listBefore = kept.content(devs[0]!).identities;
    apply(policy('22,443', ['tag:srv']));
    let after = kept.world();
    assert.notEqual(after, before, 'a new World for the new file');
    assert.equal(after.members, before.members, 'the Members kept across the policy file');
    assert.equal(after.involved, before.involved, 'who is named kept: the same members on each side');
    assert.equal(kept.content(devs[0]!).identities, listBefore, 'the peer list kept as it was');
    sameAsFresh(room, kept, 'ports changed');

    // A policy edit that names other systems: the Members are kept, who is named is not.
    before = after;
    apply(policy('22,443', ['tag:srv', 'tag:ops'], 'database'));
    after = kept.world();
    assert.equal(after.members, before.members, 'the Members kept');
    assert.notEqual(after.involved, before.involved, 'who is named computed again');
    sameAsFresh(room, kept, 'receivers changed');

    // Changes of the systems build new Members.
    before = after;
    const web = add(['web'], true);
    assert.notEqual(kept.world().members, before.members, 'an enrolment builds new Members');
    sameAsFresh(room, kept, 'one more enrolled');
    registry.patch(web, { tags: ['dev'] });
    sameAsFresh(room, kept, 're-tagged into a policy');
    registry.patch(devs[1]!, { tags: ['ops'] });
    apply(policy('443', ['tag:srv', 'tag:ops'], 'database'));
    sameAsFresh(room, kept, 're-tagged, then a policy edit');
    registry.remove(ops[0]!);
    sameAsFresh(room, kept, 'removed');
    registry.revoke(srv);
    apply(policy('443', ['tag:srv']));
    sameAsFresh(room, kept, 'revoked, then a policy edit');
    registry.remove(devs[0]!);
    registry.patch(ops[1]!, { tags: ['srv'] });
    sameAsFresh(room, kept, 'removed and re-tagged');
  });
});
