// Enrolment keys: what an admin hands to a system so it may join. Only a SHA-256 hash of each
// key is stored, so a copy of the database does not let anyone enrol; the key itself has 256
// random bits, so a hash without salt or stretching is enough (nothing to guess).
import { createHash, randomBytes } from 'node:crypto';
import type { AdminKey, Approval } from '../../../src-shared/wire/admin.js';
import type { ControlErrorCode } from '../../../src-shared/wire/control.js';

/** Approval says whether systems enrolled with a key start active or wait for an admin. */
export type { Approval };

/** KEY_LIMITS bound what a key may carry. */
export const KEY_LIMITS = {
  tagsPerKey: 32,
  maxUses: 1_000_000,
  keyChars: 128,
} as const;

const KEY_PREFIX = 'wek-';
const KEY_SHAPE = /^wek-[A-Za-z0-9_-]{43}$/;

/** EnrolmentKey is a key as stored: everything but the key itself, which only its hash stands
 * for. The admin API lists it without the hash and with its status (AdminKey). */
export interface EnrolmentKey extends Omit<AdminKey, 'status'> {
  hash: string;
}

/** newKeyText returns a fresh key ("wek-" and 43 base64url characters) and its id. */
export function newKeyText(): { key: string; id: string } {
  return { key: `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`, id: `k${randomBytes(6).toString('hex')}` };
}

/** hashKey is what the store keeps and looks keys up by. */
export function hashKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** looksLikeKey tells whether text has the shape of a key, so that typos fail before a lookup. */
export function looksLikeKey(text: string): boolean {
  return KEY_SHAPE.test(text);
}

/** KeyRefusal is why a stored key cannot be used now. */
export type KeyRefusal = Extract<ControlErrorCode, 'key-expired' | 'key-used-up' | 'key-revoked'>;

/** keyRefusal says why a key cannot enrol a new system at `now`, or null when it can. A revoked
 * key says so even when it has also expired: that is the more useful thing to hear. */
export function keyRefusal(k: EnrolmentKey, now: number): KeyRefusal | null {
  if (k.revokedAt !== null) return 'key-revoked';
  if (now >= k.expiresAt) return 'key-expired';
  if (k.uses >= k.usesAllowed) return 'key-used-up';
  return null;
}

/** KEY_REFUSAL_MESSAGES tell the person at the enrolling system what to do. */
export const KEY_REFUSAL_MESSAGES: Record<KeyRefusal | 'key-invalid', string> = {
  'key-invalid':
    'this enrolment key is not known to the coordinator; check it was copied whole, or ask the admin for a new one',
  'key-expired': 'this enrolment key has expired; ask the admin for a new one',
  'key-used-up': 'this enrolment key has been used as many times as it allows; ask the admin for a new one',
  'key-revoked': 'this enrolment key was revoked by the admin; ask for a new one',
};
