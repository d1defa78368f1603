// What a batch of changes (registry-batch.ts) keeps in memory on PostgreSQL between its first
// statement and its COMMIT, so that it waits for answers per batch rather than per request:
// the key uses it counted, the keys it looked up, and the map versions it handed out. What a
// rolled-back savepoint counted is given back.
//
// The batch takes no lock of its own until its end. Its last writes go in one run with its
// COMMIT (postgres-store.ts commitBatch, one round trip): the key uses (warren_use_keys, keys
// in id order), then the map version and the change sequence (pg-sql.ts bumpMapVersion: the
// version's row, then the sequence's), then COMMIT. So the two coordinators' batches overlap,
// and the rows every writer bumps are locked only while the server runs that tail.
//
// Why that keeps the order the other coordinators rely on: the new version and sequence are
// computed from the rows as they stand once locked (GREATEST(stored, floor) + 1; seq + 1), not
// from a value read earlier, and the locks are held until COMMIT. So the transaction that took
// sequence n (or version v) commits before any other can take n + 1 (or a version above v): a
// reader that has seen n + 1 has seen every change numbered n or below committed, never one
// committed behind it. pg-notify.ts ChangeFollower tells its own changes from the others' by
// these numbers. The rows a catch-up reads are chosen by transaction id against the oldest
// transaction still open at its last look (pg-sql.ts changeMark), so a batch that began before
// another and committed after it is still read.
//
// Lock order: every writer takes the meta rows last (registry.ts commit bumps after its
// writes; a batch's tail after its keys), and a batch takes its keys in id order: two writers
// never hold one of these rows each while waiting for the other's. The versions handed out in
// memory during the batch are at most the one stored (the stored one is raised to the last of
// them if another coordinator's was lower), so a restart's SOFT_VERSIONS jump still clears
// every map sent.
//
// A key's row changes only in its uses and its revocation, both one way and both checked again
// at COMMIT (warren_use_keys), so a batch may answer a key from the row an earlier batch read
// (KeyCache) instead of waiting for the database: a key used up or revoked meanwhile by another
// coordinator fails that batch's COMMIT, and its requests run again one by one on fresh reads.
// A repeat enrolment counts no use, so every key a batch answered from an earlier batch's row
// goes to that check with a count of 0 (revoked, or past its allowance, fails it just the same):
// a key revoked on another coordinator is refused at once, as with a fresh read. KEY_TRUST_MS
// bounds how stale a trusted row's other fields (its tags, its expiry) may be.
import type { EnrolmentKey } from '../auth/enrolment-keys.js';

/** KEY_TRUST_MS is how long a key row read by one batch answers later batches. */
export const KEY_TRUST_MS = 1000;
/** KEYS_KEPT bounds the rows kept (only keys that exist: a made-up key is read every time). */
const KEYS_KEPT = 256;

/** KeyCache holds the key rows batches read, with the uses this coordinator's batches
 * committed since added. */
export class KeyCache {
  private readonly keys = new Map<string, { key: EnrolmentKey; at: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  get(hash: string): EnrolmentKey | undefined {
    const e = this.keys.get(hash);
    if (e && this.now() - e.at < KEY_TRUST_MS) return e.key;
    if (e) this.keys.delete(hash);
    return undefined;
  }

  put(hash: string, key: EnrolmentKey | null): void {
    if (!key) return;
    if (this.keys.size >= KEYS_KEPT) this.keys.clear();
    this.keys.set(hash, { key: { ...key, tags: [...key.tags] }, at: this.now() });
  }

  /** used adds the uses a committed batch counted. */
  used(ids: readonly string[], uses: readonly number[]): void {
    for (const e of this.keys.values()) {
      const i = ids.indexOf(e.key.id);
      if (i >= 0) e.key.uses += uses[i]!;
    }
  }

  clear(): void {
    this.keys.clear();
  }
}

/** BatchTail is what a batch writes before its COMMIT. */
export interface BatchTail {
  /** keyIds (in id order) and keyUses: the uses to count, key by key. */
  keyIds: string[];
  keyUses: number[];
  /** version is the last version the batch handed out, or null when it counted no change. */
  version: number | null;
}

/** HeldAt is how much a batch had counted when a savepoint opened (HeldBatch.at). */
export interface HeldAt {
  bumps: number;
  uses: number;
}

/** HeldBatch is one batch's counts, in the order they were taken. */
export class HeldBatch {
  /** version is the last version handed out (0: none yet). */
  private version = 0;
  private bumps = 0;
  private uses: string[] = [];
  private readonly keys = new Map<string, EnrolmentKey | null>();
  /** trusted are the ids of the keys answered from the cache, checked again at COMMIT. */
  private readonly trusted = new Set<string>();

  /** cache answers keys read by earlier batches (KeyCache). */
  constructor(private readonly cache: KeyCache) {}

  /** bump counts one version as bumpMapVersion does (floor: a version used in memory; the
   * registry passes its own, which is at least the stored one as of its last catch-up). */
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
    if (!this.keys.has(hash)) {
      const cached = this.cache.get(hash);
      if (cached) {
        this.keys.set(hash, { ...cached, tags: [...cached.tags] });
        this.trusted.add(cached.id);
      }
    }
    const k = this.keys.get(hash);
    if (!k) return k;
    const counted = this.uses.reduce((n, id) => n + (id === k.id ? 1 : 0), 0);
    return { ...k, tags: [...k.tags], uses: k.uses + counted };
  }

  remember(hash: string, k: EnrolmentKey | null): void {
    this.keys.set(hash, k);
    this.cache.put(hash, k);
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
    if (this.bumps === 0 && this.uses.length === 0 && this.trusted.size === 0) return null;
    const counts = new Map<string, number>();
    for (const id of this.trusted) counts.set(id, 0);
    for (const id of this.uses) counts.set(id, (counts.get(id) ?? 0) + 1);
    const ids = [...counts.keys()].sort();
    return {
      keyIds: ids,
      keyUses: ids.map((id) => counts.get(id)!),
      version: this.bumps > 0 ? this.version : null,
    };
  }
}
