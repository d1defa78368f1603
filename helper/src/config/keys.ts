// X25519 keys in WireGuard's text form (RFC 7748 §5; wg(8) "genkey", "pubkey").
// The protocol core keeps its own copy in wireguard/noise/keys.ts; this one serves the profile
// loader and the CLI until the two are merged.
import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';

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

/** generatePrivateKey returns 32 random bytes clamped as RFC 7748 §5 decodeScalar25519 does. */
export function generatePrivateKey(): Buffer {
  const key = randomBytes(KEY_BYTES);
  key[0] = key[0]! & 248;
  key[31] = (key[31]! & 127) | 64;
  return key;
}

// PKCS#8 wrapping of a raw X25519 private key (RFC 8410 §7). Node 20 refuses a JWK private key
// without its public half "x", which is what we want to compute, so the DER form is used.
const PKCS8_X25519_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

/** publicKeyFromPrivate computes the X25519 public key (the scalar is clamped internally). */
export function publicKeyFromPrivate(priv: Uint8Array): Buffer {
  if (priv.length !== KEY_BYTES) throw new KeyFormatError(`private key has ${priv.length} bytes, expected ${KEY_BYTES}`);
  const keyObject = createPrivateKey({
    key: Buffer.concat([PKCS8_X25519_PREFIX, priv]),
    format: 'der',
    type: 'pkcs8',
  });
  const jwk = createPublicKey(keyObject).export({ format: 'jwk' });
  if (typeof jwk.x !== 'string') throw new Error('X25519 public key export returned no "x"');
  return Buffer.from(jwk.x, 'base64url');
}
