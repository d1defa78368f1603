// The coordinator's state behind one interface, with two backends: SQLite (sqlite-store.ts,
// the embedded default) and PostgreSQL (postgres-store.ts). The interface is synchronous: the
// Registry keeps the in-memory truth for reads, and every write is a store transaction that has
// committed before the Registry changes memory, acknowledges the request or publishes a map, so
// nothing acknowledged is lost whichever backend holds it (docs/architecture.md "Store").
import type { PendingOp } from './pending-logins.js';
import type { SystemState } from '../../../src-shared/wire/control.js';
import type { Approval, EnrolmentKey } from '../auth/enrolment-keys.js';
import type { AuditFilter, AuditRecord, StoredAudit } from './audit-rows.js';
import type { TokenCheck, UserRow } from './users.js';
import { ControlError } from '../http/errors.js';

/** SystemRow is a system as stored. */
export interface SystemRow {
  id: string;
  identity: string;
  wgKey: string;
  machineKey: string;
  hostname: string;
  name: string;
  /** address is the virtual IPv4 address as an unsigned 32-bit number. */
  address: number;
  tags: string[];
  dnsNames: string[];
  state: SystemState;
  ephemeral: boolean;
  keyId: string | null;
  createdAt: number;
  lastSeen: number | null;
  observedIp: string | null;
  listenPort: number | null;
  /** reported are "a.b.c.d:port" endpoints the agent reported. */
  reported: string[];
  /** ownerId is the user (users.ts) who enrolled the system by signing in, or null for a
   * system enrolled with an enrolment key (absent is null). */
  ownerId?: string | null;
  /** autoTags are those of tags that the policy file's AutoTags gave the owner's groups or
   * address (follow-groups.ts keeps them following the user); the rest were set by an
   * admin or an enrolment key. Absent is none. */
  autoTags?: string[];
}

/** AppliedPolicy is the policy file in force. */
export interface AppliedPolicy {
  id: number;
  text: string;
  appliedAt: number;
  mapVersion: number;
}

/** SystemPatch is what an update may change. */
export type SystemPatch = Partial<Omit<SystemRow, 'id' | 'identity' | 'wgKey' | 'machineKey' | 'createdAt'>>;

export const COLUMNS: Record<keyof SystemPatch, string> = {
  hostname: 'hostname',
  name: 'name',
  address: 'address',
  tags: 'tags',
  dnsNames: 'dns_names',
  state: 'state',
  ephemeral: 'ephemeral',
  keyId: 'key_id',
  lastSeen: 'last_seen',
  observedIp: 'observed_ip',
  listenPort: 'listen_port',
  reported: 'reported',
  ownerId: 'owner_id',
  autoTags: 'auto_tags',
};

export interface RawSystem {
  id: string;
  identity: string;
  wg_key: string;
  machine_key: string;
  hostname: string;
  name: string;
  address: number;
  tags: string;
  dns_names: string;
  state: SystemState;
  ephemeral: number;
  key_id: string | null;
  created_at: number;
  last_seen: number | null;
  observed_ip: string | null;
  listen_port: number | null;
  reported: string;
  owner_id: string | null;
  auto_tags: string;
}

export interface RawKey {
  id: string;
  hash: string;
  tags: string;
  approval: Approval;
  uses_allowed: number;
  uses: number;
  ephemeral: number;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
}

export function toSystem(r: RawSystem): SystemRow {
  return {
    id: r.id,
    identity: r.identity,
    wgKey: r.wg_key,
    machineKey: r.machine_key,
    hostname: r.hostname,
    name: r.name,
    address: r.address,
    tags: JSON.parse(r.tags) as string[],
    dnsNames: JSON.parse(r.dns_names) as string[],
    state: r.state,
    ephemeral: r.ephemeral === 1,
    keyId: r.key_id,
    createdAt: r.created_at,
    lastSeen: r.last_seen,
    observedIp: r.observed_ip,
    listenPort: r.listen_port,
    reported: JSON.parse(r.reported) as string[],
    ownerId: r.owner_id ?? null,
    autoTags: JSON.parse(r.auto_tags) as string[],
  };
}

export function toKey(r: RawKey): EnrolmentKey {
  return {
    id: r.id,
    hash: r.hash,
    tags: JSON.parse(r.tags) as string[],
    approval: r.approval,
    usesAllowed: r.uses_allowed,
    uses: r.uses,
    ephemeral: r.ephemeral === 1,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    revokedAt: r.revoked_at,
  };
}

export function column(key: keyof SystemPatch, v: unknown): unknown {
  if (key === 'tags' || key === 'dnsNames' || key === 'reported' || key === 'autoTags') return JSON.stringify(v);
  if (key === 'ephemeral') return v ? 1 : 0;
  return v;
}

/** StoreConstraintError is a backend's refusal of a write by a constraint of the schema; the
 * message names the constraint (SQLite: "UNIQUE constraint failed: systems.address"; PostgreSQL:
 * its constraint or index name, "systems_address"). */
export class StoreConstraintError extends Error {
  override name = 'StoreConstraintError';
  constructor(
    message: string,
    /** constraint is PostgreSQL's constraint name, or null. */
    readonly constraint: string | null,
  ) {
    super(message);
  }
}

/** KeyUsedUp is useKey's refusal: the key was revoked or used up since the caller checked it
 * (by another coordinator on the same database). It answers the enrolment as a used-up key does. */
export class KeyUsedUp extends ControlError {
  constructor(id: string) {
    super('key-used-up', `the enrolment key ${id} was used up or revoked meanwhile; ask the admin for a new one`);
  }
}

