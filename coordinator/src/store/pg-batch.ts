// What a batch of changes (registry-batch.ts) keeps in memory on PostgreSQL between its first
// statement and its COMMIT, so that it waits for answers per batch rather than per request:
// the map version and change sequence it read under their row locks (no one else can bump
// them until it commits, so each bump is counted here and written once), and, when its checks
// are deferred, the key uses it counted (written in one statement, warren_use_keys) and the
// keys it looked up. What a rolled-back savepoint counted is given back.
import type { EnrolmentKey } from '../auth/enrolment-keys.js';

/** TAIL_SQL writes what a batch counted in one statement: the key uses (warren_use_keys,
 * migrations-pg.ts step 10, fails the transaction when a key is used up or revoked), the map
 * version and the change sequence, and the notification of the change (sent at COMMIT). */
export function tailSql(channel: string): string {
  return `WITH m AS (
      UPDATE meta SET value = CASE key WHEN 'map_version' THEN $3::bigint ELSE $4::bigint END::text
        WHERE key IN ('map_version', 'change_seq') RETURNING key
    ) SELECT warren_use_keys($1::text[], $2::int[]), pg_notify('${channel}', $4::text)
      FROM m WHERE key = 'change_seq'`;
}

/** LOCK_SQL locks and reads the change sequence's row; the map version's row is locked first by
 * the statement before it (store.ts lockMapVersion: every writer takes that one first). */
export const LOCK_SQL = `SELECT key, value FROM meta WHERE key IN ('map_version', 'change_seq') FOR UPDATE`;

/** BatchTail is what a batch writes before its COMMIT (null fields: nothing to write). */
export interface BatchTail {
  keyIds: string[];
  keyUses: number[];
  /** version and seq are null when no change was counted (the uses alone then). */
  version: number | null;
  seq: number | null;
}

/** HeldAt is how much a batch had counted when a savepoint opened (HeldBatch.at). */
export interface HeldAt {
  bumps: number;
  uses: number;
}

/** HeldBatch is one batch's counts, in the order they were taken. */
export class HeldBatch {
  private bumps = 0;
  private uses: string[] = [];
  private readonly keys = new Map<string, EnrolmentKey | null>();

  /** version is the last version handed out; seq the change sequence as read. */
  constructor(
    private version: number,
    private readonly seq: number,
    readonly deferChecks: boolean,
  ) {}

  /** bump counts one version as bumpMapVersion does (floor: a version used in memory). */
  bump(floor: number): number {
    this.version = Math.max(this.version, floor) + 1;
    this.bumps++;
    return this.version;
  }

  /** use counts one use of a key, written at the tail. */
  use(id: string): void {
    this.uses.push(id);
  }

  /** key answers a lookup from the batch's own, with the uses this batch counted added; absent
   * (undefined) the caller reads the store and remembers it here. */
  key(hash: string): EnrolmentKey | null | undefined {
    const k = this.keys.get(hash);
    if (!k) return k;
    const counted = this.uses.reduce((n, id) => n + (id === k.id ? 1 : 0), 0);
    return { ...k, tags: [...k.tags], uses: k.uses + counted };
  }

  remember(hash: string, k: EnrolmentKey | null): void {
    this.keys.set(hash, k);
  }

  /** at is what was counted so far: a savepoint opening now rolls back to it. */
  at(): HeldAt {
    return { bumps: this.bumps, uses: this.uses.length };
  }

  /** rollback gives back what was counted since at. The versions handed out stay spent:
   * versions may jump (registry.ts SOFT_VERSIONS), never go back. */
  rollback(at: HeldAt): void {
    this.bumps = Math.min(this.bumps, at.bumps);
    this.uses.length = Math.min(this.uses.length, at.uses);
  }

  /** tail is what to write before COMMIT, or null when nothing was counted. */
  tail(): BatchTail | null {
    if (this.bumps === 0 && this.uses.length === 0) return null;
    const counts = new Map<string, number>();
    for (const id of this.uses) counts.set(id, (counts.get(id) ?? 0) + 1);
    const changed = this.bumps > 0;
    return {
      keyIds: [...counts.keys()],
      keyUses: [...counts.values()],
      version: changed ? this.version : null,
      seq: changed ? this.seq + 1 : null,
    };
  }
}
