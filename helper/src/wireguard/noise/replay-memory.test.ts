// A peer removed and added again keeps refusing the initiations it refused before (§5.1): the
// core remembers a removed peer's newest timestamp, within a bound.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HANDSHAKE_INITIATION_RATE, TAI64N_SIZE } from './constants.js';
import { ReplayMemory } from './replay-memory.js';
import { control, established } from './testkit.js';

test('a captured initiation replayed after the peer was removed and added again is refused; a new one is taken', () => {
  const { a, b, clock } = established();
  clock.now = 10_000;
  const captured = a.peer.initiate(clock.now)!;
  assert.equal(control(b, a, captured, clock.now).drop, null, 'the original is taken');
  b.core.removePeer(a.core.publicKey);
  const again = b.core.addPeer(a.core.publicKey);
  clock.now += HANDSHAKE_INITIATION_RATE + 1;
  const replay = control(b, a, captured, clock.now);
  assert.equal(replay.drop, 'replayed-timestamp');
  assert.equal(replay.peer, null, 'a refused initiation names no peer, so it cannot move the endpoint');
  clock.now += 5000;
  const fresh = control(b, a, a.peer.initiate(clock.now)!, clock.now);
  assert.equal(fresh.drop, null);
  assert.equal(fresh.peer, again);
});

test('the memory keeps at most its bound, forgets the oldest removal first, and skips peers that never initiated', () => {
  const m = new ReplayMemory(2);
  const stamp = (n: number): Buffer => Buffer.alloc(TAI64N_SIZE, n);
  m.keep('k0', Buffer.alloc(TAI64N_SIZE));
  assert.equal(m.size, 0, 'an all-zero timestamp is not kept');
  m.keep('k1', stamp(1));
  m.keep('k2', stamp(2));
  m.keep('k3', stamp(3));
  assert.equal(m.size, 2);
  assert.equal(m.take('k1'), undefined, 'the oldest went');
  assert.deepEqual(m.take('k3'), stamp(3));
  assert.equal(m.take('k3'), undefined, 'given back once');
  const kept = stamp(7);
  m.keep('k4', kept);
  kept.fill(0);
  assert.deepEqual(m.take('k4'), stamp(7), 'a copy is kept, not the peer buffer that removal wipes');
});
