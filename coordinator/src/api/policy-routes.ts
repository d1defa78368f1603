// The policy routes of the admin API: GET shows the file in force, PUT applies a new one (with
// warnings for names that match nothing; ?strict=1 refuses on any), POST .../test is the dry run
// (what apply would refuse or warn about, and whose access would change). The token check and the
// audit log are admin.ts's; this file only registers handlers through it.
import { ADMIN_PATHS, type PolicyInfo, type PolicyTestResult } from '../../../src-shared/wire/admin.js';
import { CONTROL_LIMITS, CONTROL_PATHS } from '../../../src-shared/wire/control.js';
import { keyRefusal } from '../auth/enrolment-keys.js';
import { decodeUtf8, readBody } from '../http/body.js';
import { ControlError } from '../http/errors.js';
import { sendJson } from '../http/respond.js';
import type { RequestContext } from '../http/router.js';
import { diffPolicy } from '../maps/policy-diff.js';
import { formatPolicyIssues, parsePolicyFile } from '../policy/policy-file.js';
import { policyWarnings, type KnownNames } from '../policy/policy-warnings.js';
import { authorityIssues } from '../policy/authority-check.js';
import { countryIssues } from '../policy/public-ip-check.js';
import type { Services } from './services.js';
import { usersOf } from '../store/users.js';
import { retagEveryone } from '../store/follow-groups.js';

/** PolicyRouteNote is the audit note admin.ts hands a handler (its AuditNote): quiet leaves a
 * successful request out of the audit log, for a POST that changes nothing. */
interface PolicyRouteNote {
  target: string;
  detail: string | null;
  quiet?: boolean;
}

/** PolicyRouteAdder is admin.ts's way of registering a token-checked, audited route. */
type PolicyRouteAdder = (
  method: string,
  path: string,
  fn: (ctx: RequestContext, note: PolicyRouteNote) => Promise<void> | void,
) => void;

/** policyInfo is GET /v1/admin/policy's answer. */
export function policyInfo(sv: Services): PolicyInfo {
  const p = sv.registry.policy;
  const applied = sv.registry.appliedPolicy;
  return {
    text: applied?.text ?? null,
    appliedAt: applied?.appliedAt ?? null,
    mapVersion: sv.registry.version,
    counts: {
      tags: p.tags.length,
      policies: p.policies.length,
      dnsRecords: p.dnsRecords.length,
      routes: p.routes.length,
    },
  };
}

/** knownNames are the names a selector may match now: enrolled systems (pending ones too: they
 * are about to be approved) and the tags they or usable enrolment keys carry. */
export function knownNames(sv: Services): KnownNames {
  const identities = new Set<string>();
  const tags = new Set<string>();
  for (const s of sv.registry.all()) {
    if (s.state === 'revoked') continue;
    identities.add(s.identity);
    for (const t of s.tags) tags.add(t);
  }
  const now = sv.now();
  for (const k of sv.registry.store.listKeys()) if (keyRefusal(k, now) === null) for (const t of k.tags) tags.add(t);
  const people = usersOf(sv.registry)
    .all()
    .filter((u) => !u.disabled);
  const users = new Set(people.map((u) => u.email));
  const groups = new Set(people.flatMap((u) => u.groups));
  return { identities, tags, users, groups };
}

