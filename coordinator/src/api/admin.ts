// Admin routes (Bearer token from DIR/admin.token): enrolment keys, systems, the policy file.
import { createHash, timingSafeEqual } from 'node:crypto';
import { CONTROL_LIMITS, CONTROL_PATHS } from '../../../src-shared/wire/control.js';
import { formatCidr } from '../../../src-shared/lib/ip/ipv4.js';
import { formatIpPrefix } from '../../../src-shared/lib/ip/addr.js';
import { normaliseTag } from '../../../src-shared/lib/policy-parse.js';
import type { AdminKey, CoordinatorStats, CreatedKey, TaggedSystem } from './admin-types.js';
import { MAX_DURATION_MS } from './duration.js';
import { hashKey, KEY_LIMITS, keyRefusal, newKeyText, type EnrolmentKey } from '../auth/enrolment-keys.js';
import { ControlError } from '../http/errors.js';
import { parseJsonBody, readBody } from '../http/body.js';
import { sendJson, sendText } from '../http/respond.js';
import type { RequestContext, Router } from '../http/router.js';
import { isDnsLabel, NAME_LIMITS, parseDnsName, TAG_LABEL_PROBLEM } from '../policy/names.js';
import { tagWarnings } from '../policy/policy-warnings.js';
import type { LiveSystem } from '../store/registry.js';
import { booleanField, intField, objectWithKeys, stringArrayField, stringField } from '../http/validate.js';
import type { Services } from './services.js';
import { systemOf, systemView } from './system-ref.js';
import { adminAction, parseAuditQuery, type AuditList } from './audit-route.js';
import { addPolicyRoutes } from './policy-routes.js';
import { addSystemDeleteRoute } from './system-delete.js';
import { addUsersRoute } from './users-route.js';
import { autoTagsAfterEdit } from '../policy/auto-tags.js';

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** checkAdmin compares the bearer token in constant time (over hashes, so lengths match); a
 * refusal goes to the audit log as action's. */
function checkAdmin(sv: Services, ctx: RequestContext, action: string): void {
  const h = ctx.req.headers.authorization ?? '';
  // The web console's session cookie stands in for the token (console/routes.ts).
  if (h === '' && sv.console?.admits(ctx, action)) return;
  const m = /^Bearer ([A-Za-z0-9_-]{1,128})$/.exec(h);
  if (!m || !timingSafeEqual(digest(m[1]!), digest(sv.adminToken))) {
    const target = ctx.params.id ?? '-';
    sv.audit.refused({ actor: 'anonymous', source: ctx.remoteIp, action, target }, h === '' ? 'no-token' : 'bad-token');
    throw new ControlError(
      'unauthorized',
      'admin routes need "Authorization: Bearer TOKEN" with the token from the data dir\'s admin.token',
    );
  }
}

function keyView(k: EnrolmentKey, now: number): AdminKey {
  const r = keyRefusal(k, now);
  const status = r === null ? 'usable' : r === 'key-expired' ? 'expired' : r === 'key-used-up' ? 'used-up' : 'revoked';
  return {
    id: k.id,
    tags: k.tags,
    approval: k.approval,
    usesAllowed: k.usesAllowed,
    uses: k.uses,
    ephemeral: k.ephemeral,
    createdAt: k.createdAt,
    expiresAt: k.expiresAt,
    revokedAt: k.revokedAt,
    status,
  };
}

function tagList(list: string[], field: string): string[] {
  const out: string[] = [];
  for (const t of list) {
    const n = normaliseTag(t);
    if (n === null || !isDnsLabel(n)) throw new ControlError('bad-request', `${field}: ${TAG_LABEL_PROBLEM(t)}`);
    if (!out.includes(n)) out.push(n);
  }
  if (out.length > KEY_LIMITS.tagsPerKey)
    throw new ControlError('bad-request', `${field}: at most ${KEY_LIMITS.tagsPerKey} tags`);
  return out;
}

async function jsonBody(ctx: RequestContext): Promise<unknown> {
  return parseJsonBody(await readBody(ctx.req, CONTROL_LIMITS.requestBodyBytes));
}

/** AuditNote is what a changing route's audit entry says: target defaults to the :id it was
 * given; a handler may name it better and add a detail. */
