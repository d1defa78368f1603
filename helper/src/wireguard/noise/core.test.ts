// Two NoiseCores in memory: handshake, key agreement, transport both ways, rotation of
// previous/current/next sessions, and every way a handshake message is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import type { Keypair } from './keypair.js';
import { HANDSHAKE_INITIATION_RATE, REKEY_TIMEOUT } from './constants.js';
import { mac } from './crypto.js';
import { mac1Key } from './cookie.js';
import { generatePrivateKey } from '../../../../src-shared/lib/keys.js';
import { INIT } from './messages.js';
import { sealTransport } from './transport.js';
import {
  control,
  deliverTransport,
  established,
  handshake,
  makeCore,
  makePair,
  sendData,
  type Delivered,
} from './testkit.js';

function plaintextOf(r: Delivered): Buffer {
  if ('drop' in r) throw new Error(`dropped: ${r.drop}`);
  return r.plaintext;
}

test('handshake: both sides derive matching keys and indices', () => {
  const { a, b } = makePair();
  const { request, response } = handshake(a, b, 0);
  assert.equal(request.peer, b.peer);
  assert.equal(request.reply?.length, 92);
  assert.equal(response.peer, a.peer);
  assert.equal(response.sessionReady, true);
  const ka = a.peer.sendKeypair(0);
  assert.ok(ka);
  assert.equal(ka.isInitiator, true);
  // The responder's session waits in `next` until the initiator uses it.
  assert.equal(b.peer.sendKeypair(0), null);
  const kb = b.peer.keypairs().next;
  assert.ok(kb);
  assert.deepEqual(ka.sendKey, kb.recvKey);
  assert.deepEqual(ka.recvKey, kb.sendKey);
  assert.notDeepEqual(ka.sendKey, ka.recvKey);
  assert.equal(ka.remoteIndex, kb.localIndex);
  assert.equal(kb.remoteIndex, ka.localIndex);
  assert.equal(a.core.keypairForIndex(ka.localIndex)?.keypair, ka);
  assert.equal(b.core.keypairForIndex(kb.localIndex)?.peer, b.peer);
});

test('transport both ways; the first message confirms the responder; replays are dropped', () => {
  const { a, b } = makePair();
  handshake(a, b, 0);
  assert.deepEqual(plaintextOf(sendData(a, b, Buffer.from('ping'), 1)), Buffer.from('ping'));
  const kb = b.peer.sendKeypair(1);
  assert.ok(kb, 'responder can send once confirmed');
  assert.equal(b.peer.keypairs().next, null);
  assert.ok(b.peer.lastHandshakeAt !== null && a.peer.lastHandshakeAt !== null);
  assert.deepEqual(plaintextOf(sendData(b, a, Buffer.from('pong'), 2)), Buffer.from('pong'));

  const ka = a.peer.sendKeypair(3)!;
  const m1 = sealTransport(ka, Buffer.from('one'));
  const m2 = sealTransport(ka, Buffer.from('two'));
  assert.deepEqual(plaintextOf(deliverTransport(b, m2, 3)), Buffer.from('two'));
  assert.deepEqual(plaintextOf(deliverTransport(b, m1, 3)), Buffer.from('one'), 'reordered within the window');
  assert.deepEqual(deliverTransport(b, m1, 3), { drop: 'replayed-counter' });
  assert.deepEqual(deliverTransport(b, m2, 4), { drop: 'replayed-counter' });
  const tampered = sealTransport(ka, Buffer.from('three'));
  tampered[tampered.length - 1]! ^= 1;
  assert.deepEqual(deliverTransport(b, tampered, 4), { drop: 'decrypt-failed' });
  const unknown = sealTransport(ka, Buffer.from('four'));
  unknown.writeUInt32LE((ka.remoteIndex + 1) >>> 0, 4);
  assert.deepEqual(deliverTransport(b, unknown, 4), { drop: 'unknown-index' });
});

test('a rekey keeps the previous session decrypting in-flight packets', () => {
  const { a, b, clock } = established();
  const old = a.peer.sendKeypair(0)!;
  const inFlight = sealTransport(old, Buffer.from('late'));
  clock.now = REKEY_TIMEOUT + 1;
  handshake(a, b, clock.now);
  const fresh = a.peer.sendKeypair(clock.now)!;
  assert.notEqual(fresh, old);
  assert.equal(a.peer.keypairs().previous, old);
  assert.deepEqual(plaintextOf(sendData(a, b, Buffer.from('new'), clock.now)), Buffer.from('new'));
  assert.deepEqual(plaintextOf(deliverTransport(b, inFlight, clock.now)), Buffer.from('late'));
  // A third handshake pushes the oldest session out: its keys are erased and its index freed.
  clock.now += REKEY_TIMEOUT + 1;
  handshake(a, b, clock.now);
  assert.equal(old.isZeroed, true);
  assert.ok(old.sendKey.equals(Buffer.alloc(32)));
  assert.equal(a.core.keypairForIndex(old.localIndex), undefined);
});

