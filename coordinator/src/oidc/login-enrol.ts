// Enrolment by signing in: the system of a completed login is enrolled as owned by the user the
// ID token names, with the tags the policy file's AutoTags give the user's groups and address
// (auto-tags.ts), instead of an enrolment key's. Signing in again from an enrolled system keeps
// its identity and address; the caller then brings the AutoTags tags of all the user's systems
// up to date with the groups of this sign-in (store/follow-groups.ts retagUser), audited.
import { randomBytes } from 'node:crypto';
import { parseIpEndpoint } from '../../../src-shared/lib/ip/endpoint.js';
import type { LoginStartRequest } from '../../../src-shared/wire/login.js';
import { ControlError } from '../http/errors.js';
import { sanitiseHostname, uniqueName } from '../policy/names.js';
import { autoTagsFor } from '../policy/auto-tags.js';
import type { LiveSystem, Registry } from '../store/registry.js';
import type { SystemRow } from '../store/store.js';
import { usersOf, type UserRow } from '../store/users.js';
import type { SignedIn } from './claims.js';
import type { ProviderConfig } from './config.js';

/** LoginEnrolment is the enrolled system, its user, whether it is new, and which AutoTags
 * entries give the user tags. */
export interface LoginEnrolment {
  system: LiveSystem;
  user: UserRow;
  created: boolean;
  via: string[];
}

/** saveUser records the sign-in: a new user, or the known one with the provider's current
 * email, name and groups, the new authentication time and the sign-in's refresh token (sealed,
 * token-seal.ts; null when the provider gave none, which leaves no token check). */
export function saveUser(
  registry: Registry,
  who: SignedIn,
  provider: ProviderConfig,
  now: number,
  sealedRefreshToken: string | null = null,
): UserRow {
  const users = usersOf(registry);
  const u = registry.store.transaction(() =>
    users.save(
      {
        id: `usr-${randomBytes(12).toString('hex')}`,
        issuer: who.issuer,
        subject: who.subject,
        provider: provider.name,
        email: who.email,
        name: who.name,
        groups: who.groups,
        createdAt: now,
        // A provider's auth_time in the future must not make the authentication look fresh later.
        lastAuthAt: Math.min(who.authTime ?? now, now),
        disabled: false,
        checkedAt: null,
        lapsedAt: null,
      },
      sealedRefreshToken,
    ),
  );
  if (u.disabled)
    throw new ControlError('login-refused', `${u.email} is disabled on this coordinator; ask its administrator`);
  return u;
}

/** enrolForUser enrols (or re-enrols) the login's system as user's; onCreated runs inside the
 * transaction that stores a new system (its audit entry). */
export function enrolForUser(
  registry: Registry,
  req: LoginStartRequest,
  user: UserRow,
  provider: ProviderConfig,
  observedIp: string | null,
  now: number,
  onCreated: (s: SystemRow) => void,
): LoginEnrolment {
  const { tags, via } = autoTagsFor(registry.policy.autoTags, user.email, user.groups);
  const existing = registry.byWireguardKey(req.wireguardPublicKey);
  if (existing) return again(registry, existing, req, user, via);
  if (registry.byMachine(req.machinePublicKey))
    throw new ControlError(
      'conflict',
      'this machine key is already enrolled with a different WireGuard key; make a new machine key',
    );
  const listenPort = req.endpoints.length > 0 ? parseIpEndpoint(req.endpoints[0]!)!.port : null;
  const system = registry.insert(
    {
      id: `sys-${randomBytes(12).toString('hex')}`,
      wgKey: req.wireguardPublicKey,
      machineKey: req.machinePublicKey,
      hostname: req.hostname,
      name: uniqueName(sanitiseHostname(req.hostname), (n) => registry.nameTaken(n)),
      address: registry.allocate(),
      tags,
      autoTags: tags,
      dnsNames: [],
      state: provider.approval === 'automatic' ? 'active' : 'pending',
      ephemeral: false,
      keyId: null,
      createdAt: now,
      lastSeen: now,
      observedIp,
      listenPort,
      reported: req.endpoints,
      ownerId: user.id,
    },
    now,
    onCreated,
  );
  return { system, user, created: true, via };
}

/** again handles a system that is already enrolled: only its own user may sign in on it. */
function again(
  registry: Registry,
  existing: LiveSystem,
  req: LoginStartRequest,
  user: UserRow,
  via: string[],
): LoginEnrolment {
  if (existing.state === 'revoked')
    throw new ControlError('revoked', 'this WireGuard key belongs to a revoked system; make new keys to enrol again');
  if (existing.machineKey !== req.machinePublicKey)
    throw new ControlError(
      'conflict',
      'this WireGuard key is enrolled with a different machine key; revoke that system first, or make new keys',
    );
  if ((existing.ownerId ?? null) !== user.id) {
    const holder = existing.ownerId
      ? `by another user (${usersOf(registry).get(existing.ownerId)?.email ?? existing.ownerId})`
      : 'with an enrolment key';
    throw new ControlError(
      'conflict',
      `this system is enrolled ${holder}; ${user.email} cannot take it over: run \`warren logout\` there or have the admin revoke it, then sign in`,
    );
  }
  // Patching the tags (even to the same list) makes maps be computed again: the user's groups
  // may have changed, and with them what group: selectors match. The AutoTags tags follow in
  // the caller (retagUser), each change audited.
  registry.patch(existing, { tags: [...existing.tags] });
  return { system: existing, user, created: false, via };
}
