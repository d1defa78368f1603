// The coordinator's state in PostgreSQL: the same tables as sqlite-store.ts (migrations-pg.ts)
// behind the same synchronous Store interface, through one connection in a worker thread
// (pg-bridge.ts). Constraints do what SQLite's do, so the rules hold whoever writes: unique
// addresses, names and identities among live systems, an identity issued once ever
// (issued_identities), and the map version bumped by one atomic upsert.
export { CHANGE_CHANNEL } from './pg-sql.js';
import { PENDING_SQL, type PendingOp } from './pending-logins.js';
import type { EnrolmentKey } from '../auth/enrolment-keys.js';
import { auditParams, listParams, type AuditFilter, type AuditRecord, type StoredAudit } from './audit-rows.js';
import { migratePg } from './migrations-pg.js';
import {
  checkedParams,
  claimParams,
  saveParams,
  toUser,
  USERS_SQL,
  type RawUser,
  type TokenCheck,
  type UserRow,
} from './users.js';
import { PgBridge, PgError, redactUrl } from './pg-bridge.js';
import { HeldBatch, KeyCache } from './pg-batch.js';
import { keyParams, SQL, systemParams } from './pg-sql.js';
import type { StoredChanges } from './registry-sync.js';
import {
  column,
  COLUMNS,
  KeyUsedUp,
  StoreConstraintError,
  toKey,
  USE_KEY_WHERE,
  toSystem,
  type AppliedPolicy,
  type RawKey,
  type RawSystem,
  type Store,
  type SystemPatch,
  type SystemRow,
} from './store.js';

/** ChangeMark is the change sequence a snapshot saw and the transaction mark to read the
 * systems that changed after it from (systemsChangedSince). */
export interface ChangeMark {
  seq: number;
  mark: string;
}

/** PostgresStore is the Store in a PostgreSQL database (`--store postgres://...`). */
export class PostgresStore implements Store {
  private readonly db: PgBridge;
  private depth = 0;
  /** ownChanges are the change sequence numbers this store's committed transactions took;
   * pending those of the open transaction, in the order they were taken. */
  readonly ownChanges = new Set<number>();
  private pending: number[] = [];
  /** held is the open batch's counts (pg-batch.ts), from beginBatch to its end. */
  private held: HeldBatch | null = null;
  private readonly keyCache = new KeyCache();
  /** tx is the open transaction's savepoints so far and, once one's rollback failed, why it
   * cannot commit (rollback). */
  private tx: { savepoints: number; broken: Error | null } = { savepoints: 0, broken: null };

  /** The constructor connects and migrates; it throws a message that says what to check. */
  constructor(url: string) {
    this.db = new PgBridge(url);
    try {
      this.db.query('SELECT 1');
    } catch (e) {
      this.db.close();
      throw new Error(
        `cannot use PostgreSQL at ${redactUrl(url)}: ${(e as Error).message}; check --store (postgres://USER[:PASSWORD]@HOST:PORT/DATABASE), that the server is up and that the database exists`,
      );
    }
    try {
      migratePg(this.db);
    } catch (e) {
      this.db.close();
      throw e;
    }
  }

  transaction<T>(fn: () => T): T {
    const depth = this.depth;
    if (depth === 0) this.tx = { savepoints: 0, broken: null };
    // Each savepoint's name is used once in a transaction: when its SAVEPOINT failed (a
    // statement sent before it had aborted the transaction), ROLLBACK TO it fails too rather
    // than landing on an older savepoint of the same name and undoing what came after that.
    const savepoint = depth === 0 ? null : `warren_${++this.tx.savepoints}`;
    // Deferred (pg-bridge.ts): a failure surfaces at the next statement that is waited for.
    this.db.defer(savepoint ? `SAVEPOINT ${savepoint}` : 'BEGIN');
    // What was taken so far: a rollback to this savepoint gives back only what came after.
    const taken = this.pending.length;
    const held = this.held?.at();
    this.depth++;
    try {
      const r = fn();
      if (savepoint) this.db.defer(`RELEASE SAVEPOINT ${savepoint}`);
      else this.commitBatch();
      if (depth === 0) this.settle(true);
      return r;
    } catch (e) {
      // What the rolled-back part took is given back: another writer may take those numbers.
      this.pending.length = Math.min(this.pending.length, taken);
      if (held) this.held?.rollback(held);
      if (depth === 0) this.settle(false);
      // A batch that failed may have trusted a key that changed: its requests read it afresh.
      if (depth === 0 && this.held) this.keyCache.clear();
      this.rollback(savepoint);
      throw e;
    } finally {
      this.depth--;
      if (depth === 0) this.held = null;
    }
  }

