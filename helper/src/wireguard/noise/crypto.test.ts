// Known-answer tests for the primitives: published vectors where they exist (RFC 7693
// BLAKE2s, the BLAKE2 reference keyed vector, RFC 7748 X25519, the well-known WireGuard
// initial chaining key and hash), otherwise a second implementation written here with @noble.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { blake2s } from '@noble/hashes/blake2.js';
import { hmac as nobleHmac } from '@noble/hashes/hmac.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import {
  aeadOpen,
  aeadSeal,
  counterNonce,
  dh,
  hash,
  hmac,
  kdf1,
  kdf2,
  kdf3,
  mac,
  tai64n,
  xaeadOpen,
  xaeadSeal,
} from './crypto.js';
import { CONSTRUCTION, IDENTIFIER, LABEL_MAC1 } from './constants.js';
import { mac1Key } from './cookie.js';

const hex = (s: string): Buffer => Buffer.from(s, 'hex');
const b2s = (...parts: Uint8Array[]): Buffer => Buffer.from(blake2s(Buffer.concat(parts)));
const refHmac = (key: Uint8Array, data: Uint8Array): Buffer => Buffer.from(nobleHmac(blake2s, key, data));

/** refKdf is the whitepaper's KDF_n written out again with @noble only. */
function refKdf(n: number, key: Uint8Array, input: Uint8Array): Buffer[] {
  const t0 = refHmac(key, input);
  const out: Buffer[] = [];
  let prev: Buffer = Buffer.alloc(0);
  for (let i = 1; i <= n; i++) {
    prev = refHmac(t0, Buffer.concat([prev, Buffer.from([i])]));
    out.push(prev);
  }
  return out;
}

test('HASH is BLAKE2s-256 (RFC 7693 appendix B vector)', () => {
  assert.equal(
    hash(Buffer.from('abc')).toString('hex'),
    '508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982',
  );
  assert.deepEqual(hash(Buffer.from('ab'), Buffer.from('c')), hash(Buffer.from('abc')));
});

test('initial chaining key and hash match the values every WireGuard implementation uses', () => {
  const ck = hash(Buffer.from(CONSTRUCTION));
  assert.equal(ck.toString('hex'), '60e26daef327efc02ec335e2a025d2d016eb4206f87277f52d38d1988b78cd36');
  assert.equal(
    hash(ck, Buffer.from(IDENTIFIER)).toString('hex'),
    '2211b361081ac566691243db458ad5322d9c6c662293e8b70ee19c65ba079ef3',
  );
});

test('HMAC-BLAKE2s from OpenSSL equals RFC 2104 HMAC over BLAKE2s (@noble)', () => {
  for (const keyLen of [0, 1, 16, 32, 63, 64, 65, 100]) {
    const key = randomBytes(keyLen);
    const data = randomBytes(keyLen * 3 + 1);
    assert.deepEqual(hmac(key, data), refHmac(key, data), `key length ${keyLen}`);
  }
});

test('KDF1/KDF2/KDF3 match an independent implementation', () => {
  for (const inputLen of [0, 32, 77]) {
    const key = randomBytes(32);
    const input = randomBytes(inputLen);
    assert.deepEqual([kdf1(key, input)], refKdf(1, key, input));
    assert.deepEqual(kdf2(key, input), refKdf(2, key, input));
    assert.deepEqual(kdf3(key, input), refKdf(3, key, input));
  }
});

test('MAC is keyed BLAKE2s with a 16-byte output', () => {
  // The BLAKE2 reference keyed vector (key 00..1f, empty input, 32-byte output) pins @noble's keyed mode.
  const key = Buffer.from([...Array(32).keys()]);
  assert.equal(
    Buffer.from(blake2s(new Uint8Array(0), { key })).toString('hex'),
    '48a8997da407876b3d79c0d92325ad3b89cbb754d86ab71aee047ad345fd2c49',
  );
  const m = mac(key, Buffer.from('hello'));
  assert.equal(m.length, 16);
  // A 16-byte BLAKE2s is its own function (the length is in the parameter block), not a truncation.
  assert.notDeepEqual(m, Buffer.from(blake2s(Buffer.from('hello'), { key })).subarray(0, 16));
});

test('mac1 of a message matches a second implementation', () => {
  const pub = randomBytes(32);
  const msg = randomBytes(116);
  const key = b2s(Buffer.from(LABEL_MAC1), pub);
  assert.deepEqual(mac1Key(pub), key);
  assert.deepEqual(mac(mac1Key(pub), msg), Buffer.from(blake2s(msg, { key, dkLen: 16 })));
});

test('AEAD uses a 96-bit nonce of 32 zero bits and the little-endian 64-bit counter', () => {
  assert.equal(counterNonce(0x0102030405).toString('hex'), '000000000504030201000000');
  const key = randomBytes(32);
  const aad = randomBytes(32);
  for (const counter of [0, 1, 2 ** 32 + 7, Number.MAX_SAFE_INTEGER - 1]) {
    const pt = randomBytes(45);
    const sealed = aeadSeal(key, counter, pt, aad);
    assert.deepEqual(sealed, Buffer.from(chacha20poly1305(key, counterNonce(counter), aad).encrypt(pt)));
    assert.deepEqual(aeadOpen(key, counter, sealed, aad), pt);
    assert.equal(aeadOpen(key, counter + 1, sealed, aad), null);
    assert.equal(aeadOpen(key, counter, sealed, randomBytes(32)), null);
  }
  assert.equal(aeadOpen(key, 0, Buffer.alloc(15), aad), null);
  assert.equal(aeadSeal(key, 0, Buffer.alloc(0), aad).length, 16);
});

test('XAEAD round-trips and refuses a different AAD', () => {
  const key = randomBytes(32);
  const nonce = randomBytes(24);
  const sealed = xaeadSeal(key, nonce, Buffer.from('cookie-cookie-16'), Buffer.from('aad'));
  assert.equal(sealed.length, 32);
  assert.deepEqual(xaeadOpen(key, nonce, sealed, Buffer.from('aad')), Buffer.from('cookie-cookie-16'));
  assert.equal(xaeadOpen(key, nonce, sealed, Buffer.from('other')), null);
});

test('DH is X25519 (RFC 7748 §6.1) and refuses low-order points', () => {
  const alicePriv = hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
  const bobPub = hex('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
  assert.equal(
    dh(alicePriv, bobPub)?.toString('hex'),
    '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742',
  );
  for (const low of [Buffer.alloc(32), hex('0100000000000000000000000000000000000000000000000000000000000000')]) {
    assert.equal(dh(alicePriv, low), null);
  }
});

test('TAI64N is big-endian seconds since 1970 plus 2^62+10, then whitened nanoseconds', () => {
  const t = tai64n(1_700_000_000_123_456_789n);
  assert.equal(t.length, 12);
  assert.equal(t.readBigUInt64BE(0), 0x400000000000000an + 1_700_000_000n);
  assert.equal(t.readUInt32BE(8), 123_456_789 & ~0xffffff);
  assert.ok(Buffer.compare(tai64n(1_700_000_001_000_000_000n), t) > 0);
});
