// The statements of postgres-store.ts that are more than a line, and their parameters.
import type { EnrolmentKey } from '../auth/enrolment-keys.js';
import type { SystemRow } from './store.js';

/** CHANGE_CHANNEL is the LISTEN/NOTIFY channel every change is announced on, with its change
 * sequence number as the payload. */
export const CHANGE_CHANNEL = 'warren_changes';

export const SQL = {
  insertKey: `INSERT INTO enrolment_keys (id, hash, tags, approval, uses_allowed, uses, ephemeral, created_at, expires_at,
    revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
  insertSystem: `INSERT INTO systems (id, identity, wg_key, machine_key, hostname, name, address, tags, dns_names, state,
    ephemeral, key_id, created_at, last_seen, observed_ip, listen_port, reported, owner_id, auto_tags)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)`,
  // One statement takes the row locks, so concurrent writers each get their own numbers. Beside
  // the map version (which may jump: registry.ts SOFT_VERSIONS) the change sequence grows by
  // exactly one per change, so a coordinator can tell whether all changes since it last looked
  // were its own (pg-notify.ts); NOTIFY reaches the other coordinators when this commits. The
  // sequence's row is written from v's output, so the version's row is always locked first
  // (pg-batch.ts: the lock order every writer keeps).
  bumpMapVersion: `WITH v AS (
      INSERT INTO meta (key, value) VALUES ('map_version', ($1::bigint + 1)::text)
      ON CONFLICT (key) DO UPDATE SET value = (GREATEST((meta.value)::bigint, $1::bigint) + 1)::text RETURNING value
    ), s AS (
      INSERT INTO meta (key, value) SELECT 'change_seq', '1' FROM v
      ON CONFLICT (key) DO UPDATE SET value = ((meta.value)::bigint + 1)::text RETURNING value
    ) SELECT v.value AS version, s.value AS seq, pg_notify('${CHANGE_CHANNEL}', s.value) FROM v, s`,
  // A batch's key uses (migrations-pg.ts step 10: fails the transaction when a key was used up
  // or revoked meanwhile), sent with its COMMIT (pg-batch.ts).
  useKeys: 'SELECT warren_use_keys($1::text[], $2::int[])',
  noteLastSeen: `UPDATE systems SET last_seen = v.at FROM unnest($1::text[], $2::bigint[]) AS v (id, at)
    WHERE systems.id = v.id AND (systems.last_seen IS NULL OR systems.last_seen < v.at)`,
  heartbeat: `INSERT INTO coordinators (url, registered_at, heartbeat_at) VALUES ($1, $2, $2)
    ON CONFLICT (url) DO UPDATE SET heartbeat_at = excluded.heartbeat_at`,
  appendAudit: `INSERT INTO audit (at, actor, source, action, target, outcome, reason, detail)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
  listAudit: `SELECT id, at, actor, source, action, target, outcome, reason, detail FROM audit
    WHERE ($1::bigint IS NULL OR at >= $1::bigint)
      AND ($2::text IS NULL OR actor = $2::text)
      AND ($3::text IS NULL OR action = $3::text OR left(action, length($3::text) + 1) = $3::text || '.')
      AND ($4::int = 0 OR outcome = 'refused')
    ORDER BY id DESC LIMIT $5`,
  pruneOlder: 'DELETE FROM audit WHERE at < $1',
  pruneRows: 'DELETE FROM audit WHERE id <= (SELECT id FROM audit ORDER BY id DESC LIMIT 1 OFFSET $1)',
  // The oldest transaction still running in this statement's snapshot, beside the change
  // sequence the snapshot sees: a change not yet visible here was made by a transaction whose
  // id is at least that mark (migrations-pg.ts step 8).
  changeMark: `SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS mark,
    (SELECT value FROM meta WHERE key = 'change_seq') AS seq`,
  systemsSince: 'SELECT * FROM systems WHERE changed_xid >= $1::xid8 ORDER BY created_at, id',
  // Beside the removals, whether the users need reading again and which policy and map
  // version are in force: a catch-up reads the users and the policy's text only when they changed.
  removedSince: `SELECT ARRAY(SELECT DISTINCT id FROM systems_removed WHERE removed_xid >= $1::xid8) AS removed,
    EXISTS (SELECT 1 FROM users WHERE changed_xid >= $1::xid8) AS users,
    (SELECT value FROM meta WHERE key = 'map_version') AS version, (SELECT max(id) FROM policies) AS policy`,
  pruneRemoved: 'DELETE FROM systems_removed WHERE removed_at < $1',
} as const;

/** keyParams are SQL.insertKey's parameters. */
export function keyParams(k: EnrolmentKey): unknown[] {
  const { id, hash, tags, approval, usesAllowed, uses, ephemeral, createdAt, expiresAt, revokedAt } = k;
  return [
    id,
    hash,
    JSON.stringify(tags),
    approval,
    usesAllowed,
    uses,
    ephemeral ? 1 : 0,
    createdAt,
    expiresAt,
    revokedAt,
  ];
}

/** systemParams are SQL.insertSystem's parameters. */
export function systemParams(s: SystemRow): unknown[] {
  return [
    ...[s.id, s.identity, s.wgKey, s.machineKey, s.hostname, s.name, s.address],
    ...[JSON.stringify(s.tags), JSON.stringify(s.dnsNames), s.state, s.ephemeral ? 1 : 0, s.keyId, s.createdAt],
    ...[s.lastSeen, s.observedIp, s.listenPort, JSON.stringify(s.reported), s.ownerId ?? null],
    JSON.stringify(s.autoTags ?? []),
  ];
}