test('initiations from both sides at once resolve after a retransmission', () => {
  const { a, b, clock } = makePair();
  const ia = a.peer.initiate(0)!;
  const ib = b.peer.initiate(0)!;
  const ra = control(b, a, ia, 1);
  const rb = control(a, b, ib, 1);
  // Each side answered the other, which replaced its own initiation and freed its index:
  // both responses are refused.
  assert.equal(control(a, b, ra.reply!, 2).drop, 'unknown-index');
  assert.equal(control(b, a, rb.reply!, 2).drop, 'unknown-index');
  // The retransmit timer of a runs out and this time nothing crosses.
  clock.now = REKEY_TIMEOUT + 400;
  const retry = a.core.tick(clock.now).find((x) => x.kind === 'send-initiation');
  assert.ok(retry && retry.kind === 'send-initiation');
  const resp = control(b, a, retry.message, clock.now);
  assert.equal(control(a, b, resp.reply!, clock.now).sessionReady, true);
  assert.deepEqual(plaintextOf(sendData(a, b, Buffer.from('x'), clock.now)), Buffer.from('x'));
});

test('refused handshake messages', () => {
  const { a, b } = makePair();
  const init = a.peer.initiate(0)!;

  const flipped = Buffer.from(init);
  flipped[INIT.mac1]! ^= 1;
  assert.equal(control(b, a, flipped, 0).drop, 'bad-mac1');

  // Any change before mac1 breaks mac1 too; with mac1 recomputed, the AEAD catches it.
  const forged = Buffer.from(init);
  forged[INIT.static]! ^= 1;
  mac(mac1Key(b.core.publicKey), forged.subarray(0, INIT.mac1)).copy(forged, INIT.mac1);
  assert.equal(control(b, a, forged, 0).drop, 'decrypt-failed');

  const lowOrder = Buffer.from(init);
  lowOrder.fill(0, INIT.ephemeral, INIT.ephemeral + 32);
  mac(mac1Key(b.core.publicKey), lowOrder.subarray(0, INIT.mac1)).copy(lowOrder, INIT.mac1);
  assert.equal(control(b, a, lowOrder, 0).drop, 'bad-key');

  const stranger = makeCore(generatePrivateKey(), { now: 0 });
  stranger.addPeer(b.core.publicKey);
  const strangerInit = stranger.getPeer(b.core.publicKey)!.initiate(0)!;
  assert.deepEqual(control(b, a, strangerInit, 0), {
    peer: null,
    reply: null,
    sessionReady: false,
    drop: 'unknown-peer',
  });

  const ok = control(b, a, init, 0);
  assert.equal(ok.drop, null);
  const response = ok.reply!;
  const r2 = Buffer.from(response);
  r2.writeUInt32LE((r2.readUInt32LE(8) + 1) >>> 0, 8);
  mac(mac1Key(a.core.publicKey), r2.subarray(0, 60)).copy(r2, 60);
  assert.equal(control(a, b, r2, 0).drop, 'unknown-index');
  assert.equal(control(a, b, response, 0).drop, null);
  assert.equal(control(a, b, response, 0).drop, 'no-handshake', 'a response is used once');
  assert.equal(control(a, b, Buffer.alloc(3), 0).drop, 'bad-length');
  const transportType = Buffer.alloc(32);
  transportType[0] = 4;
  assert.equal(control(a, b, transportType, 0).drop, 'bad-type');
});

test('mismatched preshared keys fail at the response', () => {
  const { a, b } = makePair({ pskA: randomBytes(32), pskB: randomBytes(32) });
  const init = a.peer.initiate(0)!;
  const r = control(b, a, init, 0);
  assert.ok(r.reply, 'the psk only enters with the response');
  assert.equal(control(a, b, r.reply, 0).drop, 'decrypt-failed');
  assert.equal(a.peer.sendKeypair(0), null);
});

test('matching preshared keys complete', () => {
  const psk = randomBytes(32);
  const { a, b } = makePair({ pskA: psk, pskB: Buffer.from(psk) });
  handshake(a, b, 0);
  assert.deepEqual(plaintextOf(sendData(a, b, Buffer.from('psk'), 0)), Buffer.from('psk'));
});

test('a replayed initiation is dropped by its TAI64N; a burst by the flood limit', () => {
  const { a, b, clock } = makePair();
  const init = a.peer.initiate(0)!;
  assert.equal(control(b, a, init, 0).drop, null);
  clock.now = 60_000;
  assert.equal(control(b, a, init, clock.now).drop, 'replayed-timestamp');

  // A second core with a's key produces a newer initiation from the same peer.
  const twin = makeCore(a.privateKey, clock);
  const twinPeer = twin.addPeer(b.core.publicKey);
  clock.now = 61_000;
  assert.equal(control(b, a, twinPeer.initiate(clock.now)!, clock.now).drop, null);
  clock.now += HANDSHAKE_INITIATION_RATE;
  const burst = makeCore(a.privateKey, clock).addPeer(b.core.publicKey).initiate(clock.now)!;
  assert.equal(control(b, a, burst, clock.now).drop, 'initiation-flood');
  clock.now += 1;
  assert.equal(control(b, a, burst, clock.now).drop, null, 'accepted once the interval has passed');
});

