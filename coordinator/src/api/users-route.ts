// GET /v1/admin/users: the people who signed in (store/users.ts), with their systems.
import type { AdminUser } from './admin-types.js';
import { sendJson } from '../http/respond.js';
import { usersOf } from '../store/users.js';
import type { AdminRoute } from './admin.js';
import type { Services } from './services.js';

/** USERS_PATH is the route. */
export const USERS_PATH = '/v1/admin/users';

/** addUsersRoute registers the route. */
export function addUsersRoute(admin: AdminRoute, sv: Services): void {
  admin('GET', USERS_PATH, ({ res }) => {
    const systems = new Map<string, string[]>();
    for (const s of sv.registry.all()) {
      if (!s.ownerId || s.state === 'revoked') continue;
      const list = systems.get(s.ownerId) ?? [];
      list.push(s.identity);
      systems.set(s.ownerId, list);
    }
    const users: AdminUser[] = usersOf(sv.registry)
      .all()
      .map((u) => ({
        userId: u.id,
        email: u.email,
        groups: u.groups,
        provider: u.provider,
        issuer: u.issuer,
        subject: u.subject,
        createdAt: u.createdAt,
        lastAuthAt: u.lastAuthAt,
        disabled: u.disabled,
        systems: (systems.get(u.id) ?? []).sort(),
      }));
    sendJson(res, 200, { users });
  });
}
