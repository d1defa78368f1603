// RelaySet: where a relayed pair meets. Each side runs its own RelaySet over its own view of
// the same relays (the map lists them in one order for everyone); what each side's relays
// report (registered, round trip) is set by hand here, since that is what RelaySet decides from.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../../src-shared/lib/log.js';
import type { DevicePeer } from '../wireguard/device/peer.js';
import { newPeerState, type PeerState } from './path-state.js';
import type { RelayClient } from './relay-client.js';
import { RelaySet } from './relay-set.js';

const quiet = createLogger(0, { write: () => true });
const LOW = Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0); // leads (the lower peer id)
const HIGH = Uint8Array.of(2, 0, 0, 0, 0, 0, 0, 0);

/** FakeRelay is what RelaySet reads of a RelayClient. */
interface FakeRelay {
  name: string;
  usable: boolean;
  srtt: number | null;
  probe: null;
  life: number;
  tick(): void;
  close(): void;
}

function relays(...names: string[]): FakeRelay[] {
  return names.map((name) => ({ name, usable: true, srtt: null, probe: null, life: 0, tick() {}, close() {} }));
}

function side(list: FakeRelay[]): RelaySet {
  const s = new RelaySet(quiet, () => undefined);
  s.set(list as unknown as RelayClient[]);
  return s;
}

const avoided = (st: PeerState): string | null => st.relayAvoid?.name ?? null;

function peer(id: Uint8Array): PeerState {
  return newPeerState({} as DevicePeer, { identity: 'PEER1', name: 'peer' }, id, null, 1, 0);
}

test("relays reached only over TCP (not measured): the pair meets at the leader's, whatever order each side registered in", () => {
  // The leader registered with b first, then with a: b stays in use (no better one is known).
  const mine = relays('a', 'b');
  mine[0]!.usable = false;
  const leader = side(mine);
  mine[0]!.usable = true;
  leader.tick(0);
  assert.equal(leader.inUse?.name, 'b');
  // The follower registered with both at once: its own choice is the first in map order.
  const follower = side(relays('a', 'b'));
  assert.equal(follower.inUse?.name, 'a');
  const toFollower = peer(HIGH);
  const toLeader = peer(LOW);
  assert.equal(leader.indexFor(LOW, toFollower, -1), 1, 'the leader sends through its own choice');
  assert.equal(follower.indexFor(HIGH, toLeader, -1), 0, 'the follower starts with its own');
  assert.equal(leader.mayRoamTo(LOW, toFollower, 0, 0), false, "the leader does not roam to the follower's relay");
  assert.equal(follower.mayRoamTo(HIGH, toLeader, 1, 0), true, "the follower roams to the leader's relay");
  assert.equal(follower.indexFor(HIGH, toLeader, 1), 1, 'and stays there');
  assert.equal(leader.indexFor(LOW, toFollower, 0), 1, 'the leader stays on its own whatever its endpoint');
});

test("the leader moves to the follower's relay once its pings through its own go unanswered", () => {
  const leader = side(relays('near', 'far'));
  assert.equal(leader.inUse?.name, 'near', 'both unmeasured: the first the map lists');
  // Times on the clock RelaySet reads for avoiding (Date.now()), as the helper's tick passes.
  const t = Date.now();
  const st = peer(HIGH);
  st.relayPong = { at: t - 2000, via: 'near' };
  st.relayPingVia = 'near';
  st.relayUnanswered = 1;
  assert.equal(leader.mayRoamTo(LOW, st, 1, t - 1000), false, 'one ping in flight is no evidence');
  assert.equal(avoided(st), null);
  st.relayUnanswered = 2;
  assert.equal(leader.mayRoamTo(LOW, st, 1, t), true, 'two unanswered, and the peer comes through far');
  assert.equal(avoided(st), 'near');
  assert.equal(leader.indexFor(LOW, st, 1), 1, 'its choice for the peer is far now');
  // Never answered through near (the pair came to near and the filter was there already): the
  // peer's packets through far are the evidence, or the leader would stay on near for good.
  const fresh = peer(HIGH);
  fresh.relayPingVia = 'near';
  fresh.relayUnanswered = 1;
  assert.equal(leader.mayRoamTo(LOW, fresh, 1, t), false, 'never answered, one ping in flight: no evidence yet');
  fresh.relayUnanswered = 2;
  assert.equal(leader.mayRoamTo(LOW, fresh, 1, t), true, 'never answered through near, the peer comes through far');
  assert.equal(avoided(fresh), 'near');
  // Without the peer's packets elsewhere, silence through a relay never answered through proves
  // nothing (the peer may be offline): the relay is kept.
  const offline = peer(HIGH);
  offline.relayPingVia = 'near';
  offline.relayUnanswered = 9;
  assert.equal(leader.silent(offline, 0, t), false, 'an offline peer does not make its relay avoided');
  assert.equal(avoided(offline), null);
});

test('a follower does not roam to a relay it cannot use or avoids for the peer', () => {
  const list = relays('near', 'far');
  const follower = side(list);
  const st = peer(LOW);
  list[1]!.usable = false;
  assert.equal(follower.mayRoamTo(HIGH, st, 1, 0), false, 'not registered there (yet)');
  list[1]!.usable = true;
  st.relayAvoid = { name: 'far', until: 60_000 + Date.now(), life: 0 };
  assert.equal(follower.mayRoamTo(HIGH, st, 1, 0), false, 'avoided for this peer');
});

test('pings a relay swallowed do not count against the next relay the peer moves to', () => {
  // A follower answered through far, moved to near (which then stopped carrying the pair) and
  // left pings unanswered there; now it follows the leader to far. Those pings went through
  // near: far must not be given up for them, or the pair splits between the two relays.
  const follower = side(relays('near', 'far'));
  const t = Date.now();
  const st = peer(LOW);
  st.relayPong = { at: t - 7000, via: 'far' };
  st.relayPingVia = 'near';
  st.relayUnanswered = 6;
  assert.equal(follower.silent(st, 1, t), false, 'unanswered through near says nothing about far');
  assert.equal(avoided(st), null);
  st.relayPingVia = 'far';
  st.relayUnanswered = 3;
  assert.equal(follower.silent(st, 1, t), true, 'three unanswered through far itself do');
  assert.equal(avoided(st), null, 'silent only checks: the relay is not avoided yet');
  assert.equal(st.relayPong?.via, 'far', 'and the last answer is kept');
  follower.giveUp(st, 1, t);
  assert.equal(avoided(st), 'far', 'giving up avoids it');
  assert.equal(st.relayPong, null);
});
