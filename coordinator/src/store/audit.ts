// The audit log: admin actions and refused attempts, written to the store (audit-rows.ts). An
// admin action is always written. A refused attempt comes from the network, so it is bounded
// before it is written: at most AUDIT_LIMITS.refusedPerSource entries per source address and
// refusedPerWindow in all per one-minute window; what is held back is written as a few
// "and K more" summaries when the window ends. The table is pruned to maxRows and maxAgeMs, so
// neither a busy coordinator nor an attacker can grow it without end.
//
// An admin action is written at once, as the change it records was. Refused attempts are
// queued and written together, at most FLUSH_AFTER_MS later, in one transaction: each commit
// costs an fsync (synchronous=FULL, a few ms), which must not be paid per refused request.
import type { Store } from './store.js';
import type { AuditRecord } from './audit-rows.js';

/** AUDIT_LIMITS are the defaults (docs/coordinator.md "Audit log"). */
export const AUDIT_LIMITS = {
  windowMs: 60_000,
  refusedPerSource: 20,
  refusedPerWindow: 600,
  /** sources: how many source addresses one window keeps counts for. */
  sources: 10_000,
  /** summaries: the sources with the most held-back entries get one each; the rest one in all. */
  summaries: 20,
  maxRows: 100_000,
  maxAgeMs: 90 * 24 * 3600_000,
};
export type AuditLimits = typeof AUDIT_LIMITS;

/** AuditEvent is what callers give: the record without time and outcome. */
export interface AuditEvent {
  actor: string;
  source: string | null;
  action: string;
  target: string;
  detail?: string | null;
}

interface SourceCount {
  written: number;
  held: number;
  actor: string;
  actions: Set<string>;
}

const ACTIONS_NAMED = 4;
/** FLUSH_AFTER_MS: how long a refused attempt may wait in the queue; FLUSH_AT: a queue this
 * long is written at once. */
const FLUSH_AFTER_MS = 1000;
const FLUSH_AT = 100;

/** AuditLog writes entries through the store; every method is synchronous and never throws
 * (a failed write is reported to onError: the audited action itself went through). */
export class AuditLog {
  private window = -1;
  private written = 0;
  private heldUntracked = 0;
  private readonly sources = new Map<string, SourceCount>();
  private timer: NodeJS.Timeout | null = null;
  private queued: AuditRecord[] = [];
  private flushTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly store: Store,
    private readonly now: () => number,
    private readonly onError: (e: Error) => void,
    private readonly limits: AuditLimits = AUDIT_LIMITS,
  ) {}

  /** ok records a done action, now (after the queued refusals, so entries stay in order). */
  ok(e: AuditEvent): void {
    this.queued.push({ ...base(e), at: this.now(), outcome: 'ok', reason: null });
    this.flush();
  }

  /** okWithin records a done action inside the transaction that does it (the caller's, which
   * must be open): one commit, one fsync, for the change and its entry. Queued refusals go first,
   * so entries stay in order; if the transaction rolls back, they are queued again. */
  okWithin(e: AuditEvent): void {
    const batch = this.queued;
    this.queued = [];
    try {
      for (const r of batch) this.store.appendAudit(r);
      this.store.appendAudit({ ...base(e), at: this.now(), outcome: 'ok', reason: null });
    } catch (err) {
      this.queued = [...batch, ...this.queued];
      throw err;
    }
  }

  /** refused records a refused attempt, unless its source or the window is over its limit. */
  refused(e: AuditEvent, reason: string): void {
    const at = this.now();
    this.roll(at);
    const key = e.source ?? '-';
    let c = this.sources.get(key);
    if (!c && this.sources.size < this.limits.sources) {
      c = { written: 0, held: 0, actor: e.actor, actions: new Set() };
      this.sources.set(key, c);
    }
    if (!c) {
      this.heldUntracked++;
      return;
    }
    if (c.written >= this.limits.refusedPerSource || this.written >= this.limits.refusedPerWindow) {
      c.held++;
      c.actor = e.actor;
      if (c.actions.size < ACTIONS_NAMED) c.actions.add(e.action);
      return;
    }
    c.written++;
    this.written++;
    this.queue({ ...base(e), at, outcome: 'refused', reason });
  }

  /** flush writes the queued entries in one transaction. */
  flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    if (this.queued.length === 0) return;
    const batch = this.queued;
    this.queued = [];
    try {
      this.store.transaction(() => {
        for (const r of batch) this.store.appendAudit(r);
      });
    } catch (e) {
      this.onError(e as Error);
    }
  }

  /** tick ends a finished window (writing its summaries) and prunes the table. */
  tick(): void {
    const at = this.now();
    this.roll(at);
    this.flush();
    try {
      this.store.pruneAudit(this.limits.maxRows, at - this.limits.maxAgeMs);
    } catch (e) {
      this.onError(e as Error);
    }
  }

  /** start prunes now and then ticks every window; stop writes what is held back. */
  start(): void {
    this.tick();
    this.timer = setInterval(() => this.tick(), this.limits.windowMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.summarise(this.now());
    this.flush();
  }

  /** roll starts a new window when at is past the current one, summarising the old one. */
  private roll(at: number): void {
    const w = Math.floor(at / this.limits.windowMs);
    if (w === this.window) return;
    this.summarise(at);
    this.window = w;
  }

  private summarise(at: number): void {
    const held = [...this.sources.entries()].filter(([, c]) => c.held > 0).sort((a, b) => b[1].held - a[1].held);
    const since = new Date(this.window * this.limits.windowMs).toISOString();
    for (const [source, c] of held.slice(0, this.limits.summaries)) {
      this.queue({
        at,
        actor: c.actor,
        source: source === '-' ? null : source,
        action: [...c.actions].join(','),
        target: '-',
        outcome: 'refused',
        reason: 'summary',
        detail: `and ${c.held} more refused from this source in the minute from ${since}`,
      });
    }
    const rest = held.slice(this.limits.summaries).reduce((n, [, c]) => n + c.held, 0) + this.heldUntracked;
    if (rest > 0) {
      this.queue({
        at,
        actor: 'anonymous',
        source: null,
        action: '-',
        target: '-',
        outcome: 'refused',
        reason: 'summary',
        detail: `and ${rest} more refused from other sources in the minute from ${since}`,
      });
    }
    this.sources.clear();
    this.written = 0;
    this.heldUntracked = 0;
  }

  private queue(r: AuditRecord): void {
    this.queued.push(r);
    if (this.queued.length >= FLUSH_AT) this.flush();
    else if (!this.flushTimer) {
      this.flushTimer = setTimeout(() => this.flush(), FLUSH_AFTER_MS);
      this.flushTimer.unref();
    }
  }
}

function base(e: AuditEvent): Omit<AuditRecord, 'at' | 'outcome' | 'reason'> {
  return { actor: e.actor, source: e.source, action: e.action, target: e.target, detail: e.detail ?? null };
}
