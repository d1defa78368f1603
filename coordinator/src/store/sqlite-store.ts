// The coordinator's state in SQLite (better-sqlite3), the embedded default: enrolment keys,
// systems, every identity ever issued, applied policy files and the map version counter. WAL
// mode, so a crash never leaves half a change, and synchronous=FULL, so a change acknowledged
// to an admin or agent is on disk.
import { PENDING_SQL, type PendingOp } from './pending-logins.js';
import Database from 'better-sqlite3';
import type { EnrolmentKey } from '../auth/enrolment-keys.js';
import { migrate } from './migrations.js';
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
import {
  AUDIT_SQL,
  auditParams,
  listParams,
  type AuditFilter,
  type AuditRecord,
  type StoredAudit,
} from './audit-rows.js';
import {
  column,
  COLUMNS,
  KeyUsedUp,
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

/** SqliteStore is the Store in one SQLite file; every method is synchronous (better-sqlite3). */
export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private readonly stmt;
  private readonly updates = new Map<string, Database.Statement>();
  private readonly pending = new Map<PendingOp, Database.Statement>();

  constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    migrate(this.db);
    this.stmt = {
      getMeta: this.db.prepare('SELECT value FROM meta WHERE key = ?'),
      setMeta: this.db.prepare(
        'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      ),
      claimMeta: this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING'),
      noteLastSeen: this.db.prepare(
        'UPDATE systems SET last_seen = ? WHERE id = ? AND (last_seen IS NULL OR last_seen < ?)',
      ),
      heartbeat: this.db.prepare(
        `INSERT INTO coordinators (url, registered_at, heartbeat_at) VALUES (?, ?, ?)
        ON CONFLICT (url) DO UPDATE SET heartbeat_at = excluded.heartbeat_at`,
      ),
      coordinators: this.db
        .prepare('SELECT url FROM coordinators WHERE heartbeat_at >= ? ORDER BY registered_at, url')
        .pluck(),
      insertKey: this.db
        .prepare(`INSERT INTO enrolment_keys (id, hash, tags, approval, uses_allowed, uses, ephemeral, created_at, expires_at, revoked_at)
        VALUES (@id, @hash, @tags, @approval, @usesAllowed, @uses, @ephemeral, @createdAt, @expiresAt, @revokedAt)`),
      listKeys: this.db.prepare('SELECT * FROM enrolment_keys ORDER BY created_at, id'),
      keyByHash: this.db.prepare('SELECT * FROM enrolment_keys WHERE hash = ?'),
      keyById: this.db.prepare('SELECT * FROM enrolment_keys WHERE id = ?'),
      useKey: this.db.prepare(`UPDATE enrolment_keys SET uses = uses + 1 WHERE id = ? AND ${USE_KEY_WHERE}`),
      revokeKey: this.db.prepare('UPDATE enrolment_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL'),
      insertSystem: this.db
        .prepare(`INSERT INTO systems (id, identity, wg_key, machine_key, hostname, name, address, tags, dns_names, state,
        ephemeral, key_id, created_at, last_seen, observed_ip, listen_port, reported, owner_id, auto_tags)
        VALUES (@id, @identity, @wgKey, @machineKey, @hostname, @name, @address, @tags, @dnsNames, @state,
        @ephemeral, @keyId, @createdAt, @lastSeen, @observedIp, @listenPort, @reported, @ownerId, @autoTags)`),
      listSystems: this.db.prepare('SELECT * FROM systems ORDER BY created_at, id'),
      listIssued: this.db.prepare('SELECT identity FROM issued_identities').pluck(),
      deleteSystem: this.db.prepare('DELETE FROM systems WHERE id = ?'),
      insertPolicy: this.db.prepare('INSERT INTO policies (text, applied_at, map_version) VALUES (?, ?, ?)'),
      currentPolicy: this.db.prepare('SELECT id, text, applied_at, map_version FROM policies ORDER BY id DESC LIMIT 1'),
      appendAudit: this.db.prepare(AUDIT_SQL.insert),
      listAudit: this.db.prepare(AUDIT_SQL.list),
      pruneAuditOlder: this.db.prepare(AUDIT_SQL.pruneOlder),
      pruneAuditRows: this.db.prepare(AUDIT_SQL.pruneRows),
      saveUser: this.db.prepare(USERS_SQL.save.replace(/\$\d+/g, '?')),
      listUsers: this.db.prepare(USERS_SQL.list),
      setUserDisabled: this.db.prepare(USERS_SQL.setDisabled.replace(/\$\d+/g, '?')),
      userRefreshToken: this.db.prepare(USERS_SQL.refreshToken.replace(/\$\d+/g, '?')),
      userChecked: this.db.prepare(USERS_SQL.checked.replace(/\$\d+/g, '?')),
      claimUserCheck: this.db.prepare(USERS_SQL.claim.replace(/\$\d+/g, '?')),
      userDue: this.db.prepare(USERS_SQL.due.replace(/\$\d+/g, '?')).pluck(),
    };
  }

  /** transaction runs fn atomically; an exception rolls everything back. */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  getMeta(key: string): string | null {
    const r = this.stmt.getMeta.get(key) as { value: string } | undefined;
    return r ? r.value : null;
  }

  setMeta(key: string, value: string): void {
    this.stmt.setMeta.run(key, value);
  }

  claimMeta(key: string, value: string): string {
    this.stmt.claimMeta.run(key, value);
    return this.getMeta(key)!;
  }

  /** mapVersion is the global map version counter (0 before anything happened). */
  mapVersion(): number {
    return Number(this.getMeta('map_version') ?? '0');
  }

  bumpMapVersion(floor = 0): number {
    const v = Math.max(this.mapVersion(), floor) + 1;
    this.setMeta('map_version', String(v));
    return v;
  }

  beginBatch(): void {}

  insertKey(k: EnrolmentKey): void {
    this.stmt.insertKey.run({ ...k, tags: JSON.stringify(k.tags), ephemeral: k.ephemeral ? 1 : 0 });
  }

  listKeys(): EnrolmentKey[] {
    return (this.stmt.listKeys.all() as RawKey[]).map(toKey);
  }

  keyByHash(hash: string): EnrolmentKey | null {
    const r = this.stmt.keyByHash.get(hash) as RawKey | undefined;
    return r ? toKey(r) : null;
  }

  keyById(id: string): EnrolmentKey | null {
    const r = this.stmt.keyById.get(id) as RawKey | undefined;
    return r ? toKey(r) : null;
  }

  useKey(id: string): void {
    if (this.stmt.useKey.run(id).changes !== 1) throw new KeyUsedUp(id);
  }

  /** revokeKey returns false when the key was already revoked. */
  revokeKey(id: string, now: number): boolean {
    return this.stmt.revokeKey.run(now, id).changes === 1;
  }

  insertSystem(s: SystemRow): void {
    this.stmt.insertSystem.run({
      ...s,
      tags: JSON.stringify(s.tags),
      dnsNames: JSON.stringify(s.dnsNames),
      reported: JSON.stringify(s.reported),
      ephemeral: s.ephemeral ? 1 : 0,
      ownerId: s.ownerId ?? null,
      autoTags: JSON.stringify(s.autoTags ?? []),
    });
  }

  listSystems(): SystemRow[] {
    return (this.stmt.listSystems.all() as RawSystem[]).map(toSystem);
  }

  /** issuedIdentities lists every identity ever issued, those of revoked and removed systems too. */
  issuedIdentities(): string[] {
    return this.stmt.listIssued.all() as string[];
  }

  updateSystem(id: string, patch: SystemPatch): void {
    const keys = Object.keys(patch) as (keyof SystemPatch)[];
    if (keys.length === 0) return;
    const sets = keys.map((k) => `${COLUMNS[k]} = @${k}`).join(', ');
    const values: Record<string, unknown> = { id };
    for (const k of keys) values[k] = column(k, patch[k]);
    // The column list comes from COLUMNS only, never from input, so building SQL here is safe.
    let st = this.updates.get(sets);
    if (!st) {
      st = this.db.prepare(`UPDATE systems SET ${sets} WHERE id = @id`);
      this.updates.set(sets, st);
    }
    st.run(values);
  }

  noteLastSeen(seen: readonly (readonly [id: string, at: number])[]): void {
    for (const [id, at] of seen) this.stmt.noteLastSeen.run(at, id, at);
  }

  deleteSystem(id: string): void {
    this.stmt.deleteSystem.run(id);
  }

  insertPolicy(text: string, now: number, mapVersion: number): void {
    this.stmt.insertPolicy.run(text, now, mapVersion);
  }

  currentPolicy(): AppliedPolicy | null {
    const r = this.stmt.currentPolicy.get() as
      { id: number; text: string; applied_at: number; map_version: number } | undefined;
    return r ? { id: r.id, text: r.text, appliedAt: r.applied_at, mapVersion: r.map_version } : null;
  }

  /** appendAudit writes one audit entry (audit.ts decides what gets here). */
  appendAudit(r: AuditRecord): void {
    this.stmt.appendAudit.run(auditParams(r));
  }

  /** listAudit returns the newest matching entries, oldest first. */
  listAudit(f: AuditFilter): StoredAudit[] {
    return (this.stmt.listAudit.all(listParams(f)) as StoredAudit[]).reverse();
  }

  /** pruneAudit deletes entries older than olderThan (Unix ms) and all but the newest maxRows;
   * it returns how many went. */
  pruneAudit(maxRows: number, olderThan: number): number {
    return this.transaction(
      () => this.stmt.pruneAuditOlder.run(olderThan).changes + this.stmt.pruneAuditRows.run(maxRows).changes,
    );
  }

  saveUser(u: UserRow, refreshToken: string | null): UserRow {
    return toUser(this.stmt.saveUser.get(...saveParams(u, refreshToken)) as RawUser);
  }

  userRefreshToken(id: string): string | null {
    const r = this.stmt.userRefreshToken.get(id) as { refresh_token: string | null } | undefined;
    return r?.refresh_token ?? null;
  }

  userChecked(id: string, c: TokenCheck): boolean {
    return this.stmt.userChecked.run(...checkedParams(id, c)).changes > 0;
  }

  /** pendingLogins prepares each statement once, its $n placeholders as named parameters (a
   * statement names some twice, which SQLite's anonymous ones cannot). */
  pendingLogins(op: PendingOp, params: readonly unknown[]): Record<string, unknown>[] {
    let st = this.pending.get(op);
    if (!st) this.pending.set(op, (st = this.db.prepare(PENDING_SQL[op].replace(/\$(\d+)/g, '@p$1'))));
    const named = Object.fromEntries(params.map((v, i) => [`p${i + 1}`, v]));
    return st.all(named) as Record<string, unknown>[];
  }

  claimUserCheck(id: string, signIn: number, now: number, intervalMs: number): number | null {
    if (this.stmt.claimUserCheck.run(...claimParams(id, signIn, now, intervalMs)).changes > 0) return null;
    const due = this.stmt.userDue.get(intervalMs, id) as number | undefined;
    return due === undefined ? Number.MAX_SAFE_INTEGER : due;
  }

  listUsers(): UserRow[] {
    return (this.stmt.listUsers.all() as RawUser[]).map(toUser);
  }

  setUserDisabled(id: string, disabled: boolean): boolean {
    return this.stmt.setUserDisabled.run(disabled ? 1 : 0, id).changes > 0;
  }

  heartbeat(url: string, now: number): void {
    this.stmt.heartbeat.run(url, now, now);
  }

  coordinators(since: number): string[] {
    return this.stmt.coordinators.all(since) as string[];
  }

  close(): void {
    this.db.close();
  }
}
