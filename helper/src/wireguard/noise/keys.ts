// X25519 static keys in WireGuard's text format (32 bytes, standard base64 with padding).
import { randomBytes } from 'node:crypto';
import { KEY_SIZE } from './constants.js';
import { privateKeyObject, rawPublicKey } from './crypto.js';

// A 32-byte value encodes to 43 base64 characters plus one '='; the last character carries only
// 4 significant bits, so it must be one whose low 2 bits are zero for the encoding to be canonical.
const CANONICAL_KEY = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;

/** clampPrivateKey applies the X25519 clamping (RFC 7748 §5) in place and returns the key. */
export function clampPrivateKey(k: Buffer): Buffer {
  k[0] = (k[0] ?? 0) & 248;
  k[31] = ((k[31] ?? 0) & 127) | 64;
  return k;
}

/** generatePrivateKey returns a new clamped X25519 private key, like `wg genkey`. */
export function generatePrivateKey(): Buffer {
  return clampPrivateKey(randomBytes(KEY_SIZE));
}

/** publicKeyFromPrivate derives the X25519 public key, like `wg pubkey`. */
export function publicKeyFromPrivate(k: Buffer): Buffer {
  if (k.length !== KEY_SIZE) throw new Error('private key must be 32 bytes');
  return rawPublicKey(privateKeyObject(k));
}

/** parseKey decodes a base64 key, refusing anything but the canonical 44-character form. */
export function parseKey(b64: string): Buffer {
  if (typeof b64 !== 'string' || !CANONICAL_KEY.test(b64)) {
    throw new Error('key must be 32 bytes of base64');
  }
  return Buffer.from(b64, 'base64');
}

/** formatKey encodes a 32-byte key as base64. */
export function formatKey(k: Buffer): string {
  if (k.length !== KEY_SIZE) throw new Error('key must be 32 bytes');
  return k.toString('base64');
}
