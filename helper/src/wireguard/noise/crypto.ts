// Cryptographic primitives of WireGuard, whitepaper §5.4 ("Protocol & Cryptography"): HASH,
// HMAC, KDF1..3, MAC, AEAD, XAEAD, DH and TAI64N. OpenSSL (node:crypto) does the work where
// it offers the primitive; keyed BLAKE2s and XChaCha20-Poly1305 come from @noble because
// OpenSSL's BLAKE2s in Node has no key parameter and OpenSSL has no XChaCha.
import { createCipheriv, createDecipheriv, createHash, createHmac, diffieHellman, type KeyObject } from 'node:crypto';
import { blake2s } from '@noble/hashes/blake2.js';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { MAC_SIZE, TAG_SIZE, TAI64N_SIZE } from './constants.js';
import { privateKeyObject, publicKeyObject, rawPublicKey } from '../../../../src-shared/lib/keys.js';

export { privateKeyObject, publicKeyObject, rawPublicKey };

const ONE = Buffer.from([1]);
const TWO = Buffer.from([2]);
const THREE = Buffer.from([3]);
const EMPTY = Buffer.alloc(0);

/** hash is HASH(parts...) = BLAKE2s-256 of the concatenation. */
export function hash(...parts: Uint8Array[]): Buffer {
  const h = createHash('blake2s256');
  for (const p of parts) h.update(p);
  return h.digest();
}

/** hmac is HMAC-BLAKE2s-256 (RFC 2104 with a 64-byte block), which OpenSSL implements as the
 * whitepaper defines it; crypto.test.ts checks it against @noble's HMAC. */
export function hmac(key: Uint8Array, ...parts: Uint8Array[]): Buffer {
  const h = createHmac('blake2s256', key);
  for (const p of parts) h.update(p);
  return h.digest();
}

/** kdf1 is KDF1(key, input): the first output of the HKDF-like chain of §5.4. */
export function kdf1(key: Uint8Array, input: Uint8Array): Buffer {
  const t0 = hmac(key, input);
  const t1 = hmac(t0, ONE);
  t0.fill(0);
  return t1;
}

/** kdf2 is KDF2(key, input) returning (τ1, τ2). */
export function kdf2(key: Uint8Array, input: Uint8Array): [Buffer, Buffer] {
  const t0 = hmac(key, input);
  const t1 = hmac(t0, ONE);
  const t2 = hmac(t0, t1, TWO);
  t0.fill(0);
  return [t1, t2];
}

/** kdf3 is KDF3(key, input) returning (τ1, τ2, τ3). */
export function kdf3(key: Uint8Array, input: Uint8Array): [Buffer, Buffer, Buffer] {
  const t0 = hmac(key, input);
  const t1 = hmac(t0, ONE);
  const t2 = hmac(t0, t1, TWO);
  const t3 = hmac(t0, t2, THREE);
  t0.fill(0);
  return [t1, t2, t3];
}

/** mac is MAC(key, input) = keyed BLAKE2s with a 16-byte output, used for mac1, mac2 and cookies. */
export function mac(key: Uint8Array, input: Uint8Array): Buffer {
  return Buffer.from(blake2s(input, { key, dkLen: MAC_SIZE }));
}

/** counterNonce writes the 96-bit AEAD nonce: 32 zero bits then the 64-bit little-endian counter. */
export function counterNonce(counter: number, out: Buffer = Buffer.alloc(12)): Buffer {
  out.writeUInt32LE(0, 0);
  out.writeUInt32LE(counter >>> 0, 4);
  out.writeUInt32LE(Math.floor(counter / 0x1_0000_0000), 8);
  return out;
}

/** aeadSeal is AEAD(key, counter, plaintext, aad): ChaCha20-Poly1305, ciphertext || tag. */
export function aeadSeal(key: Uint8Array, counter: number, plaintext: Uint8Array, aad: Uint8Array): Buffer {
  const c = createCipheriv('chacha20-poly1305', key, counterNonce(counter), { authTagLength: TAG_SIZE });
  c.setAAD(aad, { plaintextLength: plaintext.length });
  const body = c.update(plaintext);
  c.final();
  return Buffer.concat([body, c.getAuthTag()]);
}

/** aeadOpen reverses aeadSeal; null when the input is too short or does not authenticate. */
export function aeadOpen(key: Uint8Array, counter: number, sealed: Uint8Array, aad: Uint8Array): Buffer | null {
  if (sealed.length < TAG_SIZE) return null;
  const bodyLen = sealed.length - TAG_SIZE;
  try {
    const d = createDecipheriv('chacha20-poly1305', key, counterNonce(counter), { authTagLength: TAG_SIZE });
    d.setAuthTag(sealed.subarray(bodyLen));
    d.setAAD(aad, { plaintextLength: bodyLen });
    const body = d.update(sealed.subarray(0, bodyLen));
    d.final();
    return body;
  } catch {
    return null;
  }
}

/** xaeadSeal is XAEAD(key, nonce, plaintext, aad): XChaCha20-Poly1305 with a 24-byte nonce. */
export function xaeadSeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Buffer {
  return Buffer.from(xchacha20poly1305(key, nonce, aad).encrypt(plaintext));
}

/** xaeadOpen reverses xaeadSeal; null when it does not authenticate. */
export function xaeadOpen(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Buffer | null {
  try {
    return Buffer.from(xchacha20poly1305(key, nonce, aad).decrypt(sealed));
  } catch {
    return null;
  }
}

/**
 * dh is DH(private, public) = X25519. It returns null instead of the all-zero secret that a
 * low-order public key produces (OpenSSL refuses to derive it), which callers treat as a bad
 * message: accepting it would let an attacker force a known shared secret.
 */
export function dh(priv: KeyObject | Uint8Array, pub: KeyObject | Uint8Array): Buffer | null {
  try {
    const privateKey = priv instanceof Uint8Array ? privateKeyObject(priv) : priv;
    const publicKey = pub instanceof Uint8Array ? publicKeyObject(pub) : pub;
    const out = diffieHellman({ privateKey, publicKey });
    return out.every((b) => b === 0) ? null : out;
  } catch {
    return null;
  }
}

const TAI64_BASE = 0x400000000000000an;
// Nanoseconds are rounded down to about 16 ms (the low 24 bits cleared), as wireguard-go does,
// so a peer cannot read our clock precisely from our handshakes.
const TAI64N_WHITENER = 0xffffff;

/** tai64n encodes a wall-clock time (ns since the Unix epoch) as a 12-byte big-endian TAI64N label. */
export function tai64n(wallNs: bigint): Buffer {
  const out = Buffer.alloc(TAI64N_SIZE);
  const secs = wallNs / 1_000_000_000n;
  const nanos = Number(wallNs % 1_000_000_000n);
  out.writeBigUInt64BE(TAI64_BASE + secs, 0);
  out.writeUInt32BE((nanos & ~TAI64N_WHITENER) >>> 0, 8);
  return out;
}

/** EMPTY_BYTES is ε, the empty byte string. */
export const EMPTY_BYTES = EMPTY;
