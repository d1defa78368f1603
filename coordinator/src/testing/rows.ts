// Test support: a stored system row, an enrolment key, a system to insert and a user row with every field filled, for the store,
// registry, map and sign-in tests.
import { hashKey, newKeyText } from '../auth/enrolment-keys.js';
import type { NewSystem } from '../store/registry.js';
import type { Store, SystemRow } from '../store/store.js';
import type { UserRow } from '../store/users.js';

/** sampleSystemRow is an active system with the given fields changed. */
export function sampleSystemRow(over: Partial<SystemRow> = {}): SystemRow {
  return {
    id: 'sys-1',
    identity: 'G982V',
    wgKey: 'wg1',
    machineKey: 'mk1',
    hostname: 'Laptop',
    name: 'laptop',
    address: 0x64400001,
    tags: ['dev'],
    dnsNames: ['db'],
    state: 'active',
    ephemeral: false,
    keyId: 'k1',
    createdAt: 1000,
    lastSeen: null,
    observedIp: null,
    listenPort: null,
    reported: [],
    ownerId: null,
    autoTags: [],
    ...over,
  };
}

/** sampleNewSystem is the n-th of a run of test systems to insert (ids sys-N, hostnames hN),
 * active, untagged, at address, with the given fields changed. */
export function sampleNewSystem(n: number, address: number, over: Partial<NewSystem> = {}): NewSystem {
  return {
    id: `sys-${n}`,
    wgKey: `wg${n}`,
    machineKey: `mk${n}`,
    hostname: `h${n}`,
    name: `h${n}`,
    address,
    tags: [],
    dnsNames: [],
    state: 'active',
    ephemeral: false,
    keyId: null,
    createdAt: n,
    lastSeen: null,
    observedIp: null,
    listenPort: null,
    reported: [],
    ...over,
  };
}

/** sampleUserRow is alice, signed in with the provider "corp" and in group eng, with the given
 * fields changed. */
export function sampleUserRow(over: Partial<UserRow> = {}): UserRow {
  return {
    id: 'usr-1',
    issuer: 'https://idp.example.com',
    subject: 'alice-sub',
    provider: 'corp',
    email: 'alice@example.com',
    name: 'Alice Example',
    groups: ['eng'],
    createdAt: 1000,
    lastAuthAt: 1000,
    disabled: false,
    checkedAt: null,
    lapsedAt: null,
    ...over,
  };
}

/** addEnrolKey stores a fresh automatic key tagged dev with `uses` uses and returns its text
 * and id. */
export function addEnrolKey(store: Store, uses: number): { key: string; id: string } {
  const { key, id } = newKeyText();
  store.insertKey({
    id,
    hash: hashKey(key),
    tags: ['dev'],
    approval: 'automatic',
    usesAllowed: uses,
    uses: 0,
    ephemeral: false,
    createdAt: 0,
    expiresAt: Number.MAX_SAFE_INTEGER,
    revokedAt: null,
  });
  return { key, id };
}
