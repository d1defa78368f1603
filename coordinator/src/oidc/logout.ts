// POST /v1/agent/logout (`warren logout`): the user signs a system they enrolled by signing in
// out of the network. The request is signed with the system's machine key like every agent
// request; the coordinator revokes the system (its identity stays issued, its address and name
// go back), which ends its watch stream and takes it out of every peer's map.
import { LOGIN_PATHS } from '../../../src-shared/wire/login.js';
import { authenticate } from '../api/agent.js';
import type { Services } from '../api/services.js';
import { ControlError } from '../http/errors.js';
import { sendNoContent } from '../http/respond.js';
import type { Router } from '../http/router.js';
import { usersOf } from '../store/users.js';

/** addLogoutRoute registers the route; it works with or without --oidc, so a system enrolled by
 * signing in can leave after the providers were removed. */
export function addLogoutRoute(router: Router, sv: Services): void {
  router.add('POST', LOGIN_PATHS.logout, async (ctx) => {
    const { system } = await authenticate(sv, ctx);
    const user = usersOf(sv.registry).get(system.ownerId ?? null);
    if (!user) {
      sv.audit.refused(
        { actor: system.identity, source: ctx.remoteIp, action: 'logout', target: system.identity },
        'conflict',
      );
      throw new ControlError(
        'conflict',
        'this system was enrolled with an enrolment key, not by signing in; its administrator revokes it (warren-coordinator systems revoke)',
      );
    }
    sv.registry.revoke(system);
    sv.audit.ok({
      actor: user.email,
      source: ctx.remoteIp,
      action: 'logout',
      target: system.identity,
      detail: system.name,
    });
    sv.log.info(`logout: ${user.email} signed ${system.identity} (${system.name}) out; it is revoked`);
    sendNoContent(ctx.res);
  });
}
