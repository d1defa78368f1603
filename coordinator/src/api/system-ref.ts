// How the admin API names systems: a route's :id may be a system id, an identity or a name
// (Registry.lookup), and each system is shown in one form (AdminSystem).
import { formatIPv4 } from '../../../src-shared/lib/ip/ipv4.js';
import type { AdminSystem } from './admin-types.js';
import { ControlError } from '../http/errors.js';
import type { RequestContext } from '../http/router.js';
import { endpointsOf } from '../maps/netmap.js';
import type { LiveSystem, Registry } from '../store/registry.js';
import type { Services } from './services.js';
import { usersOf } from '../store/users.js';

/** systemView is a system as the admin API shows it. */
export function systemView(registry: Registry, s: LiveSystem, now: number): AdminSystem {
  return {
    systemId: s.id,
    identity: s.identity,
    name: s.name,
    hostname: s.hostname,
    virtualAddress: formatIPv4(s.address),
    virtualAddress6: registry.address6(s),
    state: s.state,
    tags: s.tags,
    dnsNames: s.dnsNames,
    ephemeral: s.ephemeral,
    online: s.online,
    // An open watch stream is the system being seen now (the coordinator pings it every 15 s and
    // drops a silent one); last_seen in the store is only written when the stream opens and
    // closes, so it would read as the stream's start.
    lastSeen: s.online ? now : s.lastSeen,
    observedIp: s.observedIp,
    observedUdp: s.observedUdp,
    endpoints: endpointsOf(s),
    createdAt: s.createdAt,
    keyId: s.keyId,
    owner: usersOf(registry).get(s.ownerId ?? null)?.email ?? null,
  };
}

/** systemOf is the system the route's :id names (id, identity or name), or a not-found error,
 * or a conflict listing the candidates when the reference names more than one. */
export function systemOf(sv: Services, ctx: RequestContext): LiveSystem {
  const ref = ctx.params.id ?? '';
  const found = sv.registry.lookup(ref);
  if (!Array.isArray(found)) return found;
  if (found.length === 0)
    throw new ControlError(
      'not-found',
      `no system has the id, identity or name ${JSON.stringify(ref.slice(0, 80))}; see warren-coordinator systems list`,
    );
  const candidates = found.map((s) => `${s.identity} (${s.name}, ${s.state})`).join(', ');
  throw new ControlError(
    'conflict',
    `${JSON.stringify(ref.slice(0, 80))} names more than one system: ${candidates}; give the identity or system id instead`,
  );
}
