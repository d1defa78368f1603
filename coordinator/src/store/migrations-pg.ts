// The schema's migrations in PostgreSQL's dialect: the same steps, ids and names as
// migrations.ts (SQLite), the same tables, columns, constraints and triggers. Where the
// dialects differ: BIGINT for Unix milliseconds and addresses, identity columns for
// AUTOINCREMENT, and PL/pgSQL functions behind the triggers. A released migration never
// changes; a new step is added to both files.
import { NewerSchema, type Migration } from './migrations.js';
import type { PgBridge } from './pg-bridge.js';
import { pendingTable } from './pending-logins.js';

export const PG_MIGRATIONS: readonly Migration[] = [
  {
    id: 1,
    name: 'initial schema',
    sql: `
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE enrolment_keys (
        id TEXT PRIMARY KEY,
        hash TEXT NOT NULL UNIQUE,
        tags TEXT NOT NULL,
        approval TEXT NOT NULL CHECK (approval IN ('automatic', 'gated')),
        uses_allowed BIGINT NOT NULL CHECK (uses_allowed >= 1),
        uses BIGINT NOT NULL DEFAULT 0,
        ephemeral INTEGER NOT NULL CHECK (ephemeral IN (0, 1)),
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        revoked_at BIGINT
      );
      CREATE TABLE systems (
        id TEXT PRIMARY KEY,
        identity TEXT NOT NULL,
        wg_key TEXT NOT NULL UNIQUE,
        machine_key TEXT NOT NULL UNIQUE,
        hostname TEXT NOT NULL,
        name TEXT NOT NULL,
        address BIGINT NOT NULL,
        tags TEXT NOT NULL,
        dns_names TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'active', 'revoked')),
        ephemeral INTEGER NOT NULL CHECK (ephemeral IN (0, 1)),
        key_id TEXT,
        created_at BIGINT NOT NULL,
        last_seen BIGINT,
        observed_ip TEXT,
        listen_port INTEGER,
        reported TEXT NOT NULL DEFAULT '[]'
      );
      CREATE UNIQUE INDEX systems_identity ON systems (identity) WHERE state != 'revoked';
      CREATE UNIQUE INDEX systems_address ON systems (address) WHERE state != 'revoked';
      CREATE UNIQUE INDEX systems_name ON systems (name) WHERE state != 'revoked';
      CREATE TABLE policies (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        text TEXT NOT NULL,
        applied_at BIGINT NOT NULL,
        map_version BIGINT NOT NULL
      );
    `,
  },
  {
    id: 2,
    name: 'identities are issued once',
    sql: `
      -- As migrations.ts step 2: the database itself refuses an identity issued before.
      CREATE TABLE issued_identities (
        identity TEXT NOT NULL CHECK (length(identity) = 5),
        system_id TEXT NOT NULL,
        issued_at BIGINT NOT NULL,
        CONSTRAINT issued_identities_identity PRIMARY KEY (identity)
      );
      CREATE FUNCTION systems_issue_identity() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO issued_identities (identity, system_id, issued_at) VALUES (NEW.identity, NEW.id, NEW.created_at);
        RETURN NEW;
      END $$;
      CREATE TRIGGER systems_issue_identity AFTER INSERT ON systems
        FOR EACH ROW EXECUTE FUNCTION systems_issue_identity();
      CREATE FUNCTION systems_identity_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'a system''s identity never changes';
      END $$;
      CREATE TRIGGER systems_identity_fixed BEFORE UPDATE OF identity ON systems
        FOR EACH ROW WHEN (NEW.identity IS DISTINCT FROM OLD.identity) EXECUTE FUNCTION systems_identity_fixed();
    `,
  },
  {
    id: 3,
    name: 'audit log',
    sql: `
      CREATE TABLE audit (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at BIGINT NOT NULL,
        actor TEXT NOT NULL,
        source TEXT,
        action TEXT NOT NULL,
        target TEXT NOT NULL,
        outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'refused')),
        reason TEXT,
        detail TEXT
      );
      CREATE INDEX audit_at ON audit (at);
    `,
  },
  {
    id: 4,
    name: 'users who sign in',
    sql: `
      CREATE TABLE users (
        id TEXT PRIMARY KEY,
        issuer TEXT NOT NULL,
        subject TEXT NOT NULL,
        provider TEXT NOT NULL,
        email TEXT NOT NULL,
        groups TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        last_auth_at BIGINT NOT NULL,
        disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
        CONSTRAINT users_issuer_subject UNIQUE (issuer, subject)
      );
      ALTER TABLE systems ADD COLUMN owner_id TEXT REFERENCES users (id);
      CREATE INDEX systems_owner ON systems (owner_id);
    `,
  },
  {
    id: 5,
    name: 'coordinators',
    sql: `
      CREATE TABLE coordinators (
        url TEXT PRIMARY KEY,
        registered_at BIGINT NOT NULL,
        heartbeat_at BIGINT NOT NULL
      );
    `,
  },
  {
    id: 6,
    name: 'users: name and token check',
    sql: `
      ALTER TABLE users ADD COLUMN name TEXT NOT NULL DEFAULT '';
      ALTER TABLE users ADD COLUMN refresh_token TEXT;
      ALTER TABLE users ADD COLUMN checked_at BIGINT;
      ALTER TABLE users ADD COLUMN lapsed_at BIGINT;
    `,
  },
  {
    id: 7,
    name: 'AutoTags follow the groups; token checks are claimed',
    sql: `
      ALTER TABLE systems ADD COLUMN auto_tags TEXT NOT NULL DEFAULT '[]';
      UPDATE systems SET auto_tags = tags WHERE owner_id IS NOT NULL;
      ALTER TABLE users ADD COLUMN next_check_at BIGINT;
      `,
  },
  {
    id: 8,
    name: 'systems: what changed since',
    sql: `
      -- Each row says which transaction last wrote it, and a removed row leaves its id behind,
      -- so another coordinator reads only what changed since it last looked (pg-notify.ts)
      -- rather than the whole table on every change. pg_current_xact_id() is the top-level
      -- transaction's id, also inside a savepoint (PostgreSQL 13+: xid8, no wraparound).
      ALTER TABLE systems ADD COLUMN changed_xid xid8 NOT NULL DEFAULT pg_current_xact_id();
      CREATE INDEX systems_changed_xid ON systems (changed_xid);
      CREATE FUNCTION systems_changed() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        NEW.changed_xid := pg_current_xact_id();
        RETURN NEW;
      END $$;
      CREATE TRIGGER systems_changed BEFORE UPDATE ON systems
        FOR EACH ROW EXECUTE FUNCTION systems_changed();
      CREATE TABLE systems_removed (
        id TEXT NOT NULL,
        removed_xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
        removed_at BIGINT NOT NULL
      );
      CREATE INDEX systems_removed_xid ON systems_removed (removed_xid);
      CREATE FUNCTION systems_note_removed() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO systems_removed (id, removed_at)
          VALUES (OLD.id, (extract(epoch FROM clock_timestamp()) * 1000)::bigint);
        RETURN OLD;
      END $$;
      CREATE TRIGGER systems_removed AFTER DELETE ON systems
        FOR EACH ROW EXECUTE FUNCTION systems_note_removed();
    `,
  },
  {
    id: 9,
    name: 'sign-ins in progress',
    sql: pendingTable('BIGINT', ''),
  },
  {
    id: 10,
    name: 'batched key uses; users: what changed since',
    sql: `
      -- A batch of enrolments (registry-batch.ts) counts its key uses in one statement before
      -- its COMMIT, without waiting for the answer: a key revoked or used up meanwhile (by
      -- another coordinator) must then fail the transaction, as a constraint would, so that
      -- the batch is run again one request at a time and that request is refused alone.
      CREATE FUNCTION warren_use_keys(ids TEXT[], counts INTEGER[]) RETURNS void LANGUAGE plpgsql AS $$
      DECLARE
        i INTEGER;
      BEGIN
        FOR i IN 1 .. coalesce(array_length(ids, 1), 0) LOOP
          UPDATE enrolment_keys SET uses = uses + counts[i]
            WHERE id = ids[i] AND revoked_at IS NULL AND uses + counts[i] <= uses_allowed;
          IF NOT FOUND THEN
            RAISE EXCEPTION 'the enrolment key % was used up or revoked meanwhile', ids[i]
              USING ERRCODE = 'check_violation', CONSTRAINT = 'enrolment_keys_uses';
          END IF;
        END LOOP;
      END $$;
      -- As systems.changed_xid (step 8): another coordinator reads the users again only when a
      -- transaction since its last look wrote one (pg-notify.ts), not on every change.
      ALTER TABLE users ADD COLUMN changed_xid xid8 NOT NULL DEFAULT pg_current_xact_id();
      CREATE INDEX users_changed_xid ON users (changed_xid);
      CREATE TRIGGER users_changed BEFORE UPDATE ON users
        FOR EACH ROW EXECUTE FUNCTION systems_changed();
    `,
  },
];
/** MIGRATION_LOCK is the advisory lock key that serialises migrations of one database, so two
 * coordinators starting together do not both apply a step. */
