// The handshake against a second, deliberately naive implementation of whitepaper §5.4.2-
// §5.4.6 written here from the paper with @noble primitives (X25519 from node:crypto, as
// @noble/curves is not a dependency). It plays the initiator against a real NoiseCore
// responder; the two must agree on every byte and on the transport keys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diffieHellman, createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { blake2s } from '@noble/hashes/blake2.js';
import { hmac } from '@noble/hashes/hmac.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { generatePrivateKey, publicKeyFromPrivate } from '../../../../src-shared/lib/keys.js';
import { openTransport } from './transport.js';
import { makeCore, WALL_EPOCH_MS } from './testkit.js';

const cat = (...p: Uint8Array[]): Buffer => Buffer.concat(p);
const HASH = (...p: Uint8Array[]): Buffer => Buffer.from(blake2s(cat(...p)));
const HMAC = (k: Uint8Array, x: Uint8Array): Buffer => Buffer.from(hmac(blake2s, k, x));
const MAC = (k: Uint8Array, x: Uint8Array): Buffer => Buffer.from(blake2s(x, { key: k, dkLen: 16 }));
function KDF(n: number, key: Uint8Array, x: Uint8Array): Buffer[] {
  const t0 = HMAC(key, x);
  const out = [HMAC(t0, Buffer.from([1]))];
  for (let i = 2; i <= n; i++) out.push(HMAC(t0, cat(out[i - 2]!, Buffer.from([i]))));
  return out;
}
function nonce(counter: bigint): Buffer {
  const n = Buffer.alloc(12);
  n.writeBigUInt64LE(counter, 4);
  return n;
}
const AEAD = (k: Uint8Array, c: bigint, p: Uint8Array, a: Uint8Array): Buffer =>
  Buffer.from(chacha20poly1305(k, nonce(c), a).encrypt(p));
const UNAEAD = (k: Uint8Array, c: bigint, s: Uint8Array, a: Uint8Array): Buffer =>
  Buffer.from(chacha20poly1305(k, nonce(c), a).decrypt(s));
function DH(priv: Buffer, pub: Buffer): Buffer {
  return diffieHellman({
    privateKey: createPrivateKey({
      key: cat(Buffer.from('302e020100300506032b656e04220420', 'hex'), priv),
      format: 'der',
      type: 'pkcs8',
    }),
    publicKey: createPublicKey({
      key: cat(Buffer.from('302a300506032b656e032100', 'hex'), pub),
      format: 'der',
      type: 'spki',
    }),
  });
}
const u32 = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return b;
};

test('a from-the-paper initiator completes a handshake with NoiseCore and they share keys', () => {
  const clock = { now: 0 };
  const respPriv = generatePrivateKey();
  const resp = makeCore(respPriv, clock);
  const Spub_r = resp.publicKey;
  const Spriv_i = generatePrivateKey();
  const Spub_i = publicKeyFromPrivate(Spriv_i);
  const Q = randomBytes(32);
  const peer = resp.addPeer(Spub_i, { presharedKey: Q });

  // §5.4.2, initiator to responder.
  const Ci0 = HASH(Buffer.from('Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s'));
  let Hi = HASH(Ci0, Buffer.from('WireGuard v1 zx2c4 Jason@zx2c4.com'));
  Hi = HASH(Hi, Spub_r);
  const Epriv_i = generatePrivateKey();
  const Epub_i = publicKeyFromPrivate(Epriv_i);
  let Ci = KDF(1, Ci0, Epub_i)[0]!;
  Hi = HASH(Hi, Epub_i);
  let k: Buffer;
  [Ci, k] = KDF(2, Ci, DH(Epriv_i, Spub_r)) as [Buffer, Buffer];
  const encStatic = AEAD(k, 0n, Spub_i, Hi);
  Hi = HASH(Hi, encStatic);
  [Ci, k] = KDF(2, Ci, DH(Spriv_i, Spub_r)) as [Buffer, Buffer];
  const ts = Buffer.alloc(12);
  ts.writeBigUInt64BE(0x400000000000000an + BigInt(Math.floor(WALL_EPOCH_MS / 1000)), 0);
  const encTs = AEAD(k, 0n, ts, Hi);
  Hi = HASH(Hi, encTs);
  const sender = 0x11223344;
  let msg = cat(Buffer.from([1, 0, 0, 0]), u32(sender), Epub_i, encStatic, encTs);
  assert.equal(msg.length, 116);
  msg = cat(msg, MAC(HASH(Buffer.from('mac1----'), Spub_r), msg), Buffer.alloc(16));
  assert.equal(msg.length, 148);

  const r = resp.receiveControl(msg, { ip: '192.0.2.1', port: 1 }, 0);
  assert.equal(r.drop, null);
  assert.equal(r.peer, peer);
  const response = r.reply!;
  assert.equal(response.length, 92);

  // §5.4.3, consumed by the reference initiator.
  assert.deepEqual(response.subarray(0, 4), Buffer.from([2, 0, 0, 0]));
  assert.equal(response.readUInt32LE(8), sender);
  const respSender = response.readUInt32LE(4);
  const Epub_r = response.subarray(12, 44);
  assert.deepEqual(response.subarray(60, 76), MAC(HASH(Buffer.from('mac1----'), Spub_i), response.subarray(0, 60)));
  assert.deepEqual(response.subarray(76, 92), Buffer.alloc(16), 'no cookie, so mac2 is zero');
  Ci = KDF(1, Ci, Epub_r)[0]!;
  let Hr = HASH(Hi, Epub_r);
  Ci = KDF(1, Ci, DH(Epriv_i, Epub_r))[0]!;
  Ci = KDF(1, Ci, DH(Spriv_i, Epub_r))[0]!;
  const [ck3, tau, k3] = KDF(3, Ci, Q) as [Buffer, Buffer, Buffer];
  Ci = ck3;
  k = k3;
  Hr = HASH(Hr, tau);
  assert.deepEqual(UNAEAD(k, 0n, response.subarray(44, 60), Hr), Buffer.alloc(0));

  // §5.4.5: initiator sends with τ1 and receives with τ2; the responder the other way round.
  const [sendI, recvI] = KDF(2, Ci, Buffer.alloc(0)) as [Buffer, Buffer];
  const next = peer.keypairs().next!;
  assert.deepEqual(next.recvKey, sendI);
  assert.deepEqual(next.sendKey, recvI);
  assert.equal(next.remoteIndex, sender);
  assert.equal(next.localIndex, respSender);

  // §5.4.6: a hand-built transport message with counter 7 opens at the responder.
  const payload = Buffer.from('0123456789abcdef');
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64LE(7n);
  const data = cat(Buffer.from([4, 0, 0, 0]), u32(respSender), counter, AEAD(sendI, 7n, payload, Buffer.alloc(0)));
  const opened = openTransport(resp, data, 1);
  assert.ok(!('drop' in opened));
  assert.deepEqual(opened.plaintext, payload);
});
