// A system's short identity: DESIGN.md "Identity". Five characters of Crockford base32 taken from
// the first 25 bits of SHA-256 of the X25519 public key; uniqueness inside a network is the
// coordinator's job, so this is a label, never an authenticator.
import { createHash } from 'node:crypto';

/** CROCKFORD_ALPHABET is Crockford's base32 alphabet (no I, L, O, U). */
export const CROCKFORD_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** IDENTITY_LENGTH is the number of characters in an identity. */
export const IDENTITY_LENGTH = 5;

/** identityFromPublicKey derives the identity, most significant bits first. */
export function identityFromPublicKey(pub: Uint8Array): string {
  const h = createHash('sha256').update(pub).digest();
  // 25 bits: all of bytes 0-2 and the top bit of byte 3; fits a double exactly.
  let bits = h[0]! * 2 ** 17 + h[1]! * 2 ** 9 + h[2]! * 2 + (h[3]! >> 7);
  let out = '';
  for (let i = 0; i < IDENTITY_LENGTH; i++) {
    out = CROCKFORD_ALPHABET[bits % 32]! + out;
    bits = Math.floor(bits / 32);
  }
  return out;
}

/** isIdentity tells whether s is written as an identity (upper case, Crockford alphabet). */
export function isIdentity(s: string): boolean {
  return /^[0-9A-HJKMNP-TV-Z]{5}$/.test(s);
}