export interface AuditNote {
  target: string;
  detail: string | null;
  /** quiet: the request changed nothing (the policy dry run), so success is not logged. */
  quiet?: boolean;
}

/** AdminRoute registers one admin route; the token is checked before fn runs. */
export type AdminRoute = (
  method: string,
  path: string,
  fn: (ctx: RequestContext, note: AuditNote) => Promise<void> | void,
) => void;

/** audited runs an admin route's handler and writes what it changed (not GETs) to the audit
 * log, done or refused. */
async function audited(
  sv: Services,
  ctx: Parameters<Parameters<AdminRoute>[2]>[0],
  method: string,
  path: string,
  action: string,
  fn: Parameters<AdminRoute>[2],
): Promise<void> {
  const note: AuditNote = { target: ctx.params.id ?? '-', detail: null };
  // A system is logged by its identity, however the admin named it.
  if (path.startsWith(CONTROL_PATHS.adminSystems)) {
    const s = sv.registry.lookup(note.target);
    if (!Array.isArray(s)) note.target = s.identity;
  }
  const who = { actor: 'admin', source: ctx.remoteIp, action };
  try {
    await fn(ctx, note);
  } catch (e) {
    if (method !== 'GET') sv.audit.refused({ ...who, ...note }, e instanceof ControlError ? e.code : 'internal');
    throw e;
  }
  if (method !== 'GET' && !note.quiet) sv.audit.ok({ ...who, target: note.target, detail: note.detail });
}

/** addAdminRoutes registers the admin side of the API; every route checks the token first, and
 * every route that changes something (not GET) is written to the audit log, done or refused. */
export function addAdminRoutes(router: Router, sv: Services): void {
  // Every admin request is counted by its route pattern (a bounded label set), refusals too.
  const admin: AdminRoute = (method, path, fn) => {
    const action = adminAction(method, path);
    router.add(method, path, async (ctx) => {
      try {
        checkAdmin(sv, ctx, action);
        await audited(sv, ctx, method, path, action, fn);
      } catch (e) {
        sv.metrics.adminRequest(path, method, e instanceof ControlError ? e.status : 500);
        throw e;
      }
      sv.metrics.adminRequest(path, method, ctx.res.statusCode);
    });
  };
  addKeyRoutes(admin, sv);
  addSystemRoutes(admin, sv);
  addSystemEditRoutes(admin, sv);
  addPolicyRoutes(admin, sv);
  addSystemDeleteRoute(admin, sv);
  addUsersRoute(admin, sv);
  admin('GET', '/v1/admin/stats', ({ res }) => sendJson(res, 200, coordinatorStats(sv)));
  admin('GET', CONTROL_PATHS.metrics, async ({ res }) =>
    sendText(res, 200, await sv.metrics.text(), sv.metrics.contentType),
  );
  admin('GET', CONTROL_PATHS.adminAudit, ({ res, query }) => {
    sv.audit.flush();
    const list: AuditList = { entries: sv.registry.store.listAudit(parseAuditQuery(query)) };
    sendJson(res, 200, list);
  });
}