  /** rollback rolls the transaction back, or the open one to savepoint. A waited statement
   * answers the first error of the statements deferred since the last answer (pg-bridge.ts
   * defer), which may have failed before the savepoint and aborted the whole transaction: so a
   * savepoint's rollback that answers an error breaks the transaction, whatever its caller
   * does with the error, and its COMMIT is refused (commitBatch). */
  private rollback(savepoint: string | null): void {
    try {
      this.db.query(savepoint ? `ROLLBACK TO SAVEPOINT ${savepoint}` : 'ROLLBACK');
    } catch (e) {
      // The connection is gone, or the transaction failed: PostgreSQL rolls it back itself.
      if (savepoint === null) return;
      this.tx.broken ??= new Error(`the transaction failed before its savepoint: ${(e as Error).message}`, {
        cause: e,
      });
      throw this.tx.broken;
    }
  }

  /** commitBatch sends what the batch counted (pg-batch.ts) with COMMIT, and waits once for
   * both; without a batch, COMMIT alone. A key used up meanwhile fails the run (and the
   * batch is run again one request at a time). PostgreSQL answers the COMMIT of a transaction
   * it aborted with ROLLBACK and no error (the error went to an earlier answer), so the
   * command tag, not the absence of an error, says that it committed. */
  private commitBatch(): void {
    if (this.tx.broken) throw this.tx.broken;
    const t = this.held?.tail() ?? { keyIds: [], keyUses: [], version: null };
    const run = [];
    if (t.keyIds.length > 0) run.push({ sql: SQL.useKeys, params: [t.keyIds, t.keyUses] });
    // The floor makes the stored version at least the last one handed out in memory.
    if (t.version !== null) run.push({ sql: SQL.bumpMapVersion, params: [t.version - 1] });
    const answers = this.qAll([...run, { sql: 'COMMIT' }]);
    const tag = answers[run.length]?.command;
    if (tag !== 'COMMIT')
      throw new Error(`PostgreSQL did not commit the transaction (it answered ${tag ?? 'nothing'})`);
    if (t.version !== null) this.pending.push(Number(answers[run.length - 1]!.rows[0]!.seq));
    this.keyCache.used(t.keyIds, t.keyUses);
  }

  /** settle keeps the change numbers of a committed transaction, or forgets a rolled-back one's. */
  private settle(committed: boolean): void {
    if (committed) for (const seq of this.pending) this.ownChanges.add(seq);
    this.pending = [];
  }

  /** changeSeq is the number of changes committed to the database by every coordinator. */
  changeSeq(): number {
    return Number(this.getMeta('change_seq') ?? '0');
  }

  /** changeMark reads the change sequence and the mark in one snapshot. */
  changeMark(): ChangeMark {
    const r = this.q<{ mark: string; seq: string | null }>(SQL.changeMark).rows[0]!;
    return { seq: Number(r.seq ?? '0'), mark: r.mark };
  }

  /** systemsChangedSince reads the systems written and removed by transactions at or after
   * mark (of a changeMark taken before the changes it must not miss). */
  systemsChangedSince(mark: string): StoredChanges {
    // Both in one round trip (pg-bridge.ts queryAll).
    const [systems, removed] = this.qAll([
      { sql: SQL.systemsSince, params: [mark] },
      { sql: SQL.removedSince, params: [mark] },
    ]);
    const rows = (systems!.rows as unknown as RawSystem[]).map(toSystem);
    const r = removed!.rows[0] as { removed: string[]; users: boolean; version: string | null; policy: number | null };
    return {
      rows,
      removed: r.removed,
      usersChanged: r.users,
      mapVersion: Number(r.version ?? '0'),
      policyId: r.policy === null ? 0 : Number(r.policy),
    };
  }

  /** pruneRemoved forgets removals older than before (ms): every coordinator has read them. */
  pruneRemoved(before: number): void {
    this.q(SQL.pruneRemoved, [before]);
  }

  getMeta(key: string): string | null {
    return this.q<{ value: string }>('SELECT value FROM meta WHERE key = $1', [key]).rows[0]?.value ?? null;
  }