test('removePeer erases keys and frees indices', () => {
  const { a, b } = established();
  const ka = a.peer.sendKeypair(0)!;
  a.core.removePeer(b.core.publicKey);
  assert.equal(a.core.getPeer(b.core.publicKey), undefined);
  assert.ok(ka.sendKey.equals(Buffer.alloc(32)) && ka.recvKey.equals(Buffer.alloc(32)));
  assert.equal(a.core.keypairForIndex(ka.localIndex), undefined);
  assert.equal(a.peer.initiate(100_000), null);
  assert.deepEqual(a.core.tick(1_000_000), []);
  const kb = b.peer.sendKeypair(0)!;
  assert.deepEqual(deliverTransport(a, sealTransport(kb, Buffer.from('x')), 1), { drop: 'unknown-index' });
});

test('addPeer validates keys and updates an existing peer', () => {
  const core = makeCore(generatePrivateKey(), { now: 0 });
  assert.throws(() => core.addPeer(Buffer.alloc(31)), /32 bytes/);
  assert.throws(() => core.addPeer(core.publicKey), /our own/);
  const key = makeCore(generatePrivateKey(), { now: 0 }).publicKey;
  assert.throws(() => core.addPeer(key, { presharedKey: Buffer.alloc(5) }), /32 bytes/);
  const p = core.addPeer(key);
  assert.equal(core.addPeer(key, { persistentKeepalive: 25 }), p);
  assert.equal(p.persistentKeepalive, 25);
  // A low-order key is accepted (as wireguard-go does) but can never handshake.
  const low = core.addPeer(Buffer.alloc(32));
  assert.equal(low.initiate(0), null);
});

test('a new preshared key erases the sessions, keeps the replay protection, and is used by the next handshake', () => {
  const { a, b, clock } = established();
  const captured = a.peer.initiate(REKEY_TIMEOUT)!;
  clock.now = REKEY_TIMEOUT;
  assert.equal(control(b, a, captured, clock.now).drop, null);
  const old = b.peer.keypairs();
  const psk = randomBytes(32);
  assert.equal(b.peer.setPresharedKey(psk), true);
  assert.equal(b.peer.setPresharedKey(Buffer.from(psk)), false, 'the same key changes nothing');
  assert.deepEqual(b.peer.keypairs(), { previous: null, current: null, next: null });
  for (const kp of [old.current, old.next]) assert.equal(kp!.isZeroed, true);
  clock.now += 1000;
  assert.equal(control(b, a, captured, clock.now).drop, 'replayed-timestamp');
  // Only a with the same new key completes a handshake with b.
  clock.now += REKEY_TIMEOUT;
  const init = a.peer.initiate(clock.now)!;
  const r = control(b, a, init, clock.now);
  assert.equal(control(a, b, r.reply!, clock.now).drop, 'decrypt-failed', 'a still has the old key');
  assert.equal(a.core.addPeer(b.core.publicKey, { presharedKey: psk }), a.peer);
  clock.now += REKEY_TIMEOUT;
  handshake(a, b, clock.now);
  assert.deepEqual(plaintextOf(sendData(a, b, Buffer.from('new key'), clock.now)), Buffer.from('new key'));
  assert.deepEqual(plaintextOf(sendData(b, a, Buffer.from('both ways'), clock.now)), Buffer.from('both ways'));
});

test('indices of replaced sessions are freed, whichever side initiates', () => {
  const { a, b, clock } = established();
  const owner = new Map<Keypair, typeof a>();
  for (let i = 1; i <= 12; i++) {
    clock.now = i * (REKEY_TIMEOUT + 1);
    const [init, resp] = i % 3 === 0 ? [b, a] : [a, b];
    handshake(init, resp, clock.now);
    assert.ok(!('drop' in sendData(init, resp, Buffer.alloc(0), clock.now)));
    for (const side of [a, b]) {
      const slots = side.peer.keypairs();
      for (const kp of [slots.previous, slots.current, slots.next]) if (kp) owner.set(kp, side);
    }
  }
  for (const [kp, side] of owner) {
    const slots = side.peer.keypairs();
    const live = kp === slots.previous || kp === slots.current || kp === slots.next;
    assert.equal(side.core.keypairForIndex(kp.localIndex)?.keypair === kp, live, `index ${kp.localIndex}`);
    assert.equal(kp.isZeroed, !live);
  }
  assert.ok(owner.size > 12, 'many sessions were made and dropped');
});

test('peers and keypairs print without key material', () => {
  const { a } = established();
  const kp = a.peer.sendKeypair(0)!;
  const text = inspect({ peer: a.peer, kp }, { depth: 5 });
  for (const secret of [kp.sendKey, kp.recvKey]) {
    assert.ok(!text.includes(secret.toString('hex')) && !text.includes(secret.toString('base64')));
  }
  assert.match(text, /NoisePeer\(/);
  assert.match(text, /Keypair\(local=/);
});