/** USE_KEY_WHERE is useKey's condition, the same in both dialects but for the placeholder. */
export const USE_KEY_WHERE = 'revoked_at IS NULL AND uses < uses_allowed';

/** isIdentityClash tells whether e is the store refusing a new system's identity: one issued
 * before (issued_identities, migration 2) or held by a live system. */
export function isIdentityClash(e: unknown): boolean {
  if (e instanceof StoreConstraintError && e.constraint !== null)
    return e.constraint === 'issued_identities_identity' || e.constraint === 'systems_identity';
  return (
    e instanceof Error &&
    (e as { code?: unknown }).code !== undefined &&
    String((e as { code?: unknown }).code).startsWith('SQLITE_CONSTRAINT') &&
    /\b(issued_identities|systems)\.identity\b/.test(e.message)
  );
}

/** Store is what the coordinator keeps durably. Every method is synchronous and has reached the
 * database (committed, outside a transaction) when it returns. */
export interface Store {
  /** transaction runs fn atomically; an exception rolls everything back. Nested calls are
   * savepoints, so a refused statement inside can be caught and the outer transaction go on. */
  transaction<T>(fn: () => T): T;
  getMeta(key: string): string | null;
  setMeta(key: string, value: string): void;
  /** claimMeta sets key to value unless it has a value already, and returns the value in force:
   * the first of several coordinators starting on one database decides (shared-secrets.ts). */
  claimMeta(key: string, value: string): string;
  /** mapVersion is the global map version counter (0 before anything happened). */
  mapVersion(): number;
  /** bumpMapVersion increments the counter, or sets it to floor + 1 when that is higher (a
   * version the registry used in memory, registry.ts SOFT_VERSIONS), and returns the new value;
   * call it inside the change's transaction. */
  bumpMapVersion(floor?: number): number;
  /** beginBatch says the open transaction is a batch of changes (registry-batch.ts). On
   * PostgreSQL its key uses, inserts' constraints and map version are then checked and written
   * at COMMIT rather than one by one (pg-batch.ts): a key used up or a name taken meanwhile
   * fails the whole transaction, which the caller must run again one request at a time. SQLite
   * has one writer at a time and does nothing. */
  beginBatch(): void;
  insertKey(k: EnrolmentKey): void;
  listKeys(): EnrolmentKey[];
  keyByHash(hash: string): EnrolmentKey | null;
  keyById(id: string): EnrolmentKey | null;
  /** useKey counts one use of a key inside the enrolment's transaction. The database checks the
   * key is unrevoked and has a use left, so two coordinators racing for a key's last use cannot
   * both have it: the loser's transaction fails with KeyUsedUp and rolls back. */
  useKey(id: string): void;
  /** revokeKey returns false when the key was already revoked. */
  revokeKey(id: string, now: number): boolean;
  insertSystem(s: SystemRow): void;
  listSystems(): SystemRow[];
  /** issuedIdentities lists every identity ever issued, those of revoked and removed systems too. */
  issuedIdentities(): string[];
  updateSystem(id: string, patch: SystemPatch): void;
  /** noteLastSeen raises each system's last_seen to its at, never lowers it: coordinators
   * sharing a database each write what they saw, and the newest wins whoever writes last. All
   * in one statement where the backend can (PostgreSQL: one round trip, not one a system). */
  noteLastSeen(seen: readonly (readonly [id: string, at: number])[]): void;
  deleteSystem(id: string): void;
  insertPolicy(text: string, now: number, mapVersion: number): void;
  currentPolicy(): AppliedPolicy | null;
  /** appendAudit writes one audit entry (audit.ts decides what gets here). */
  appendAudit(r: AuditRecord): void;
  /** listAudit returns the newest matching entries, oldest first. */
  listAudit(f: AuditFilter): StoredAudit[];
  /** pruneAudit deletes entries older than olderThan (Unix ms) and all but the newest maxRows;
   * it returns how many went. */
  pruneAudit(maxRows: number, olderThan: number): number;
  /** saveUser stores a user who signed in: a new row, or the existing one of the same issuer
   * and subject updated (email, groups, provider, last authentication). It returns the stored
   * row, whose id is the existing one's for a known user. */
  saveUser(u: UserRow, refreshToken: string | null): UserRow;
  listUsers(): UserRow[];
  /** userRefreshToken is the sealed refresh token of the user's last sign-in, or null. */
  userRefreshToken(id: string): string | null;
  /** claimUserCheck claims the token check of the user's sign-in signIn (its last_auth_at)
   * when it is due at now, moving the next one intervalMs on in the same statement, so of
   * several coordinators on one database one checks each user once per interval. It returns
   * null when this caller has the claim, otherwise when the check is due as stored (a check
   * another coordinator claimed is due one interval after its claim). */
  claimUserCheck(id: string, signIn: number, now: number, intervalMs: number): number | null;
  /** userChecked stores a token check: the groups, its time and the refresh token to keep;
   * false (nothing written) when the user signed in again since (c.signIn) or was disabled. */
  userChecked(id: string, c: TokenCheck): boolean;
  /** setUserDisabled sets a user's disabled flag; false when there is no such user. */
  setUserDisabled(id: string, disabled: boolean): boolean;
  /** pendingLogins runs one of the sign-in statements (pending-logins.ts) and returns its rows. */
  pendingLogins(op: PendingOp, params: readonly unknown[]): Record<string, unknown>[];
  /** heartbeat records that the coordinator reachable at url was alive at now (multi.ts). */
  heartbeat(url: string, now: number): void;
  /** coordinators lists the URLs whose heartbeat is at or after since, oldest registration first. */
  coordinators(since: number): string[];
  close(): void;
}