  setMeta(key: string, value: string): void {
    this.q('INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [
      key,
      value,
    ]);
  }

  claimMeta(key: string, value: string): string {
    this.q('INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING', [key, value]);
    return this.getMeta(key)!;
  }

  mapVersion(): number {
    return Number(this.getMeta('map_version') ?? '0');
  }

  bumpMapVersion(floor = 0): number {
    if (this.held && this.depth > 0) return this.held.bump(floor);
    const r = this.q<{ version: string; seq: string }>(SQL.bumpMapVersion, [floor]).rows[0]!;
    if (this.depth === 0) this.ownChanges.add(Number(r.seq));
    else this.pending.push(Number(r.seq));
    return Number(r.version);
  }

  beginBatch(): void {
    if (this.depth === 1) this.held = new HeldBatch(this.keyCache);
  }

  insertKey(k: EnrolmentKey): void {
    this.q(SQL.insertKey, keyParams(k));
  }

  listKeys(): EnrolmentKey[] {
    return this.q<RawKey>('SELECT * FROM enrolment_keys ORDER BY created_at, id').rows.map(toKey);
  }

  keyByHash(hash: string): EnrolmentKey | null {
    const held = this.held;
    const known = held?.key(hash);
    if (known !== undefined) return known;
    const r = this.q<RawKey>('SELECT * FROM enrolment_keys WHERE hash = $1', [hash]).rows[0];
    const k = r ? toKey(r) : null;
    held?.remember(hash, k);
    return k ? { ...k, tags: [...k.tags] } : k;
  }

  keyById(id: string): EnrolmentKey | null {
    const r = this.q<RawKey>('SELECT * FROM enrolment_keys WHERE id = $1', [id]).rows[0];
    return r ? toKey(r) : null;
  }

  useKey(id: string): void {
    if (this.held && this.depth > 0) return this.held.use(id);
    if (this.q(`UPDATE enrolment_keys SET uses = uses + 1 WHERE id = $1 AND ${USE_KEY_WHERE}`, [id]).rowCount !== 1)
      throw new KeyUsedUp(id);
  }

  revokeKey(id: string, now: number): boolean {
    this.keyCache.clear();
    return (
      this.q('UPDATE enrolment_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL', [now, id]).rowCount === 1
    );
  }

  /** insertSystem runs in a savepoint of its own, so the Registry can catch an identity clash
   * and try the next candidate in the same transaction (PostgreSQL aborts a transaction at an
   * error unless it is rolled back to a savepoint). */
  insertSystem(s: SystemRow): void {
    // In a batch the row is sent without waiting: memory knows the addresses, names and
    // identities taken as of its last catch-up (pg-notify.ts), and a clash with one taken since
    // fails the COMMIT (the batch then runs again one by one, each insert waited for).
    const run = (): unknown =>
      this.held ? this.db.defer(SQL.insertSystem, systemParams(s)) : this.q(SQL.insertSystem, systemParams(s));
    if (this.held) run();
    else this.transaction(run);
  }

  listSystems(): SystemRow[] {
    return this.q<RawSystem>('SELECT * FROM systems ORDER BY created_at, id').rows.map(toSystem);
  }

  issuedIdentities(): string[] {
    return this.q<{ identity: string }>('SELECT identity FROM issued_identities').rows.map((r) => r.identity);
  }

  updateSystem(id: string, patch: SystemPatch): void {
    const keys = Object.keys(patch) as (keyof SystemPatch)[];
    if (keys.length === 0) return;
    // The column list comes from COLUMNS only, never from input, so building SQL here is safe.
    const sets = keys.map((k, i) => `${COLUMNS[k]} = $${i + 1}`).join(', ');
    this.q(`UPDATE systems SET ${sets} WHERE id = $${keys.length + 1}`, [...keys.map((k) => column(k, patch[k])), id]);
  }

  noteLastSeen(seen: readonly (readonly [id: string, at: number])[]): void {
    if (seen.length === 0) return;
    this.q(SQL.noteLastSeen, [seen.map(([id]) => id), seen.map(([, at]) => at)]);
  }

  deleteSystem(id: string): void {
    this.q('DELETE FROM systems WHERE id = $1', [id]);
  }

  insertPolicy(text: string, now: number, mapVersion: number): void {
    this.q('INSERT INTO policies (text, applied_at, map_version) VALUES ($1, $2, $3)', [text, now, mapVersion]);
  }

  currentPolicy(): AppliedPolicy | null {
    const r = this.q<{ id: number; text: string; applied_at: number; map_version: number }>(
      'SELECT id, text, applied_at, map_version FROM policies ORDER BY id DESC LIMIT 1',
    ).rows[0];
    return r ? { id: r.id, text: r.text, appliedAt: r.applied_at, mapVersion: r.map_version } : null;
  }

  appendAudit(r: AuditRecord): void {
    const p = auditParams(r);
    const params = [p.at, p.actor, p.source, p.action, p.target, p.outcome, p.reason, p.detail];
    // In a transaction nothing waits on the entry: its COMMIT says whether it was written.
    if (this.depth > 0) this.db.defer(SQL.appendAudit, params);
    else this.q(SQL.appendAudit, params);
  }

  listAudit(f: AuditFilter): StoredAudit[] {
    const p = listParams(f);
    return this.q<StoredAudit>(SQL.listAudit, [p.since, p.actor, p.action, p.refused, p.limit]).rows.reverse();
  }

  pruneAudit(maxRows: number, olderThan: number): number {
    return this.transaction(
      () => this.q(SQL.pruneOlder, [olderThan]).rowCount + this.q(SQL.pruneRows, [maxRows]).rowCount,
    );
  }

  saveUser(u: UserRow, refreshToken: string | null): UserRow {
    return toUser(this.q<RawUser>(USERS_SQL.save, saveParams(u, refreshToken)).rows[0]!);
  }

  userRefreshToken(id: string): string | null {
    return this.q<{ refresh_token: string | null }>(USERS_SQL.refreshToken, [id]).rows[0]?.refresh_token ?? null;
  }

  userChecked(id: string, c: TokenCheck): boolean {
    return this.q(USERS_SQL.checked, checkedParams(id, c)).rowCount > 0;
  }

  pendingLogins(op: PendingOp, params: readonly unknown[]): Record<string, unknown>[] {
    return this.q(PENDING_SQL[op], [...params]).rows;
  }

  claimUserCheck(id: string, signIn: number, now: number, intervalMs: number): number | null {
    if (this.q(USERS_SQL.claim, claimParams(id, signIn, now, intervalMs)).rowCount > 0) return null;
    const due = this.q<{ due: string | number | null }>(USERS_SQL.due, [intervalMs, id]).rows[0]?.due;
    return due === undefined || due === null ? Number.MAX_SAFE_INTEGER : Number(due);
  }

  listUsers(): UserRow[] {
    return this.q<RawUser>(USERS_SQL.list).rows.map(toUser);
  }

  setUserDisabled(id: string, disabled: boolean): boolean {
    return this.q(USERS_SQL.setDisabled, [disabled ? 1 : 0, id]).rowCount > 0;
  }

  heartbeat(url: string, now: number): void {
    this.q(SQL.heartbeat, [url, now]);
  }

  coordinators(since: number): string[] {
    return this.q<{ url: string }>(
      'SELECT url FROM coordinators WHERE heartbeat_at >= $1 ORDER BY registered_at, url',
      [since],
    ).rows.map((r) => r.url);
  }

  /** statements are the statements sent so far, waited for and deferred (pg-bridge.ts). */
  statements(): { waited: number; deferred: number } {
    return { ...this.db.counts };
  }

  close(): void {
    this.db.close();
  }

  /** q runs one statement, qAll several in one round trip (pg-bridge.ts queryAll); a
   * constraint's refusal (SQLSTATE class 23) becomes StoreConstraintError, as the Registry
   * expects of any backend. */
  private q<R = Record<string, unknown>>(sql: string, params?: unknown[]): { rows: R[]; rowCount: number } {
    return this.qAll([{ sql, params }], true)[0] as { rows: R[]; rowCount: number };
  }

  private qAll(
    run: { sql: string; params?: unknown[] }[],
    one = false,
  ): { rows: Record<string, unknown>[]; rowCount: number; command?: string }[] {
    try {
      return one ? [this.db.query(run[0]!.sql, run[0]!.params)] : this.db.queryAll(run);
    } catch (e) {
      if (e instanceof PgError && e.code?.startsWith('23')) throw new StoreConstraintError(e.message, e.constraint);
      throw e;
    }
  }
}