const MIGRATION_LOCK = 0x5741_5252; // "WARR"

/** migratePg brings the database up to the last migration, all in one transaction (DDL is
 * transactional in PostgreSQL); it returns the ids it applied. */
export function migratePg(db: PgBridge, migrations: readonly Migration[] = PG_MIGRATIONS): number[] {
  db.query('BEGIN');
  try {
    db.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`);
    db.query(
      'CREATE TABLE IF NOT EXISTS migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)',
    );
    const done = new Set(db.query<{ id: number }>('SELECT id FROM migrations').rows.map((r) => r.id));
    const newest = Math.max(0, ...done);
    const known = Math.max(0, ...migrations.map((m) => m.id));
    if (newest > known) {
      throw new NewerSchema(
        `the database has schema step ${newest} but this warren-coordinator knows only up to ${known}; run the newer version, or restore a backup`,
      );
    }
    const applied: number[] = [];
    for (const m of migrations) {
      if (done.has(m.id)) continue;
      db.query(m.sql);
      db.query('INSERT INTO migrations (id, name, applied_at) VALUES ($1, $2, $3)', [m.id, m.name, Date.now()]);
      applied.push(m.id);
    }
    // A COMMIT of a transaction PostgreSQL aborted answers ROLLBACK, not an error.
    const tag = db.query('COMMIT').command;
    if (tag !== 'COMMIT') throw new Error(`PostgreSQL did not commit the migrations (it answered ${tag})`);
    return applied;
  } catch (e) {
    try {
      db.query('ROLLBACK');
    } catch {
      // The connection is gone; PostgreSQL rolls the transaction back itself.
    }
    throw e;
  }
}
