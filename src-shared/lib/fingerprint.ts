// A key's fingerprint: a short form of a public key that people compare by eye, as with SSH
// host key fingerprints. The coordinator shows it next to its key (`warren-coordinator key`, its
// start log line, serve.json) and `warren enrol` prints it for the key it pins, so the person
// enrolling can check both say the same. 16 bytes (128 bits) of SHA-256 are far beyond what a
// second preimage search can reach, yet short enough to read aloud.
import { createHash } from 'node:crypto';

/** FINGERPRINT_BYTES is how much of the SHA-256 a fingerprint shows. */
export const FINGERPRINT_BYTES = 16;

/** keyFingerprint is the first 16 bytes of SHA-256 of the raw key, as 8 groups of 4 lower-case
 * hex digits joined by '-' (e.g. 3f2a-9c1b-04de-77aa-0b1c-2d3e-4f50-6172). */
export function keyFingerprint(key: Uint8Array): string {
  const hex = createHash('sha256').update(key).digest().subarray(0, FINGERPRINT_BYTES).toString('hex');
  return hex.match(/.{4}/g)!.join('-');
}
