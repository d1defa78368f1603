// The audit table's records and the SQL that reads and prunes them (migration 3). Plain
// statements with named parameters, so another SQL backend can take them nearly as they are.

/** AuditOutcome: the action was done, or refused (reason says why). */
export type AuditOutcome = 'ok' | 'refused';

/** AuditRecord is one entry of the audit log. */
export interface AuditRecord {
  /** at is Unix milliseconds. */
  at: number;
  /** actor is "admin" (the admin token), a system identity, or "anonymous". */
  actor: string;
  /** source is the peer address of the request, if known. */
  source: string | null;
  /** action is "keys.create", "systems.approve", "enrol", "agent.map", ... */
  action: string;
  /** target is what was acted on: a key id, a system id or identity, "policy", or "-". */
  target: string;
  outcome: AuditOutcome;
  /** reason is the refusal's error code (null when ok). */
  reason: string | null;
  /** detail is a short free text: what changed, or "and K more" for a summary. */
  detail: string | null;
}

/** StoredAudit is a record with its row id (ascending in the order written). */
export interface StoredAudit extends AuditRecord {
  id: number;
}

/** AuditFilter selects entries; every field is optional. */
export interface AuditFilter {
  /** since: entries at or after this Unix ms time. */
  since?: number;
  actor?: string;
  /** action matches exactly, or as a prefix up to a dot ("keys" matches "keys.create"). */
  action?: string;
  /** refused: only refused entries. */
  refused?: boolean;
  /** limit: the newest this many (default AUDIT_LIST_DEFAULT, at most AUDIT_LIST_MAX). */
  limit?: number;
}

/** AUDIT_TEXT_MAX bounds each text field as stored: some of them come from requests. */
export const AUDIT_TEXT_MAX = 200;
export const AUDIT_LIST_DEFAULT = 100;
export const AUDIT_LIST_MAX = 10_000;

export const AUDIT_SQL = {
  insert: `INSERT INTO audit (at, actor, source, action, target, outcome, reason, detail)
    VALUES (@at, @actor, @source, @action, @target, @outcome, @reason, @detail)`,
  // The newest `limit` matches; the caller returns them oldest first.
  list: `SELECT id, at, actor, source, action, target, outcome, reason, detail FROM audit
    WHERE (@since IS NULL OR at >= @since)
      AND (@actor IS NULL OR actor = @actor)
      AND (@action IS NULL OR action = @action OR substr(action, 1, length(@action) + 1) = @action || '.')
      AND (@refused = 0 OR outcome = 'refused')
    ORDER BY id DESC LIMIT @limit`,
  pruneOlder: 'DELETE FROM audit WHERE at < ?',
  // Keeps the newest maxRows rows by id.
  pruneRows: 'DELETE FROM audit WHERE id <= (SELECT id FROM audit ORDER BY id DESC LIMIT 1 OFFSET ?)',
} as const;

const clip = (s: string): string => (s.length > AUDIT_TEXT_MAX ? s.slice(0, AUDIT_TEXT_MAX) : s);

/** auditParams turns a record into the insert's parameters, text fields cut to AUDIT_TEXT_MAX. */
export function auditParams(r: AuditRecord): Record<string, unknown> {
  return {
    at: r.at,
    actor: clip(r.actor),
    source: r.source === null ? null : clip(r.source),
    action: clip(r.action),
    target: clip(r.target),
    outcome: r.outcome,
    reason: r.reason === null ? null : clip(r.reason),
    detail: r.detail === null ? null : clip(r.detail),
  };
}

/** listParams turns a filter into the list query's parameters. */
export function listParams(f: AuditFilter): Record<string, unknown> {
  const limit = Math.min(AUDIT_LIST_MAX, Math.max(1, Math.floor(f.limit ?? AUDIT_LIST_DEFAULT)));
  return {
    since: f.since ?? null,
    actor: f.actor ?? null,
    action: f.action ?? null,
    refused: f.refused ? 1 : 0,
    limit,
  };
}
