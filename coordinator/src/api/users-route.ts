// GET /v1/admin/users: the people who signed in (store/users.ts), with their systems.
// POST /v1/admin/users/:id/disable and /enable (:id a user id or email): a disabled user's
// systems lose everything their user vouched for, within one map pass (docs/coordinator.md).
// The CLI (`warren-coordinator users`) and the web console's users page both use these.
import { ADMIN_PATHS } from '../../../src-shared/wire/admin.js';
import type { AdminUser, AdminUserSystem } from './admin-types.js';
import { ControlError } from '../http/errors.js';
import { sendJson } from '../http/respond.js';
import type { LiveSystem, Registry } from '../store/registry.js';
import { usersOf, type UserRow } from '../store/users.js';
import type { AdminRoute } from './admin.js';
import { retagUser } from '../store/follow-groups.js';
import type { Services } from './services.js';

/** USERS_PATH is the route. */
export const USERS_PATH = ADMIN_PATHS.users;

/** addUsersRoute registers the route. */
export function addUsersRoute(admin: AdminRoute, sv: Services): void {
  admin('GET', USERS_PATH, ({ res }) => {
    const systems = ownedSystems(sv.registry);
    const users: AdminUser[] = usersOf(sv.registry)
      .all()
      .map((u) => adminUser(u, systems.get(u.id) ?? []));
    sendJson(res, 200, { users });
  });
  for (const verb of ['disable', 'enable'] as const) {
    admin('POST', `${USERS_PATH}/:id/${verb}`, (ctx, note) => {
      const dir = usersOf(sv.registry);
      const u = dir.find(ctx.params.id ?? '');
      if (!u)
        throw new ControlError(
          'not-found',
          `no user ${JSON.stringify((ctx.params.id ?? '').slice(0, 80))}; \`warren-coordinator users list\` shows who signed in`,
        );
      note.target = u.email;
      const disabled = verb === 'disable';
      if (u.disabled !== disabled) {
        dir.setDisabled(sv.registry, u, disabled);
        retagUser(sv, dir.get(u.id)!, { actor: 'admin', source: ctx.remoteIp, why: `user ${verb}d` });
        sv.log.info(`${verb}d user ${u.email}`);
      } else note.detail = `already ${verb}d`;
      sendJson(ctx.res, 200, adminUser(dir.get(u.id)!, ownedSystems(sv.registry).get(u.id) ?? []));
    });
  }
}

/** ownedSystems groups the systems enrolled by signing in (not revoked) by their user. */
function ownedSystems(registry: Registry): Map<string, LiveSystem[]> {
  const out = new Map<string, LiveSystem[]>();
  for (const s of registry.all()) {
    if (!s.ownerId || s.state === 'revoked') continue;
    const list = out.get(s.ownerId) ?? [];
    list.push(s);
    out.set(s.ownerId, list);
  }
  return out;
}

function adminUser(u: UserRow, systems: LiveSystem[]): AdminUser {
  const owned: AdminUserSystem[] = systems
    .map((s) => ({ identity: s.identity, name: s.name, state: s.state, online: s.online }))
    .sort((a, b) => a.identity.localeCompare(b.identity));
  return {
    userId: u.id,
    email: u.email,
    name: u.name,
    groups: u.groups,
    provider: u.provider,
    issuer: u.issuer,
    subject: u.subject,
    createdAt: u.createdAt,
    lastAuthAt: u.lastAuthAt,
    disabled: u.disabled,
    checkedAt: u.checkedAt,
    lapsedAt: u.lapsedAt,
    systems: owned.map((s) => s.identity),
    ownedSystems: owned,
  };
}
