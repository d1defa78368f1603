// A map pass at the moment a UserAuthentication requirement lapses (user-auth.ts). Maps are
// computed when something changes; the passing of time changes nothing in the registry, so
// without this a lapsed sign-in would keep its grants until the next unrelated change. One timer,
// for the earliest lapse of the World in force, re-armed after every World is built: the work is
// one setTimeout per pass however many users and policies there are.
import { formatMaxAge } from '../../../src-shared/lib/user-auth-parse.js';
import type { AuditEvent } from '../store/audit.js';
import type { Registry } from '../store/registry.js';
import type { World } from './world.js';
import { lapseKey, type Lapse } from './user-auth.js';

/** MAX_TIMER_MS is the longest delay setTimeout takes (2^31 - 1 ms, about 24.8 days); a later
 * lapse is reached by waking then and arming again. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** LapseClock is the timer seam (tests use fake ones). */
export interface LapseClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(t: unknown): void;
}

const realClock: LapseClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (t) => clearTimeout(t as NodeJS.Timeout),
};

/** LapseTimer arms one timer for the earliest lapse; onLapse (a new World: Registry.timePassed)
 * runs then, and onLapsed hears each lapse once (the audit log). */
export class LapseTimer {
  private handle: unknown = null;
  private armedAt: number | null = null;
  /** reported names the lapses already told, as of the last World: bounded by the current lapses. */
  private reported = new Set<string>();

  constructor(
    private readonly onLapse: () => void,
    private readonly onLapsed: (l: Lapse) => void,
    private readonly clock: LapseClock = realClock,
  ) {}

  /** armedFor is the moment the timer is set for, or null. */
  get armedFor(): number | null {
    return this.armedAt;
  }

  /** observe takes a newly built World: tells its new lapses and arms for its next one. */
  observe(w: World): void {
    const now = new Set<string>();
    for (const p of w.policies) {
      for (const l of p.lapses) {
        const key = lapseKey(l.userId, l.policy, l.requirement, l.since);
        now.add(key);
        if (!this.reported.has(key)) this.onLapsed(l);
      }
    }
    this.reported = now;
    this.arm(w.nextLapseAt);
  }

  /** arm sets the timer for at (replacing an earlier one), or clears it for null. */
  arm(at: number | null): void {
    if (at === this.armedAt) return;
    this.stop();
    if (at === null) return;
    this.armedAt = at;
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, at - this.clock.now()));
    this.handle = this.clock.setTimeout(() => {
      this.handle = null;
      this.armedAt = null;
      this.onLapse();
    }, delay);
  }

  stop(): void {
    if (this.handle !== null) this.clock.clearTimeout(this.handle);
    this.handle = null;
    this.armedAt = null;
  }
}

const timers = new WeakMap<Registry, LapseTimer>();

/** watchLapses makes t hear every World the map builders of registry build. */
export function watchLapses(registry: Registry, t: LapseTimer): void {
  timers.set(registry, t);
}

/** noteWorld is called by MapBuilder with each World it builds. */
export function noteWorld(registry: Registry, w: World): void {
  timers.get(registry)?.observe(w);
}

/** startLapseTimer makes the coordinator's timer: a lapse computes every map again, and each
 * lapse is written to the audit log once as user.auth-expired. */
export function startLapseTimer(registry: Registry, audit: { ok(e: AuditEvent): void }): LapseTimer {
  const t = new LapseTimer(
    () => registry.worldChanged(),
    (l) =>
      audit.ok({
        actor: 'coordinator',
        source: null,
        action: 'user.auth-expired',
        target: l.email,
        detail: `policy ${JSON.stringify(l.policy)}: the sign-in at ${l.requirement.authority} is older than MaxAge ${formatMaxAge(l.requirement.maxAgeMs)} since ${new Date(l.since).toISOString()}`,
      }),
  );
  watchLapses(registry, t);
  return t;
}
