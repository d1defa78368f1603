// GET /v1/admin/audit: the audit log (store/audit.ts), filtered by the query string. Every
// parameter is checked; an unknown one is refused, so a misspelt filter is not silently ignored.
import { CONTROL_PATHS } from '../../../src-shared/wire/control.js';
import { ADMIN_PATHS } from '../../../src-shared/wire/admin.js';
import { AUDIT_LIST_MAX, type AuditFilter, type StoredAudit } from '../store/audit-rows.js';
import { ControlError } from '../http/errors.js';

/** AuditList is the answer: entries oldest first (the newest `limit` that match). */
export interface AuditList {
  entries: StoredAudit[];
}

const PARAMS = new Set(['since', 'actor', 'action', 'refused', 'limit']);
const NAME = /^[A-Za-z0-9._:,-]{1,64}$/;

/** AUDIT_ADMIN_ACTIONS name the admin routes in the audit log (method and route pattern). */
export const AUDIT_ADMIN_ACTIONS: Readonly<Record<string, string>> = {
  [`GET ${CONTROL_PATHS.adminKeys}`]: 'keys.list',
  [`POST ${CONTROL_PATHS.adminKeys}`]: 'keys.create',
  [`POST ${CONTROL_PATHS.adminKeys}/:id/revoke`]: 'keys.revoke',
  [`GET ${CONTROL_PATHS.adminSystems}`]: 'systems.list',
  [`GET ${CONTROL_PATHS.adminSystems}/:id`]: 'systems.show',
  [`POST ${CONTROL_PATHS.adminSystems}/:id/approve`]: 'systems.approve',
  [`POST ${CONTROL_PATHS.adminSystems}/:id/revoke`]: 'systems.revoke',
  [`POST ${CONTROL_PATHS.adminSystems}/:id/tags`]: 'systems.tag',
  [`POST ${CONTROL_PATHS.adminSystems}/:id/name`]: 'systems.rename',
  [`POST ${CONTROL_PATHS.adminSystems}/:id/dns`]: 'systems.dns',
  [`DELETE ${CONTROL_PATHS.adminSystems}/:id`]: 'systems.delete',
  [`GET ${CONTROL_PATHS.adminPolicy}`]: 'policy.show',
  [`PUT ${CONTROL_PATHS.adminPolicy}`]: 'policy.apply',
  // Only refused dry runs are logged (policy-routes.ts): a dry run changes nothing.
  [`POST ${ADMIN_PATHS.policyTest}`]: 'policy.test',
  [`GET ${CONTROL_PATHS.adminAudit}`]: 'audit.list',
  [`POST /v1/admin/users/:id/disable`]: 'user.disabled',
  [`POST /v1/admin/users/:id/enable`]: 'user.enabled',
};

/** adminAction names an admin route; a route missing from the table is named by its pattern. */
export function adminAction(method: string, pattern: string): string {
  return AUDIT_ADMIN_ACTIONS[`${method} ${pattern}`] ?? `${method} ${pattern}`;
}

/** parseAuditQuery reads the filter from the query string. */
export function parseAuditQuery(q: URLSearchParams): AuditFilter {
  const f: AuditFilter = {};
  for (const k of q.keys()) {
    if (!PARAMS.has(k)) throw new ControlError('bad-request', `unknown audit filter ${JSON.stringify(k.slice(0, 40))}`);
    if (q.getAll(k).length > 1) throw new ControlError('bad-request', `the audit filter ${k} is given twice`);
  }
  const since = q.get('since');
  if (since !== null) {
    if (!/^[0-9]{1,15}$/.test(since))
      throw new ControlError('bad-request', 'since must be a time in Unix milliseconds');
    f.since = Number(since);
  }
  for (const k of ['actor', 'action'] as const) {
    const v = q.get(k);
    if (v === null) continue;
    if (!NAME.test(v)) throw new ControlError('bad-request', `${k} must be 1 to 64 letters, digits and . _ : , -`);
    f[k] = v;
  }
  const refused = q.get('refused');
  if (refused !== null) {
    if (refused !== '1' && refused !== '0') throw new ControlError('bad-request', 'refused must be 1 or 0');
    f.refused = refused === '1';
  }
  const limit = q.get('limit');
  if (limit !== null) {
    if (!/^[0-9]{1,6}$/.test(limit) || Number(limit) < 1 || Number(limit) > AUDIT_LIST_MAX)
      throw new ControlError('bad-request', `limit must be a whole number from 1 to ${AUDIT_LIST_MAX}`);
    f.limit = Number(limit);
  }
  return f;
}
