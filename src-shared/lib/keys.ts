// X25519 keys (RFC 7748 §5) in WireGuard's text form (wg(8) "genkey", "pubkey"): clamping,
// derivation through node:crypto (OpenSSL), the strict text form and the error messages the
// profile loader and the CLI show people. The protocol core (helper/src/wireguard/noise) uses
// the same key objects for its Diffie-Hellman.
import { createPrivateKey, createPublicKey, randomBytes, type KeyObject } from 'node:crypto';

/** KEY_BYTES is the length of every X25519 key and WireGuard pre-shared key. */
export const KEY_BYTES = 32;

/** KEY_FORMAT_HINT describes the accepted text form, for error messages. */
export const KEY_FORMAT_HINT = '44 characters of standard base64 encoding 32 bytes, as printed by `warren genkey`';

/** KeyFormatError reports text that is not a WireGuard key; it never quotes the text itself. */
export class KeyFormatError extends Error {
  override name = 'KeyFormatError';
}

const BASE64_KEY = /^[A-Za-z0-9+/]{43}=$/;

/**
 * parseKey decodes a key written in standard base64 with padding (44 characters, 32 bytes).
 * Non-canonical encodings (stray low bits in the last character) are refused so that every key
 * has exactly one text form, which keeps duplicate detection honest.
 */
export function parseKey(b64: string): Buffer {
  if (typeof b64 !== 'string') throw new KeyFormatError(`not a string (expected ${KEY_FORMAT_HINT})`);
  if (b64.length !== 44) {
    throw new KeyFormatError(`has ${b64.length} characters (expected ${KEY_FORMAT_HINT})`);
  }
  if (!BASE64_KEY.test(b64)) throw new KeyFormatError(`is not valid base64 (expected ${KEY_FORMAT_HINT})`);
  const key = Buffer.from(b64, 'base64');
  if (key.length !== KEY_BYTES || key.toString('base64') !== b64) {
    throw new KeyFormatError(`is not a canonical base64 key (expected ${KEY_FORMAT_HINT})`);
  }
  return key;
}

/** formatKey writes a 32-byte key in standard base64 with padding. */
export function formatKey(key: Uint8Array): string {
  if (key.length !== KEY_BYTES) throw new KeyFormatError(`key has ${key.length} bytes, expected ${KEY_BYTES}`);
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('base64');
}

/** isZeroKey tells whether every byte is zero (an unset key, never a usable one). */
export function isZeroKey(key: Uint8Array): boolean {
  let acc = 0;
  for (const b of key) acc |= b;
  return acc === 0;
}

// DER prefix of PKCS#8 X25519 private keys (RFC 8410 §7); the raw key follows.
const PKCS8_X25519_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

/** privateKeyObject wraps a raw X25519 private key for node:crypto (which clamps it itself).
 * The DER copy it parses is zeroed at once: small buffers share Node's allocation pool, where
 * a copy of the key would otherwise stay readable until the pool is reused. */
export function privateKeyObject(raw: Uint8Array): KeyObject {
  const der = Buffer.concat([PKCS8_X25519_PREFIX, raw]);
  try {
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } finally {
    der.fill(0);
  }
}

/**
 * publicKeyObject wraps a raw X25519 public key for node:crypto. It goes through JWK (RFC 8037),
 * which Node turns into a key straight from the raw bytes, rather than through SPKI DER, which
 * OpenSSL 3's decoders parse about ten times slower (8 µs against 106 µs here). Every initiation
 * a responder opens imports the sender's ephemeral key this way, before it knows who sent it.
 */
export function publicKeyObject(raw: Uint8Array): KeyObject {
  if (raw.length !== KEY_BYTES) throw new KeyFormatError(`public key has ${raw.length} bytes, expected ${KEY_BYTES}`);
  const x = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64url');
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x }, format: 'jwk' });
}

/** rawPublicKey derives the raw 32-byte public key of a private key (exported as JWK, which
 * costs a twentieth of a DER export). */
export function rawPublicKey(priv: KeyObject): Buffer {
  const { x } = createPublicKey(priv).export({ format: 'jwk' });
  if (x === undefined) throw new Error('X25519 key export has no public part');
  return Buffer.from(x, 'base64url');
}

/** clampPrivateKey applies the X25519 clamping (RFC 7748 §5) in place and returns the key. */
export function clampPrivateKey(k: Buffer): Buffer {
  k[0] = (k[0] ?? 0) & 248;
  k[31] = ((k[31] ?? 0) & 127) | 64;
  return k;
}

/** generatePrivateKey returns a new clamped X25519 private key, like `wg genkey`. */
export function generatePrivateKey(): Buffer {
  return clampPrivateKey(randomBytes(KEY_BYTES));
}

/** publicKeyFromPrivate derives the X25519 public key, like `wg pubkey`. */
export function publicKeyFromPrivate(priv: Uint8Array): Buffer {
  if (priv.length !== KEY_BYTES)
    throw new KeyFormatError(`private key has ${priv.length} bytes, expected ${KEY_BYTES}`);
  return rawPublicKey(privateKeyObject(priv));
}