/** addKeyRoutes: list, create and revoke enrolment keys. */
function addKeyRoutes(admin: AdminRoute, sv: Services): void {
  const keys = CONTROL_PATHS.adminKeys;

  admin('GET', keys, ({ res }) =>
    sendJson(res, 200, { keys: sv.registry.store.listKeys().map((k) => keyView(k, sv.now())) }),
  );

  admin('POST', keys, async (ctx, note) => {
    const o = objectWithKeys(
      await jsonBody(ctx),
      ['tags', 'approval', 'uses', 'expiresInMs', 'ephemeral'],
      [],
      'the key request',
    );
    const approval = o.approval;
    if (approval !== 'automatic' && approval !== 'gated')
      throw new ControlError('bad-request', 'approval must be "automatic" or "gated"');
    const now = sv.now();
    const { key, id } = newKeyText();
    const k: EnrolmentKey = {
      id,
      hash: hashKey(key),
      tags: tagList(stringArrayField(o, 'tags', KEY_LIMITS.tagsPerKey, 70), 'tags'),
      approval,
      usesAllowed: intField(o, 'uses', 1, KEY_LIMITS.maxUses),
      uses: 0,
      ephemeral: booleanField(o, 'ephemeral'),
      createdAt: now,
      expiresAt: now + intField(o, 'expiresInMs', 1000, MAX_DURATION_MS),
      revokedAt: null,
    };
    sv.registry.store.insertKey(k);
    note.target = id;
    note.detail = `tags ${k.tags.join(',') || '-'}, ${approval}, ${k.usesAllowed} uses${k.ephemeral ? ', ephemeral' : ''}`;
    sv.log.info(
      `created enrolment key ${id} (tags ${k.tags.join(',') || '-'}, ${approval}, ${k.usesAllowed} uses${k.ephemeral ? ', ephemeral' : ''}, expires ${new Date(k.expiresAt).toISOString()})`,
    );
    const warnings = tagWarnings(sv.registry.policy, k.tags);
    const created: CreatedKey = { ...keyView(k, now), key, ...(warnings.length > 0 ? { warnings } : {}) };
    sendJson(ctx.res, 201, created);
  });

  admin('POST', `${keys}/:id/revoke`, ({ res, params }) => {
    const k = sv.registry.store.keyById(params.id ?? '');
    if (!k) throw new ControlError('not-found', `no enrolment key has the id ${JSON.stringify(params.id)}`);
    if (sv.registry.store.revokeKey(k.id, sv.now())) sv.log.info(`revoked enrolment key ${k.id}`);
    sendJson(res, 200, keyView(sv.registry.store.keyById(k.id)!, sv.now()));
  });
}

/** addSystemRoutes: list and show systems, approve and revoke them. */
function addSystemRoutes(admin: AdminRoute, sv: Services): void {
  const systems = CONTROL_PATHS.adminSystems;

  admin('GET', systems, ({ res }) =>
    sendJson(res, 200, { systems: sv.registry.all().map((s) => systemView(sv.registry, s, sv.now())) }),
  );
  admin('GET', `${systems}/:id`, (ctx) => sendJson(ctx.res, 200, systemView(sv.registry, systemOf(sv, ctx), sv.now())));

  admin('POST', `${systems}/:id/approve`, (ctx) => {
    const s = systemOf(sv, ctx);
    if (s.state === 'revoked')
      throw new ControlError(
        'conflict',
        `${s.identity} was revoked; a revoked system cannot be approved (enrol it again with new keys)`,
      );
    if (s.state === 'pending') {
      sv.registry.patch(s, { state: 'active' });
      sv.log.info(`approved ${s.identity} (${s.name})`);
    }
    sendJson(ctx.res, 200, systemView(sv.registry, s, sv.now()));
  });

  admin('POST', `${systems}/:id/revoke`, (ctx) => {
    const s = systemOf(sv, ctx);
    if (s.state !== 'revoked') {
      sv.registry.revoke(s);
      sv.log.info(`revoked ${s.identity} (${s.name})`);
    }
    sendJson(ctx.res, 200, systemView(sv.registry, s, sv.now()));
  });
}

