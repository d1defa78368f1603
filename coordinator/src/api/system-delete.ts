// DELETE /v1/admin/systems/:id: forget a revoked system altogether. Only a revoked one: revoking
// is what cuts a system off (its streams end, peers drop it), and deleting asks for that step
// first so that a slip of the mouse cannot remove a live system. Revoking already gave its
// address and name back for reuse (store/allocate.ts); deleting drops the record itself. Its
// identity stays issued and is never drawn again (docs/coordinator.md "Identities").
import { CONTROL_PATHS } from '../../../src-shared/wire/control.js';
import { ControlError } from '../http/errors.js';
import { sendNoContent } from '../http/respond.js';
import type { AdminRoute } from './admin.js';
import type { Services } from './services.js';
import { systemOf } from './system-ref.js';

/** addSystemDeleteRoute registers DELETE /v1/admin/systems/:id (audited as systems.delete). */
export function addSystemDeleteRoute(admin: AdminRoute, sv: Services): void {
  admin('DELETE', `${CONTROL_PATHS.adminSystems}/:id`, (ctx, note) => {
    // Named like every admin route (id, identity or name); a live system of that name wins, and
    // is then refused below, so a name never deletes a live system.
    const s = systemOf(sv, ctx);
    note.target = s.identity;
    if (s.state !== 'revoked')
      throw new ControlError(
        'conflict',
        `${s.identity} (${s.name}) is ${s.state}; revoke it first (systems revoke ${s.identity}), then delete it`,
      );
    sv.registry.remove(s);
    note.detail = `${s.name}, ${s.id}`;
    sv.log.info(`deleted revoked ${s.identity} (${s.name})`);
    sendNoContent(ctx.res);
  });
}
