// Sign-ins in progress (oidc/pending.ts) in the shared database, so any coordinator on it can
// serve any step of one (docs/coordinator.md "Several coordinators"). The statements are the
// same in both dialects but for the placeholders, which SQLite gets as named parameters. Each
// step that must happen once (taking the state, taking the confirmation token, collecting the
// outcome) is one conditional UPDATE or DELETE ... RETURNING: PostgreSQL re-evaluates its
// condition on a row a concurrent statement has just changed (READ COMMITTED) and SQLite has
// one writer, so of two coordinators racing for the same step exactly one gets the row.

/** RawPending is a pending_logins row as both backends return it. */
export interface RawPending {
  id: string;
  provider: string;
  secrets: string;
  request: string;
  source: string | null;
  created_at: number | string;
  expires_at: number | string;
  verified: string | null;
  outcome: string | null;
  cancelled: number;
}

const COLUMNS = 'id, provider, secrets, request, source, created_at, expires_at, verified, outcome, cancelled';

/** PENDING_SQL are the statements; every one returns rows, so a count of what it changed is
 * the number of rows. */
export const PENDING_SQL = {
  // The bounds are checked in the statement that inserts, so one round trip; two coordinators
  // inserting at the same instant can each see the other's row missing, so the table can
  // exceed a bound by at most the number of coordinators, never grow without one.
  add: `INSERT INTO pending_logins (id, state_hash, provider, secrets, request, source, created_at, expires_at, cancelled)
    SELECT CAST($1 AS TEXT), CAST($2 AS TEXT), CAST($3 AS TEXT), CAST($4 AS TEXT), CAST($5 AS TEXT),
      CAST($6 AS TEXT), CAST($7 AS BIGINT), CAST($8 AS BIGINT), 0
    WHERE (SELECT count(*) FROM pending_logins WHERE expires_at > $7) < $9
      AND (SELECT count(*) FROM pending_logins WHERE expires_at > $7 AND source IS NOT DISTINCT FROM $6) < $10
    RETURNING id`,
  get: `SELECT ${COLUMNS} FROM pending_logins WHERE id = $1 AND expires_at > $2`,
  takeState: `UPDATE pending_logins SET state_hash = NULL WHERE state_hash = $1 AND expires_at > $2 RETURNING ${COLUMNS}`,
  // A login cancelled (or refused) meanwhile has an outcome and gets no token.
  verify: 'UPDATE pending_logins SET token_hash = $1, verified = $2 WHERE id = $3 AND outcome IS NULL RETURNING id',
  takeToken: `UPDATE pending_logins SET token_hash = NULL WHERE token_hash = $1 AND expires_at > $2 RETURNING ${COLUMNS}`,
  finish: 'UPDATE pending_logins SET outcome = $1, state_hash = NULL WHERE id = $2 RETURNING id',
  cancel: 'UPDATE pending_logins SET cancelled = 1, outcome = $1 WHERE id = $2 AND outcome IS NULL RETURNING id',
  collect: 'DELETE FROM pending_logins WHERE id = $1 AND outcome IS NOT NULL AND expires_at > $2 RETURNING outcome',
  finished: 'SELECT id FROM pending_logins WHERE outcome IS NOT NULL AND expires_at > $1',
  sweep: 'DELETE FROM pending_logins WHERE expires_at <= $1 RETURNING id',
  count: 'SELECT count(*) AS n FROM pending_logins',
  // A start's proof is accepted once (oidc/service.ts firstUse) by whichever coordinator: the
  // insert finds the hash there already, or the table full, and returns nothing.
  useProof: `INSERT INTO login_proofs (hash, at) SELECT CAST($1 AS TEXT), CAST($2 AS BIGINT)
    WHERE (SELECT count(*) FROM login_proofs) < $3 ON CONFLICT (hash) DO NOTHING RETURNING hash`,
  sweepProofs: 'DELETE FROM login_proofs WHERE at <= $1 RETURNING hash',
} as const;

/** PendingOp names one of PENDING_SQL's statements. */
export type PendingOp = keyof typeof PENDING_SQL;

/** pendingTable is schema step 9's tables (with login_proofs, the start proofs used), the same on both backends (BIGINT is INTEGER in
 * SQLite). The state and the confirmation token are kept only as SHA-256 hashes: a callback
 * or a confirmation is looked up by the hash of what it carries. The login id is kept as its
 * hash too (the row's id), so a copy of the database cannot poll or cancel. The nonce and the
 * PKCE verifier must be read back to check the ID token, so they are sealed (token-seal.ts). */
export function pendingTable(integer: 'INTEGER' | 'BIGINT', strict: string): string {
  return `
      CREATE TABLE pending_logins (
        id TEXT PRIMARY KEY,
        state_hash TEXT UNIQUE,
        token_hash TEXT UNIQUE,
        provider TEXT NOT NULL,
        secrets TEXT NOT NULL,
        request TEXT NOT NULL,
        source TEXT,
        created_at ${integer} NOT NULL,
        expires_at ${integer} NOT NULL,
        verified TEXT,
        outcome TEXT,
        cancelled INTEGER NOT NULL CHECK (cancelled IN (0, 1))
      )${strict};
      CREATE INDEX pending_logins_expires ON pending_logins (expires_at);
      CREATE INDEX pending_logins_source ON pending_logins (source);
      CREATE TABLE login_proofs (hash TEXT PRIMARY KEY, at ${integer} NOT NULL)${strict};
      CREATE INDEX login_proofs_at ON login_proofs (at);
  `;
}