/** addSystemEditRoutes: change a system's tags, name and DNS names (not once it is revoked). */
function addSystemEditRoutes(admin: AdminRoute, sv: Services): void {
  const systems = CONTROL_PATHS.adminSystems;

  admin('POST', `${systems}/:id/tags`, async (ctx) => {
    const s = live(systemOf(sv, ctx));
    const o = objectWithKeys(await jsonBody(ctx), [], ['set', 'add', 'remove'], 'the tags request');
    if (Object.hasOwn(o, 'set') && (Object.hasOwn(o, 'add') || Object.hasOwn(o, 'remove'))) {
      throw new ControlError('bad-request', 'give either set, or add and/or remove');
    }
    let tags = Object.hasOwn(o, 'set')
      ? tagList(stringArrayField(o, 'set', KEY_LIMITS.tagsPerKey, 70), 'set')
      : [...s.tags];
    const added = Object.hasOwn(o, 'add') ? tagList(stringArrayField(o, 'add', KEY_LIMITS.tagsPerKey, 70), 'add') : [];
    tags = [...new Set([...tags, ...added])];
    if (Object.hasOwn(o, 'remove')) {
      const drop = new Set(tagList(stringArrayField(o, 'remove', KEY_LIMITS.tagsPerKey, 70), 'remove'));
      tags = tags.filter((t) => !drop.has(t));
    }
    if (tags.length > KEY_LIMITS.tagsPerKey)
      throw new ControlError('bad-request', `a system may have at most ${KEY_LIMITS.tagsPerKey} tags`);
    const autoTags = autoTagsAfterEdit(s, tags, added);
    if (JSON.stringify(tags) !== JSON.stringify(s.tags) || autoTags.length !== (s.autoTags ?? []).length) {
      sv.registry.patch(s, { tags, autoTags });
      sv.log.info(`tags of ${s.identity}: ${tags.join(',') || '(none)'}`);
    }
    const warnings = tagWarnings(sv.registry.policy, tags);
    const answer: TaggedSystem = {
      ...systemView(sv.registry, s, sv.now()),
      ...(warnings.length > 0 ? { warnings } : {}),
    };
    sendJson(ctx.res, 200, answer);
  });

  admin('POST', `${systems}/:id/name`, async (ctx) => {
    const s = live(systemOf(sv, ctx));
    const o = objectWithKeys(await jsonBody(ctx), ['name'], [], 'the rename request');
    const name = stringField(o, 'name', NAME_LIMITS.labelChars).toLowerCase();
    if (!isDnsLabel(name))
      throw new ControlError(
        'bad-request',
        `${JSON.stringify(name)} is not a DNS label (letters, digits and inner hyphens, up to 63)`,
      );
    if (name !== s.name) {
      if (sv.registry.nameTaken(name)) throw new ControlError('conflict', `another system is already named ${name}`);
      sv.registry.patch(s, { name });
      sv.log.info(`renamed ${s.identity} to ${name}`);
    }
    sendJson(ctx.res, 200, systemView(sv.registry, s, sv.now()));
  });

  admin('POST', `${systems}/:id/dns`, async (ctx) => {
    const s = live(systemOf(sv, ctx));
    const o = objectWithKeys(await jsonBody(ctx), ['names'], [], 'the DNS request');
    const names: string[] = [];
    for (const raw of stringArrayField(o, 'names', NAME_LIMITS.dnsNamesPerSystem, NAME_LIMITS.nameChars)) {
      const n = parseDnsName(raw);
      if (typeof n === 'object') throw new ControlError('bad-request', `names: ${n.problem}`);
      if (!names.includes(n)) names.push(n);
    }
    if (JSON.stringify(names) !== JSON.stringify(s.dnsNames)) {
      sv.registry.patch(s, { dnsNames: names });
      sv.log.info(`DNS names of ${s.identity}: ${names.join(',') || '(none)'}`);
    }
    sendJson(ctx.res, 200, systemView(sv.registry, s, sv.now()));
  });
}

/** coordinatorStats is what GET /v1/admin/stats shows: systems by state, watchers, the last map pass, memory, NAT. */
function coordinatorStats(sv: Services): CoordinatorStats {
  const all = sv.registry.all();
  const mem = process.memoryUsage();
  const st = sv.publisher.stats;
  return {
    mapVersion: sv.registry.version,
    network: formatCidr(sv.registry.network),
    network6: formatIpPrefix(sv.registry.network6),
    systems: {
      total: all.length,
      active: all.filter((s) => s.state === 'active').length,
      pending: all.filter((s) => s.state === 'pending').length,
      revoked: all.filter((s) => s.state === 'revoked').length,
      online: all.filter((s) => s.online).length,
    },
    watchers: sv.hub.size,
    lastPass: {
      ms: st.lastPassMs,
      changed: st.lastChanged,
      version: st.lastVersion,
      passes: st.passes,
      due: sv.publisher.due,
    },
    push: sv.hub.pushFigures(),
    rssBytes: mem.rss,
    heapUsedBytes: mem.heapUsed,
    heapTotalBytes: mem.heapTotal,
    externalBytes: mem.external,
    arrayBuffersBytes: mem.arrayBuffers,
    nat: sv.nat.stats(),
  };
}

function live(s: LiveSystem): LiveSystem {
  if (s.state === 'revoked')
    throw new ControlError('conflict', `${s.identity} was revoked; it can no longer be changed`);
  return s;
}
