// A network map for tests and fuzz seeds: system sys1 (ME123, me, 100.64.0.1) in
// 100.64.0.0/10 with no peers, policies or routes, which each test changes where it matters.
import { CONTROL_PROTOCOL, type NetworkMap } from '../../wire/control.js';

/** SampleMapChanges are the parts a test sets; self's fields are merged into the sample's. */
export type SampleMapChanges = Partial<Omit<NetworkMap, 'self'>> & { self?: Partial<NetworkMap['self']> };

/** sampleMap is the sample map with changes applied. */
export function sampleMap(changes: SampleMapChanges = {}): NetworkMap {
  const { self, ...rest } = changes;
  return {
    protocol: CONTROL_PROTOCOL,
    version: 1,
    generatedAt: 1,
    systemId: 'sys1',
    self: {
      identity: 'ME123',
      name: 'me',
      virtualAddress: '100.64.0.1',
      tags: [],
      dnsNames: ['me'],
      providesRoutes: [],
      ...self,
    },
    virtualNetwork: '100.64.0.0/10',
    dnsZone: 'corp.internal',
    peers: [],
    policies: [],
    routes: {},
    ...rest,
  };
}
