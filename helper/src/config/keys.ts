// X25519 keys in WireGuard's text form (RFC 7748 §5; wg(8) "genkey", "pubkey").
// The X25519 arithmetic is the protocol core's (wireguard/noise/keys.ts); this module adds the
// strict text form and the error messages the profile loader and the CLI show people.
import {
  generatePrivateKey as noiseGeneratePrivateKey, publicKeyFromPrivate as noisePublicKeyFromPrivate,
} from '../wireguard/noise/keys.js';

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

/** generatePrivateKey returns a new clamped X25519 private key (the protocol core's). */
export function generatePrivateKey(): Buffer {
  return noiseGeneratePrivateKey();
}

/** publicKeyFromPrivate computes the X25519 public key with the protocol core's X25519. */
export function publicKeyFromPrivate(priv: Uint8Array): Buffer {
  if (priv.length !== KEY_BYTES) throw new KeyFormatError(`private key has ${priv.length} bytes, expected ${KEY_BYTES}`);
  return noisePublicKeyFromPrivate(Buffer.from(priv));
}
