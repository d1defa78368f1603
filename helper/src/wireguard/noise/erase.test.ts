// Handshake secrets are zeroed once used (whitepaper §5.4.5 erases the chaining key and the
// ephemeral keys when the session keys exist). What a test can see are the buffers that cross
// a step: the state's chaining key and hash after each step and the stage between the two
// halves of consuming an initiation. Each must be all zero once the next step replaced it,
// whether the step succeeded or refused the message; the intermediates inside one step are
// local and cannot be observed from here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { generatePrivateKey, privateKeyObject, publicKeyFromPrivate } from '../../../../src-shared/lib/keys.js';
import { aeadOpen, aeadSeal, dh, EMPTY_BYTES, tai64n } from './crypto.js';
import {
  consumeResponse,
  createInitiation,
  createResponse,
  deriveSession,
  finishInitiation,
  Handshake,
  newEphemeral,
  openInitiationStatic,
  type Identity,
  type InitiationStage,
} from './handshake.js';
import { parseInitiation, parseResponse, type Initiation, type Response } from './messages.js';
import { REKEY_TIMEOUT, ZERO_KEYS_AFTER, REKEY_ATTEMPT_TIME } from './constants.js';
import { control, makePair, WALL_EPOCH_MS } from './testkit.js';

const ZERO = Buffer.alloc(32);

function identity(): Identity {
  const priv = generatePrivateKey();
  return { privateKey: privateKeyObject(priv), publicKey: publicKeyFromPrivate(priv) };
}

/** sides makes two identities and each one's handshake state with the other. */
function sides(psk = randomBytes(32)): { a: Identity; b: Identity; hsA: Handshake; hsB: Handshake } {
  const a = identity();
  const b = identity();
  return {
    a,
    b,
    hsA: new Handshake(b.publicKey, Buffer.from(psk), dh(a.privateKey, b.publicKey)),
    hsB: new Handshake(a.publicKey, Buffer.from(psk), dh(b.privateKey, a.publicKey)),
  };
}

function stamp(ms: number): Buffer {
  return tai64n(BigInt(WALL_EPOCH_MS + ms) * 1_000_000n);
}

function asInitiation(msg: Buffer): Initiation {
  const m = parseInitiation(msg);
  if (typeof m === 'string') throw new Error(`bad initiation: ${m}`);
  return m;
}

function asResponse(msg: Buffer): Response {
  const m = parseResponse(msg);
  if (typeof m === 'string') throw new Error(`bad response: ${m}`);
  return m;
}

function opened(id: Identity, msg: Buffer): InitiationStage {
  const stage = openInitiationStatic(id, asInitiation(msg));
  if (typeof stage === 'string') throw new Error(`initiation refused: ${stage}`);
  return stage;
}

function assertZeroed(held: Array<[string, Buffer]>): void {
  for (const [what, b] of held) assert.ok(b.equals(ZERO), `${what} is not zeroed: ${b.toString('hex')}`);
}

test('after a completed handshake every chaining key and hash either state held is zero, and the session keys work', () => {
  const { a, b, hsA, hsB } = sides();
  const held: Array<[string, Buffer]> = [];
  const init = createInitiation(a, hsA, newEphemeral(randomBytes), stamp(0), 1)!;
  held.push(['initiator chaining key after message 1', hsA.chainKey], ['initiator hash after message 1', hsA.hash]);
  const stage = opened(b, init);
  held.push(['stage chaining key', stage.chainKey], ['stage hash', stage.hash]);
  assert.equal(finishInitiation(hsB, stage, 0), null);
  held.push(['responder chaining key after message 1', hsB.chainKey], ['responder hash after message 1', hsB.hash]);
  const resp = createResponse(hsB, newEphemeral(randomBytes), 2)!;
  held.push(['responder chaining key after message 2', hsB.chainKey], ['responder hash after message 2', hsB.hash]);
  const keysB = deriveSession(hsB)!;
  assert.equal(consumeResponse(a, hsA, asResponse(resp)), null);
  held.push(['initiator chaining key after message 2', hsA.chainKey], ['initiator hash after message 2', hsA.hash]);
  const keysA = deriveSession(hsA)!;

  assertZeroed(held);
  for (const hs of [hsA, hsB]) {
    assert.equal(hs.state, 'zeroed');
    assertZeroed([
      ['chaining key', hs.chainKey],
      ['hash', hs.hash],
      ['remote ephemeral', hs.remoteEphemeral],
    ]);
    assert.equal(hs.localEphemeral, null, 'the ephemeral private key is dropped');
  }
  // The session keys were derived before the erasure and are intact.
  for (const k of [keysA.sendKey, keysA.recvKey]) assert.ok(!k.equals(ZERO));
  const payload = Buffer.from('after the erasure');
  assert.deepEqual(aeadOpen(keysB.recvKey, 0, aeadSeal(keysA.sendKey, 0, payload, EMPTY_BYTES), EMPTY_BYTES), payload);
  assert.deepEqual(aeadOpen(keysA.recvKey, 7, aeadSeal(keysB.sendKey, 7, payload, EMPTY_BYTES), EMPTY_BYTES), payload);
});

