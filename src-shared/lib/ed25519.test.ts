import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { privateKeyFromSeed, rawPublicKey, signEd25519, verifyEd25519 } from './ed25519.js';

const pair = (): { raw: Buffer; sign: (m: Buffer) => Buffer } => {
  const key = privateKeyFromSeed(randomBytes(32));
  return { raw: rawPublicKey(key), sign: (m) => signEd25519(key, m) };
};

test('a raw key checks only its own signatures, however often the key checking them changes', () => {
  const a = pair();
  const b = pair();
  const m = Buffer.from('a map');
  const sa = a.sign(m);
  const sb = b.sign(m);
  for (let round = 0; round < 3; round++) {
    assert.equal(verifyEd25519(a.raw, m, sa), true, 'A signed it');
    assert.equal(verifyEd25519(a.raw, m, sb), false, 'B signed it, checked with A');
    assert.equal(verifyEd25519(b.raw, m, sb), true, 'B signed it');
    assert.equal(verifyEd25519(b.raw, m, sa), false, 'A signed it, checked with B');
  }
  assert.equal(verifyEd25519(a.raw, Buffer.from('another map'), sa), false, 'another message');
});

test('a raw key buffer written over after a check is read anew at the next check', () => {
  const a = pair();
  const b = pair();
  const m = Buffer.from('a delta');
  const held = Buffer.from(a.raw);
  assert.equal(verifyEd25519(held, m, a.sign(m)), true);
  b.raw.copy(held); // the caller reuses its buffer for another key
  assert.equal(verifyEd25519(held, m, b.sign(m)), true, "now B's key");
  assert.equal(verifyEd25519(held, m, a.sign(m)), false, "A's signature under B's key");
});

test('a key that is not 32 bytes, or a signature that is not 64, is not valid', () => {
  const a = pair();
  const m = Buffer.from('x');
  assert.equal(verifyEd25519(a.raw.subarray(0, 31), m, a.sign(m)), false);
  assert.equal(verifyEd25519(a.raw, m, a.sign(m).subarray(0, 63)), false);
});