function strictFlag(q: URLSearchParams): boolean {
  for (const k of q.keys())
    if (k !== 'strict')
      throw new ControlError('bad-request', `unknown parameter ${JSON.stringify(k.slice(0, 40))}; only strict=1`);
  const v = q.get('strict');
  if (v === null || v === '0') return false;
  if (v === '1') return true;
  throw new ControlError('bad-request', 'strict must be 1 or 0');
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** addPolicyRoutes registers GET and PUT /v1/admin/policy and POST /v1/admin/policy/test. */
export function addPolicyRoutes(admin: PolicyRouteAdder, sv: Services): void {
  admin('GET', CONTROL_PATHS.adminPolicy, ({ res }) => sendJson(res, 200, policyInfo(sv)));

  admin('PUT', CONTROL_PATHS.adminPolicy, async (ctx, note) => {
    note.target = 'policy';
    const strict = strictFlag(ctx.query);
    const text = decodeUtf8(await readBody(ctx.req, CONTROL_LIMITS.policyFileBytes));
    const r = parsePolicyFile(text, sv.registry.network, sv.registry.network6);
    if (!r.ok) {
      const first = formatPolicyIssues('policy', r.issues.slice(0, 1));
      throw new ControlError(
        'policy-invalid',
        `the policy file was refused (${plural(r.issues.length, 'problem')}; the previous policy stays in force): ${first}`,
        { issues: r.issues },
      );
    }
    const auth = authorityIssues(text, r.file, sv.authorities ?? null);
    auth.problems.push(...countryIssues(text, r.file, sv.registry.countryDb !== null));
    if (auth.problems.length > 0)
      throw new ControlError(
        'policy-invalid',
        `the policy file was refused (${plural(auth.problems.length, 'problem')}; the previous policy stays in force): ${formatPolicyIssues('policy', auth.problems.slice(0, 1))}`,
        { issues: auth.problems },
      );
    const warnings = [...policyWarnings(text, r.file, knownNames(sv)), ...auth.warnings];
    if (strict && warnings.length > 0) {
      throw new ControlError(
        'policy-invalid',
        `the policy file was refused in strict mode (${plural(warnings.length, 'name')} matching nothing; the previous policy stays in force): ${formatPolicyIssues('policy', warnings.slice(0, 1))}`,
        { issues: warnings },
      );
    }
    const autoTagsBefore = JSON.stringify(sv.registry.policy.autoTags);
    sv.registry.applyPolicy(text, r.file, sv.now());
    if (JSON.stringify(r.file.autoTags) !== autoTagsBefore)
      retagEveryone(sv, { actor: 'admin', source: ctx.remoteIp, why: "the policy file's AutoTags changed" });
    note.detail = `map version ${sv.registry.version}${warnings.length > 0 ? `, ${plural(warnings.length, 'warning')}` : ''}`;
    sv.log.info(
      `policy applied: ${r.file.policies.length} policies, ${r.file.tags.length} tags, ${r.file.dnsRecords.length} DNS records, ${r.file.routes.length} routes (map version ${sv.registry.version}, ${plural(warnings.length, 'warning')})`,
    );
    sendJson(ctx.res, 200, { ...policyInfo(sv), warnings });
  });

  // The dry run changes nothing, so like a GET a successful one is not audited; a refused
  // request (bad token, oversized body) is, as policy.test.
  admin('POST', ADMIN_PATHS.policyTest, async (ctx, note) => {
    note.target = 'policy';
    const text = decodeUtf8(await readBody(ctx.req, CONTROL_LIMITS.policyFileBytes));
    sendJson(ctx.res, 200, policyTest(sv, text));
    note.quiet = true;
  });
}

/** policyTest is the dry run of applying text. */
export function policyTest(sv: Services, text: string): PolicyTestResult {
  const mapVersion = sv.registry.version;
  const r = parsePolicyFile(text, sv.registry.network, sv.registry.network6);
  if (!r.ok)
    return { ok: false, issues: r.issues, warnings: [], changes: [], routes: [], truncated: false, mapVersion };
  const auth = authorityIssues(text, r.file, sv.authorities ?? null);
  auth.problems.push(...countryIssues(text, r.file, sv.registry.countryDb !== null));
  if (auth.problems.length > 0)
    return { ok: false, issues: auth.problems, warnings: [], changes: [], routes: [], truncated: false, mapVersion };
  const d = diffPolicy(sv.registry, r.file);
  return {
    ok: true,
    issues: [],
    warnings: [...policyWarnings(text, r.file, knownNames(sv)), ...auth.warnings],
    changes: d.changes,
    routes: d.routes,
    truncated: d.truncated,
    changedPairs: d.changedPairs,
    mapVersion,
  };
}
