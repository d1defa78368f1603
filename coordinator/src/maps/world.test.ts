// A World built after the last one (MapBuilder.world) reuses its Members across policy files
// (world-members.ts) and, when the policies name the same systems, its index of who is named
// and with it the peer classes. Whatever it reuses, every map must be the one a builder with
// nothing cached renders from a World built from scratch, and each system's class (the
// policies naming it and on which side) the one a World from scratch gives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildWorld, MapBuilder } from './netmap.js';
import { withPublisherRoom, type PublisherRoom } from '../testing/publisher-room.js';
import { classKey } from './peer-classes.js';

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

/** Seen is each system's policies text and the digest that stands for it (policy-texts.ts),
 * as of the last step checked. */
type Seen = Map<string, { policies: string; digest: Buffer | null }>;

/** sameAsFresh checks every active system's map from the long-lived builder against one from a
 * new builder, and the World's resolution against buildWorld's from scratch. With seen, it also
 * checks that a system's policies digest stayed the same since the last step exactly when its
 * policies text did (the delta sends the policies when the digest moved). */
function sameAsFresh(room: PublisherRoom, kept: MapBuilder, step: string, seen: Seen = new Map()): void {
  const fresh = new MapBuilder(room.registry);
  const active = room.registry.active();
  assert.ok(active.length > 0, `${step}: systems to compare`);
  for (const s of active) {
    const a = kept.content(s);
    const b = fresh.content(s);
    assert.equal(a.text, b.text, `${step}: the map of ${s.identity}`);
    assert.ok(a.selfDigest.equals(b.selfDigest), `${step}: the self digest of ${s.identity}`);
    assert.ok(a.policiesDigest !== null, `${step}: no policy names people, so a class template made the policies`);
    assert.deepEqual(a.policiesDigest, b.policiesDigest, `${step}: the policies digest of ${s.identity}`);
    const last = seen.get(s.id);
    if (last)
      assert.equal(
        last.digest!.equals(a.policiesDigest),
        last.policies === a.policies,
        `${step}: the policies digest of ${s.identity} moved exactly when its policies did`,
      );
    seen.set(s.id, { policies: a.policies, digest: a.policiesDigest });
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
  // The class key is remembered by the kept World's lists of who is named (peer-classes.ts);
  // the World from scratch has lists of its own, so its keys are computed anew.
  for (const s of active)
    assert.equal(classKey(w, s.identity), classKey(scratch, s.identity), `${step}: the class of ${s.identity}`);
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

test('policy edits interleaved with enrolments, re-tagging and removals: every map as a rebuild gives it, the policies digest moving with the policies', () => {
  withPublisherRoom((room) => {
    const { registry, apply, add } = room;
    const seen: Seen = new Map();
    const kept = new MapBuilder(registry);
    apply(policy('22', ['tag:srv']));
    const systems = [add(['dev'], true), add(['srv'], true), add(['ops'], true)];
    sameAsFresh(room, kept, 'start', seen);
    const tags = ['dev', 'srv', 'ops', 'web'];
    for (let round = 0; round < 6; round++) {
      // A policy edit: the ports (the policies' text alone), whom the devs reach (the classes),
      // or the DNS record's name (what peers' own JSON says of them).
      const reach = round % 3 === 0 ? ['tag:srv', 'tag:ops'] : ['tag:srv'];
      apply(policy(round % 2 === 0 ? '22,443' : '22', reach, round % 3 === 1 ? 'database' : 'db'));
      sameAsFresh(room, kept, `round ${round}: policy edit`, seen);
      systems.push(add([tags[round % tags.length]!], round % 2 === 0));
      sameAsFresh(room, kept, `round ${round}: enrolment`, seen);
      const s = systems[(round * 2) % systems.length]!;
      const live = registry.get(s.id);
      if (live) registry.patch(live, { tags: [tags[(round + 1) % tags.length]!] });
      apply(policy(round % 2 === 0 ? '443' : '22,443', ['tag:srv', 'tag:ops']));
      sameAsFresh(room, kept, `round ${round}: re-tagged, then a policy edit`, seen);
      if (round % 2 === 1) {
        const gone = registry.get(systems[round]!.id);
        if (gone) registry.remove(gone);
        sameAsFresh(room, kept, `round ${round}: removed`, seen);
      }
    }
  });
});
