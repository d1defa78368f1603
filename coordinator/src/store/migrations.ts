// Numbered schema migrations. A migration, once released, never changes: add a new one. Each
// runs in its own transaction with its row in `migrations`, so a crash leaves the database at
// a known step.
import type Database from 'better-sqlite3';
import { pendingTable } from './pending-logins.js';

/** Migration is one step of the schema. */
export interface Migration {
  id: number;
  name: string;
  sql: string;
}

/** MIGRATIONS in order; ids are 1, 2, 3, ... */
export const MIGRATIONS: readonly Migration[] = [
  {
    id: 1,
    name: 'initial schema',
    sql: `
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
      CREATE TABLE enrolment_keys (
        id TEXT PRIMARY KEY,
        hash TEXT NOT NULL UNIQUE,
        tags TEXT NOT NULL,
        approval TEXT NOT NULL CHECK (approval IN ('automatic', 'gated')),
        uses_allowed INTEGER NOT NULL CHECK (uses_allowed >= 1),
        uses INTEGER NOT NULL DEFAULT 0,
        ephemeral INTEGER NOT NULL CHECK (ephemeral IN (0, 1)),
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        revoked_at INTEGER
      ) STRICT;
      CREATE TABLE systems (
        id TEXT PRIMARY KEY,
        identity TEXT NOT NULL,
        wg_key TEXT NOT NULL UNIQUE,
        machine_key TEXT NOT NULL UNIQUE,
        hostname TEXT NOT NULL,
        name TEXT NOT NULL,
        address INTEGER NOT NULL,
        tags TEXT NOT NULL,
        dns_names TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'active', 'revoked')),
        ephemeral INTEGER NOT NULL CHECK (ephemeral IN (0, 1)),
        key_id TEXT,
        created_at INTEGER NOT NULL,
        last_seen INTEGER,
        observed_ip TEXT,
        listen_port INTEGER,
        reported TEXT NOT NULL DEFAULT '[]'
      ) STRICT;
      -- A revoked system keeps its row (so its requests are told "revoked"), but gives back its
      -- identity, address and name.
      CREATE UNIQUE INDEX systems_identity ON systems (identity) WHERE state != 'revoked';
      CREATE UNIQUE INDEX systems_address ON systems (address) WHERE state != 'revoked';
      CREATE UNIQUE INDEX systems_name ON systems (name) WHERE state != 'revoked';
      CREATE TABLE policies (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        text TEXT NOT NULL,
        applied_at INTEGER NOT NULL,
        map_version INTEGER NOT NULL
      ) STRICT;
    `,
  },
  {
    id: 2,
    name: 'identities are issued once',
    sql: `
      -- Every identity this coordinator ever issued (docs/coordinator.md "Identities"). A revoked
      -- or removed system's identity stays here for good, so no later system, whatever its keys,
      -- can get it and with it the grants of policies that still name it.
      CREATE TABLE issued_identities (
        identity TEXT PRIMARY KEY CHECK (length(identity) = 5),
        system_id TEXT NOT NULL,
        issued_at INTEGER NOT NULL
      ) STRICT;
      -- A data directory from before keeps the identities its systems hold, revoked ones
      -- included (those of systems already removed are gone). Where a live system took over a
      -- revoked one's identity, the first holder is recorded and the live system keeps it.
      INSERT OR IGNORE INTO issued_identities (identity, system_id, issued_at)
        SELECT identity, id, created_at FROM systems ORDER BY created_at, id;
      -- The database itself refuses a system under an identity issued before, whoever inserts
      -- it, and an identity never changes once issued.
      CREATE TRIGGER systems_issue_identity AFTER INSERT ON systems BEGIN
        INSERT INTO issued_identities (identity, system_id, issued_at) VALUES (NEW.identity, NEW.id, NEW.created_at);
      END;
      CREATE TRIGGER systems_identity_fixed BEFORE UPDATE OF identity ON systems
        WHEN NEW.identity IS NOT OLD.identity BEGIN
        SELECT RAISE(ABORT, 'a system''s identity never changes');
      END;
    `,
  },
  {
    id: 3,
    name: 'audit log',
    sql: `
      -- Admin actions and refused attempts (docs/coordinator.md "Audit log"). Bounded by
      -- audit.ts: refused attempts are rate-limited per source before they get here, and the
      -- table is pruned to a row count and an age.
      CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        actor TEXT NOT NULL,
        source TEXT,
        action TEXT NOT NULL,
        target TEXT NOT NULL,
        outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'refused')),
        reason TEXT,
        detail TEXT
      ) STRICT;
      CREATE INDEX audit_at ON audit (at);
    `,
  },
  {
    id: 4,
    name: 'users who sign in',
    sql: `
      -- People who sign in with an identity provider (store/users.ts); a system enrolled by
      -- signing in is owned by its user. The issuer and subject identify a user (OpenID Connect
      -- Core 1.0 §2: sub is unique within its issuer).
      CREATE TABLE users (
        id TEXT PRIMARY KEY,
        issuer TEXT NOT NULL,
        subject TEXT NOT NULL,
        provider TEXT NOT NULL,
        email TEXT NOT NULL,
        groups TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        last_auth_at INTEGER NOT NULL,
        disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
        CONSTRAINT users_issuer_subject UNIQUE (issuer, subject)
      ) STRICT;
      ALTER TABLE systems ADD COLUMN owner_id TEXT REFERENCES users (id);
      CREATE INDEX systems_owner ON systems (owner_id);
    `,
  },
  {
    id: 5,
    name: 'coordinators',
    sql: `
      -- Every coordinator serving this database and when it last said it was alive; maps list
      -- the live ones so helpers can fail over (docs/coordinator.md "Several coordinators").
      CREATE TABLE coordinators (
        url TEXT PRIMARY KEY,
        registered_at INTEGER NOT NULL,
        heartbeat_at INTEGER NOT NULL
      ) STRICT;
    `,
  },
  {
    id: 6,
    name: 'users: name and token check',
    sql: `
      -- The person's name as the provider gives it, the refresh token of their last sign-in
      -- (sealed, oidc/token-seal.ts; it never leaves the coordinator) and when their groups were
      -- last checked with it (oidc/recheck.ts); lapsed_at: when the provider refused that token,
      -- which lapses the sign-in until the person signs in again.
      ALTER TABLE users ADD COLUMN name TEXT NOT NULL DEFAULT '';
      ALTER TABLE users ADD COLUMN refresh_token TEXT;
      ALTER TABLE users ADD COLUMN checked_at INTEGER;
      ALTER TABLE users ADD COLUMN lapsed_at INTEGER;
    `,
  },
  {
    id: 7,
    name: 'AutoTags follow the groups; token checks are claimed',
    sql: `
      -- The tags of a system that AutoTags gave its user (store.ts SystemRow.autoTags), kept
      -- apart from those an admin set so they can follow the user's groups (store/follow-groups.ts).
      -- Until now a sign-in replaced an owned system's tags with the AutoTags ones, so an owned
      -- system's tags are counted as AutoTags': one the groups no longer give goes, rather than
      -- a group's tag staying for good.
      ALTER TABLE systems ADD COLUMN auto_tags TEXT NOT NULL DEFAULT '[]';
      UPDATE systems SET auto_tags = tags WHERE owner_id IS NOT NULL;
      -- When the user's next token check is due; a coordinator claims it by moving it on
      -- (users.ts USERS_SQL.claim), so of several on one database one checks each user.
      ALTER TABLE users ADD COLUMN next_check_at INTEGER;
      `,
  },
  {
    id: 8,
    name: 'systems: what changed since',
    sql: `
      -- PostgreSQL only (migrations-pg.ts: which transaction last wrote each row, for the other
      -- coordinators on the same database); one coordinator on SQLite has no one to tell.
      SELECT 1;
    `,
  },
  {
    id: 9,
    name: 'sign-ins in progress',
    sql: pendingTable('INTEGER', ' STRICT'),
  },
  {
    id: 10,
    name: 'batched key uses; users: what changed since',
    sql: `
      -- PostgreSQL only (migrations-pg.ts: a function for a batch's key uses, and which
      -- transaction last wrote each user, for the other coordinators on the same database).
      SELECT 1;
    `,
  },
];
/** NewerSchema means the data dir was last used by a newer coordinator. */
export class NewerSchema extends Error {
  override name = 'NewerSchema';
}

/** migrate brings db up to the last migration; it returns the ids it applied. */
export function migrate(db: Database.Database, migrations: readonly Migration[] = MIGRATIONS): number[] {
  db.exec(
    'CREATE TABLE IF NOT EXISTS migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT',
  );
  const done = new Set((db.prepare('SELECT id FROM migrations').all() as { id: number }[]).map((r) => r.id));
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
    db.transaction(() => {
      db.exec(m.sql);
      db.prepare('INSERT INTO migrations (id, name, applied_at) VALUES (?, ?, ?)').run(m.id, m.name, Date.now());
    })();
    applied.push(m.id);
  }
  return applied;
}
