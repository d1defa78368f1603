// A system's short identity: DESIGN.md "Identity". Five characters of Crockford base32 (25
// bits). In static mode it is taken from the first 25 bits of SHA-256 of the X25519 public key;
// in coordinated mode the coordinator issues it at random and never issues it twice
// (docs/coordinator.md "Identities"), because 25 bits of a hash can be ground to match any
// identity a policy names. Either way it is a label, never an authenticator.
import { createHash } from 'node:crypto';

/** CROCKFORD_ALPHABET is Crockford's base32 alphabet (no I, L, O, U). */
export const CROCKFORD_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** IDENTITY_LENGTH is the number of characters in an identity. */
export const IDENTITY_LENGTH = 5;

/** IDENTITY_SPACE is how many identities there are: 32^5 = 2^25. */
export const IDENTITY_SPACE = 32 ** IDENTITY_LENGTH;

/** formatIdentity writes n (a whole number below IDENTITY_SPACE) as an identity, most
 * significant character first. */
export function formatIdentity(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n >= IDENTITY_SPACE) throw new RangeError(`${n} is not an identity number`);
  let bits = n;
  let out = '';
  for (let i = 0; i < IDENTITY_LENGTH; i++) {
    out = CROCKFORD_ALPHABET[bits % 32]! + out;
    bits = Math.floor(bits / 32);
  }
  return out;
}

/** identityFromPublicKey derives the identity (static mode), most significant bits first. */
export function identityFromPublicKey(pub: Uint8Array): string {
  const h = createHash('sha256').update(pub).digest();
  // 25 bits: all of bytes 0-2 and the top bit of byte 3; fits a double exactly.
  return formatIdentity(h[0]! * 2 ** 17 + h[1]! * 2 ** 9 + h[2]! * 2 + (h[3]! >> 7));
}

/** isIdentity tells whether s is written as an identity (upper case, Crockford alphabet). */
export function isIdentity(s: string): boolean {
  return /^[0-9A-HJKMNP-TV-Z]{5}$/.test(s);
}
