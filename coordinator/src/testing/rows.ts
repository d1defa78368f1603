// Test support: a stored system row with every field filled, for the store and registry tests.
import type { SystemRow } from '../store/store.js';

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
    ...over,
  };
}
