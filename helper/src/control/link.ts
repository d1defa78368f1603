// CoordinatorLink: how a coordinated helper stands with its coordinator, in one word (the
// CoordinatorCondition of src-shared/wire/status.ts), since when, and in whose words. Three
// sources feed it and are kept apart, because each clears on its own evidence:
// - the watch stream (connecting, connected, pending-approval, unreachable, rejected, error),
//   which changes with every dial;
// - the last map (bad-signature, map-refused), which clears only when a map is taken;
// - the coordinator's record of this system's WireGuard key (key-mismatch), which clears only
//   when a record matches again.
// revoked outranks everything: a revoked system stays revoked until it enrols again.
import type { CoordinatorCondition } from '../../../src-shared/wire/status.js';
import { ControlHttpError } from './http.js';
import { MapRejected } from '../../../src-shared/lib/netmap/open.js';

/** Fault is one condition with when it began and what was said about it. */
export interface Fault {
  condition: CoordinatorCondition;
  since: number;
  detail: string | null;
}

/** GATEWAY_DOWN are the statuses a proxy in front of the coordinator answers when the
 * coordinator behind it is down (RFC 9110 §15.6.3-5): the coordinator itself said nothing. */
const GATEWAY_DOWN = [502, 503, 504];

/** REJECTING_CODES are the coordinator's refusals of this system's signed requests
 * (coordinator/src/auth/agent-auth.ts): an unknown system id, a machine key that does not
 * verify, a clock too far off. Each needs the person: nothing changes by redialling. */
const REJECTING_CODES = ['unauthorized', 'bad-signature', 'clock-skew'];

/** conditionOfFailure maps what ended (or refused) a watch dial to a condition. */
export function conditionOfFailure(e: unknown): CoordinatorCondition {
  if (!(e instanceof ControlHttpError) || e.status === 0) return 'unreachable';
  if (e.code === 'http-error' && GATEWAY_DOWN.includes(e.status)) return 'unreachable';
  if (e.code === 'pending-approval') return 'pending-approval';
  if (e.code === 'revoked') return 'revoked';
  if (REJECTING_CODES.includes(e.code)) return 'rejected';
  return 'error';
}

/** conditionOfMapFailure maps why a map was not taken to a condition: a signature that does
 * not verify with the pinned key is told apart, since the fix (enrol again, or check the key
 * given with --coordinator-key) differs from a map this profile cannot use. */
export function conditionOfMapFailure(e: unknown): CoordinatorCondition {
  if (e instanceof MapRejected && e.message.startsWith('bad signature')) return 'bad-signature';
  return 'map-refused';
}

// Order in which faults outrank each other when more than one holds.
const RANK: CoordinatorCondition[] = [
  'revoked',
  'pending-approval',
  'rejected',
  'key-mismatch',
  'bad-signature',
  'map-refused',
];

/** CoordinatorLink keeps the three sources and answers with the one that matters most. */
export class CoordinatorLink {
  private link: Fault;
  private mapFault: Fault | null = null;
  private keyFault: Fault | null = null;
  private revokedAt: Fault | null = null;
  /** lastMapAt is when a map was last taken, or null. */
  lastMapAt: number | null = null;

  constructor(
    now: number,
    private readonly clock: () => number = Date.now,
  ) {
    this.link = { condition: 'connecting', since: now, detail: null };
  }

  /** opened: the watch stream is up. A pending system stays pending until a map comes. */
  opened(): void {
    if (this.link.condition !== 'pending-approval') this.setLink('connected', null);
  }

  /** failed: a dial failed or the stream ended, with the error (or a reason). */
  failed(e: unknown, reason: string | null): void {
    const c = conditionOfFailure(e);
    if (c === 'revoked') this.revoked(reason);
    // A pending system whose stream drops is still pending when the coordinator answers again;
    // until then, unreachable is the truth.
    this.setLink(c, reason);
  }

  pending(): void {
    this.setLink('pending-approval', null);
  }

  revoked(reason: string | null): void {
    this.revokedAt ??= { condition: 'revoked', since: this.clock(), detail: reason };
  }

  /** mapTaken: a verified map is in force. */
  mapTaken(): void {
    this.lastMapAt = this.clock();
    this.mapFault = null;
    if (this.link.condition === 'pending-approval') this.setLink('connected', null);
  }

  mapFailed(e: unknown): void {
    const condition = conditionOfMapFailure(e);
    const detail = (e as Error).message ?? String(e);
    if (this.mapFault?.condition === condition) this.mapFault.detail = detail;
    else this.mapFault = { condition, since: this.clock(), detail };
  }

  /** keyChecked records the coordinator's view of this system's WireGuard key: mismatch is a
   * sentence saying which key it holds, or null when it holds the profile's. */
  keyChecked(mismatch: string | null): void {
    if (mismatch === null) this.keyFault = null;
    else this.keyFault ??= { condition: 'key-mismatch', since: this.clock(), detail: mismatch };
  }

  /** current is the condition that matters most now. */
  current(): Fault {
    const faults = [this.revokedAt, this.link, this.keyFault, this.mapFault].filter((f): f is Fault => f !== null);
    for (const c of RANK) {
      const f = faults.find((x) => x.condition === c);
      if (f) return f;
    }
    return this.link;
  }

  private setLink(condition: CoordinatorCondition, detail: string | null): void {
    if (this.link.condition === condition) this.link.detail = detail;
    else this.link = { condition, since: this.clock(), detail };
  }
}