test('a refused initiation leaves its stage zeroed; a refused response leaves the handshake intact', () => {
  const { a, b, hsA, hsB } = sides();
  const init = createInitiation(a, hsA, newEphemeral(randomBytes), stamp(0), 1)!;
  assert.equal(finishInitiation(hsB, opened(b, init), 0), null);
  const replayed = opened(b, init);
  assert.equal(finishInitiation(hsB, replayed, 1000), 'replayed-timestamp');
  assertZeroed([
    ['replayed stage chaining key', replayed.chainKey],
    ['replayed stage hash', replayed.hash],
  ]);
  // A peer whose key is low-order refuses every initiation and zeroes it all the same.
  const lowOrder = new Handshake(a.publicKey, Buffer.alloc(32), null);
  const refused = opened(b, init);
  assert.equal(finishInitiation(lowOrder, refused, 0), 'bad-key');
  assertZeroed([
    ['refused stage chaining key', refused.chainKey],
    ['refused stage hash', refused.hash],
  ]);

  const resp = createResponse(hsB, newEphemeral(randomBytes), 2)!;
  const chainKey = Buffer.from(hsA.chainKey);
  const tampered = Buffer.from(resp);
  tampered[50]! ^= 1;
  assert.equal(consumeResponse(a, hsA, asResponse(tampered)), 'decrypt-failed');
  assert.deepEqual(hsA.chainKey, chainKey, 'the handshake in progress is untouched');
  assert.equal(consumeResponse(a, hsA, asResponse(resp)), null, 'and still completes');
});

test('a handshake replaced by a new attempt, overridden by the peer or expired is zeroed', () => {
  const { a, b, clock } = makePair();
  const hs = a.peer.handshake;
  assert.ok(a.peer.initiate(0));
  const first: Array<[string, Buffer]> = [
    ['first attempt chaining key', hs.chainKey],
    ['first attempt hash', hs.hash],
  ];
  clock.now = REKEY_TIMEOUT;
  assert.ok(a.peer.initiate(clock.now));
  assertZeroed(first);

  // b's initiation takes over a's state (a answers it), so a's own attempt is erased.
  const second: Array<[string, Buffer]> = [
    ['second attempt chaining key', hs.chainKey],
    ['second attempt hash', hs.hash],
  ];
  assert.equal(control(a, b, b.peer.initiate(clock.now)!, clock.now).drop, null);
  assertZeroed(second);

  // An attempt nobody answers is given up after REKEY_ATTEMPT_TIME and erased with every key
  // ZERO_KEYS_AFTER later (§6.4).
  const lonely = makePair();
  const lhs = lonely.a.peer.handshake;
  assert.ok(lonely.a.peer.initiate(0));
  let last: Array<[string, Buffer]> = [];
  for (let now = 0; now <= REKEY_ATTEMPT_TIME + ZERO_KEYS_AFTER + 30_000; now += 100) {
    if (lonely.a.core.tick(now).some((x) => x.kind === 'send-initiation'))
      last = [
        ['unanswered chaining key', lhs.chainKey],
        ['unanswered hash', lhs.hash],
      ];
  }
  assert.ok(last.length > 0, 'the attempt was retransmitted');
  assert.equal(lhs.state, 'zeroed');
  assertZeroed(last);
});
