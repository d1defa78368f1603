// AutoTags follow the person (docs/coordinator.md "AutoTags follow the groups"): the tags
// a system got from the policy file's AutoTags are what its user's groups and address give
// now, not what they gave at the sign-in that enrolled it. Otherwise a person taken out of
// group:eng keeps tag:dev, and a policy written against the tag keeps granting what the group
// no longer does. They are brought up to date after each token check that changes the groups
// or lapses the sign-in (oidc/recheck.ts), at each sign-in, when an applied policy file changes
// AutoTags, and when an admin disables or enables the user. Tags an admin or an enrolment key
// set stay (store.ts SystemRow.autoTags records which are which; auto-tags.ts followAutoTags).
import type { Logger } from '../../../src-shared/lib/log.js';
import { autoTagsFor, followAutoTags, type AutoTag } from '../policy/auto-tags.js';
import type { AuditLog } from './audit.js';
import type { LiveSystem, Registry } from './registry.js';
import { usersOf, type UserRow } from './users.js';

/** TagCause says who changed the tags and why, for the audit log. */
export interface TagCause {
  actor: string;
  source: string | null;
  why: string;
}

/** Sv is what a retag needs of the coordinator's services (api/services.ts). */
interface Sv {
  registry: Registry;
  audit: AuditLog;
  log: Logger;
}

/** wantedAutoTags are the tags AutoTags give u's systems now. A disabled user's systems get
 * none: maps already stop naming a disabled user in user: and group: selectors (maps/world.ts),
 * and a tag the user's groups gave must stop with them. A lapsed sign-in has no groups left
 * (recheck.ts), so only the user: entries still give tags, as user: selectors still match. */
export function wantedAutoTags(autoTags: readonly AutoTag[], u: UserRow): string[] {
  return u.disabled ? [] : autoTagsFor(autoTags, u.email, u.groups).tags;
}

/** retagUser brings the AutoTags tags of u's systems up to date; it returns how many changed. */
export function retagUser(sv: Sv, u: UserRow, cause: TagCause): number {
  return retag(sv, u, sv.registry.ownedBy(u.id), cause);
}

/** retagEveryone does it for every user's systems (the policy file's AutoTags changed). */
export function retagEveryone(sv: Sv, cause: TagCause): number {
  const users = usersOf(sv.registry);
  let n = 0;
  for (const id of sv.registry.owners()) {
    const u = users.get(id);
    if (u) n += retag(sv, u, sv.registry.ownedBy(id), cause);
  }
  return n;
}

/** retag patches each system whose tags change, with its audit entry in the same transaction
 * (the change and its record commit together, or neither). */
function retag(sv: Sv, u: UserRow, systems: readonly LiveSystem[], cause: TagCause): number {
  const wanted = wantedAutoTags(sv.registry.policy.autoTags, u);
  let n = 0;
  for (const s of systems) {
    if (s.state === 'revoked') continue;
    const next = followAutoTags(s, wanted);
    if (next === null) continue;
    const change = `tags ${s.tags.join(',') || '(none)'} → ${next.tags.join(',') || '(none)'}`;
    const detail = `${s.name} of ${u.email}: ${change}; ${cause.why}`.slice(0, 400);
    sv.registry.patch(s, next, () =>
      sv.audit.okWithin({
        actor: cause.actor,
        source: cause.source,
        action: 'system.autotags',
        target: s.identity,
        detail,
      }),
    );
    sv.log.info(`${s.identity} (${detail})`);
    n++;
  }
  return n;
}
