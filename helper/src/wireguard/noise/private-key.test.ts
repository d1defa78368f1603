// A core's static key at runtime (what a UAPI set of private_key does): none at first, then
// set, then replaced.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generatePrivateKey, publicKeyFromPrivate } from '../../../../src-shared/lib/keys.js';
import { NoiseCore } from './core.js';
import { control, handshake, makeCore, makePair, sendData } from './testkit.js';

test('a core without a private key initiates nothing and drops every handshake message', () => {
  const keyless = new NoiseCore({ privateKey: null });
  const other = makeCore(generatePrivateKey(), { now: 0 });
  assert.equal(keyless.hasPrivateKey, false);
  assert.deepEqual(keyless.publicKey, Buffer.alloc(32));
  const peer = keyless.addPeer(other.publicKey);
  assert.equal(peer.initiate(0), null);
  // Any initiation, whoever it was meant for, is dropped before it is read.
  const { b } = makePair();
  const init = b.peer.initiate(0);
  assert.ok(init);
  assert.equal(keyless.receiveControl(init, { ip: '192.0.2.1', port: 1 }, 0).drop, 'no-private-key');
});

test('setting a key lets a keyless core complete handshakes under the new identity', () => {
  const clock = { now: 0 };
  const core = new NoiseCore({ privateKey: null });
  const kb = generatePrivateKey();
  const other = makeCore(kb, clock);
  const peerOfCore = core.addPeer(other.publicKey);
  const key = generatePrivateKey();
  core.setPrivateKey(key);
  assert.deepEqual(core.publicKey, publicKeyFromPrivate(key));
  const peerOfOther = other.addPeer(core.publicKey);
  const a = { core, peer: peerOfCore, addr: { ip: '192.0.2.1', port: 1 }, privateKey: key };
  const b = { core: other, peer: peerOfOther, addr: { ip: '192.0.2.2', port: 1 }, privateKey: kb };
  const { response } = handshake(a, b, 0);
  assert.equal(response.sessionReady, true);
  assert.ok(peerOfCore.lastHandshakeNs !== null && peerOfCore.lastHandshakeNs > 0n);
});

test('replacing the key erases the sessions; the peer accepts only handshakes with the new key', () => {
  const { a, b, clock } = makePair();
  handshake(a, b, 0);
  assert.ok('plaintext' in sendData(a, b, Buffer.from('x'), 1), 'the session carries data');
  const next = generatePrivateKey();
  a.core.setPrivateKey(next);
  assert.equal(a.peer.sendKeypair(2), null, 'the old session is gone');
  a.peer.restart();
  // b still knows a's old key: an initiation under the new one is from an unknown peer.
  const init = a.peer.initiate(clock.now + 2);
  assert.ok(init);
  assert.equal(control(b, a, init, 2).drop, 'unknown-peer');
  // Once b learns the new key, a handshake completes.
  b.core.removePeer(publicKeyFromPrivate(a.privateKey));
  const fresh = b.core.addPeer(publicKeyFromPrivate(next));
  a.peer.restart();
  const { response } = handshake(a, { ...b, peer: fresh }, 10_000);
  assert.equal(response.sessionReady, true);
});

test('removing the key makes a keyed core drop handshakes again', () => {
  const { a, b } = makePair();
  a.core.setPrivateKey(null);
  const init = b.peer.initiate(0);
  assert.ok(init);
  assert.equal(control(a, b, init, 0).drop, 'no-private-key');
  assert.equal(a.peer.initiate(0), null);
});
