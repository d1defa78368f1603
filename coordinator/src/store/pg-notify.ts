// How a coordinator learns what the other coordinators on the same PostgreSQL database changed
// (docs/coordinator.md "Several coordinators"). Every change bumps the change sequence and
// sends NOTIFY warren_changes in its transaction (postgres-store.ts), so the notification
// arrives only once the change is committed. Each coordinator holds one LISTEN connection (the
// asynchronous `pg` client on the main thread; statements keep going through the synchronous
// bridge) and on a notification reads the sequence: when every change since it last looked was
// its own nothing is reloaded, otherwise the registry reloads the systems written or removed
// since it last looked (not the whole table: with thousands of systems enrolling through two
// coordinators that was a full read per change) and the policy, and its listeners (the map
// publisher) hear of each change. A notification lost with the connection is made up for by a
// catch-up on every reconnect and every CATCH_UP_MS.
import pg from 'pg';
import type { Logger } from '../../../src-shared/lib/log.js';
import { redactUrl } from './pg-bridge.js';
import { CHANGE_CHANNEL, type PostgresStore } from './postgres-store.js';
import type { Registry } from './registry.js';
import type { StoredChanges } from './registry-sync.js';
import { usersOf } from './users.js';

/** CATCH_UP_MS is how often the sequence is read even without a notification. */
export const CATCH_UP_MS = 2000;
/** REMOVALS_KEPT_MS is how long removed systems' ids are kept for the other coordinators to
 * read; a coordinator that has not looked for FULL_RELOAD_AFTER_MS reads everything instead. */
const REMOVALS_KEPT_MS = 24 * 3600_000;
const FULL_RELOAD_AFTER_MS = 3600_000;
/** SYNC_DELAY_MS coalesces a burst of notifications into one look at the database. */
const SYNC_DELAY_MS = 10;
const RECONNECT_MIN_MS = 250;
const RECONNECT_MAX_MS = 5000;

/** catchUp is a ChangeFollower's reload for a registry: the changes since the last look (or
 * everything), the users read again only when one was written since (or it is unknown). */
export function catchUp(registry: Registry, now: number, changes?: StoredChanges): void {
  registry.reload(now, (changes?.usersChanged ?? true) && usersOf(registry).refresh(), changes);
}

/** ChangeFollower decides whether the database holds changes this coordinator did not make. */
export class ChangeFollower {
  private synced: number;
  /** mark: changes not yet read were made by transactions at or after it; lookedAt when. */
  private mark: string;
  private lookedAt: number;
  private prunedAt = 0;

  /** reload brings memory up to the database (Registry.reload): the changes since the last
   * look, or everything (undefined). The caller reads everything once after constructing. */
  constructor(
    private readonly store: PostgresStore,
    private readonly reload: (changes?: StoredChanges) => void,
    private readonly now: () => number = Date.now,
  ) {
    const m = store.changeMark();
    this.synced = m.seq;
    this.mark = m.mark;
    this.lookedAt = now();
  }

  /** sync reloads when a change by another coordinator was committed since the last look; it
   * returns whether it did. The mark and the sequence come from one snapshot taken before the
   * rows are read: a change the sequence does not show yet is at or after the mark. */
  sync(): boolean {
    const { seq: now, mark } = this.store.changeMark();
    const stale = this.now() - this.lookedAt > FULL_RELOAD_AFTER_MS;
    const foreign = this.foreignUpTo(now);
    for (const seq of this.store.ownChanges) if (seq <= now) this.store.ownChanges.delete(seq);
    if (foreign) this.reload(stale ? undefined : this.store.systemsChangedSince(this.mark));
    this.synced = Math.max(this.synced, now);
    this.mark = mark;
    this.lookedAt = this.now();
    this.prune();
    return foreign;
  }

  private foreignUpTo(seq: number): boolean {
    for (let n = this.synced + 1; n <= seq; n++) if (!this.store.ownChanges.has(n)) return true;
    return false;
  }

  /** prune forgets removals every coordinator has read, at most once an hour. */
  private prune(): void {
    if (this.lookedAt - this.prunedAt < FULL_RELOAD_AFTER_MS) return;
    this.prunedAt = this.lookedAt;
    this.store.pruneRemoved(this.lookedAt - REMOVALS_KEPT_MS);
  }
}

/** ChangeListener keeps the LISTEN connection and calls onChange (coalesced) on every
 * notification, reconnect and catch-up tick. */
export class ChangeListener {
  private client: pg.Client | null = null;
  private stopped = false;
  private attempt = 0;
  private tick: NodeJS.Timeout | null = null;
  private pending: NodeJS.Timeout | null = null;
  private redial: NodeJS.Timeout | null = null;

  constructor(
    private readonly url: string,
    private readonly onChange: () => void,
    private readonly log: Logger,
    catchUpMs = CATCH_UP_MS,
  ) {
    this.tick = setInterval(() => this.soon(), catchUpMs);
    this.tick.unref();
  }

  /** start connects; a failure is logged and retried, never thrown. */
  async start(): Promise<void> {
    await this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of [this.tick, this.pending, this.redial]) if (t) clearTimeout(t);
    const c = this.client;
    this.client = null;
    await c?.end().catch(() => {});
  }

  private soon(): void {
    if (this.pending || this.stopped) return;
    this.pending = setTimeout(() => {
      this.pending = null;
      if (!this.stopped) this.onChange();
    }, SYNC_DELAY_MS);
  }

  private async connect(): Promise<void> {
    const c = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: 10_000 });
    c.on('notification', (n) => {
      if (n.channel === CHANGE_CHANNEL) this.soon();
    });
    c.on('error', (e) => this.lost(c, e));
    c.on('end', () => this.lost(c, new Error('the connection ended')));
    try {
      await c.connect();
      await c.query(`LISTEN ${CHANGE_CHANNEL}`);
    } catch (e) {
      this.lost(c, e as Error);
      return;
    }
    if (this.stopped) {
      await c.end().catch(() => {});
      return;
    }
    this.client = c;
    if (this.attempt > 0) this.log.info("listening for other coordinators' changes again");
    this.attempt = 0;
    // Whatever was committed while nobody listened.
    this.soon();
  }

  private lost(c: pg.Client, e: Error): void {
    if (this.stopped || (this.client !== null && this.client !== c) || this.redial) return;
    this.client = null;
    c.end().catch(() => {});
    const wait = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** Math.min(this.attempt++, 8));
    this.log
      .rateLimited('pg-listen', 30_000)
      .warn(
        `lost the LISTEN connection to ${redactUrl(this.url)} (${e.message}); changes by other coordinators are caught up every ${CATCH_UP_MS / 1000} s until it is back`,
      );
    this.redial = setTimeout(() => {
      this.redial = null;
      void this.connect();
    }, wait);
    this.redial.unref();
  }
}
