// How the coordinator's condition reads for people, shared by `warren status`, the renderer and
// the tray (no Node or DOM imports). The summary comes from another process: every field is
// read defensively, and a helper from before CoordinatorSummary.condition is read from its
// older fields.
import type { CoordinatorCondition, CoordinatorSummary } from './status.js';

const CONDITIONS: readonly CoordinatorCondition[] = [
  'connecting',
  'connected',
  'pending-approval',
  'unreachable',
  'rejected',
  'revoked',
  'bad-signature',
  'map-refused',
  'key-mismatch',
  'error',
];

/** conditionOf reads a summary's condition, or derives it from an older helper's fields. */
export function conditionOf(c: Partial<CoordinatorSummary>): CoordinatorCondition {
  if (CONDITIONS.includes(c.condition as CoordinatorCondition)) return c.condition as CoordinatorCondition;
  if (c.state === 'revoked') return 'revoked';
  if (c.state === 'pending') return 'pending-approval';
  if (c.reachable === true) return 'connected';
  return typeof c.lastContact === 'number' ? 'unreachable' : 'connecting';
}

/** CONDITION_WORDS are the condition in a few words, for `Coordinator:` lines. */
export const CONDITION_WORDS: Record<CoordinatorCondition, string> = {
  connecting: 'connecting',
  connected: 'connected',
  'pending-approval': 'pending approval',
  unreachable: 'unreachable',
  rejected: 'rejects this system',
  revoked: 'revoked this system',
  'bad-signature': 'bad map signature (not the pinned key)',
  'map-refused': 'map refused',
  'key-mismatch': "holds another WireGuard key for this system than the profile's",
  error: 'refuses to serve this system',
};

/** HELD_WORDS say, for the header, why a tunnel that is up reaches nobody. */
export const HELD_WORDS: Partial<Record<CoordinatorCondition, string>> = {
  'pending-approval': 'Waiting for approval',
  revoked: 'Revoked by the coordinator',
  rejected: 'Refused by the coordinator',
  'key-mismatch': 'Wrong private key',
  'bad-signature': "Coordinator's key does not match",
};

/** tunnelHeld says why a coordinated tunnel that is up has no usable map or peers because of
 * the coordinator, or returns null when it is not held. An outage alone does not hold a tunnel
 * that has a map: the helper keeps the map in force (docs/coordinator.md). */
export function tunnelHeld(c: Partial<CoordinatorSummary> | null | undefined): CoordinatorCondition | null {
  if (!c) return null;
  const cond = conditionOf(c);
  if (cond === 'pending-approval' || cond === 'revoked' || cond === 'rejected' || cond === 'key-mismatch') return cond;
  const hasMap = typeof c.mapVersion === 'number' && c.mapVersion > 0;
  return cond === 'connected' || hasMap ? null : cond;
}

/** heldPhrase is what `Tunnel:` says after "up, " for a held tunnel. */
export function heldPhrase(cond: CoordinatorCondition): string {
  switch (cond) {
    case 'pending-approval':
      return 'waiting for the coordinator (pending approval)';
    case 'revoked':
      return 'but revoked by the coordinator: no peers';
    case 'rejected':
      return 'but the coordinator refuses this system: no peers';
    case 'key-mismatch':
      return 'but peers expect another key: nobody is reachable';
    default:
      return 'waiting for the coordinator (no map yet)';
  }
}
