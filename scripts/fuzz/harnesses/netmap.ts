// Network maps (helper/src/control/netmap.ts openSignedMap and profileFromMap, map-parse.ts):
// what the coordinator pushes to every helper. The harness signs each mutant with the pinned
// key, so the mutations reach the field checks behind the signature instead of stopping there.
import assert from 'node:assert/strict';
import type { HarnessSpec } from '../engine.js';
import { errorOutcome } from '../guard.js';
import { hashSeed, Rng } from '../rng.js';
import type { NetworkMap } from '../../../src-shared/wire/control.js';
import { privateKeyFromSeed, rawPublicKey, signEd25519 } from '../../../src-shared/lib/ed25519.js';
import { formatKey, publicKeyFromPrivate } from '../../../src-shared/lib/keys.js';
import { parseCidr } from '../../../src-shared/lib/ip/ipv4.js';
import { needsConsent, profileFromMap } from '../../../helper/src/control/netmap.js';
import { MapRejected, openSignedMap, signedMapBytes } from '../../../src-shared/lib/netmap/open.js';
import { parseNetworkMap } from '../../../src-shared/lib/netmap/map-parse.js';
import { sampleMap } from '../../../src-shared/lib/netmap/testing.js';
import { validateProfile } from '../../../helper/src/config/validate.js';
import type { Profile } from '../../../helper/src/config/schema.js';

const OWN_PRIVATE = 'yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=';

function seedMaps(peerKey: string): NetworkMap[] {
  const base: NetworkMap = sampleMap({
    version: 7,
    self: { tags: ['dev'] },
    peers: [
      {
        identity: 'DB456',
        name: 'db',
        publicKey: peerKey,
        virtualAddress: '100.64.0.2',
        endpoints: ['192.0.2.2:51820', '10.0.0.2:41641'],
        tags: ['server'],
        dnsNames: ['db', 'db.prod'],
        providesRoutes: ['192.168.1.0/24'],
        online: true,
      },
    ],
    policies: [
      {
        name: 'p',
        senders: ['tag:dev'],
        receivers: ['DB456'],
        acls: [{ protocol: 'tcp', ports: [{ from: 22, to: 22 }] }],
        trustRequirements: [
          { type: 'schedule', days: ['Mon', 'Fri'], from: '08:00', to: '24:00', timeZone: 'Europe/London' },
          { type: 'public-ip', ranges: ['203.0.113.0/24'] },
        ],
        enabled: true,
      },
    ],
    routes: { DB456: ['192.168.1.0/24', '0.0.0.0/0', '100.64.5.0/24', '0.0.0.0/1'] },
    routeGrants: { DB456: ['10.1.0.0/16'], AAAAA: ['10.2.0.0/16'] },
  });
  return [
    base,
    {
      ...base,
      discovery: '198.51.100.1:3478',
      relays: [
        { name: 'r1', udp: '198.51.100.2:3479' },
        { name: 'r.2', tcp: '198.51.100.3:443' },
      ],
      self: { ...base.self, providesRoutes: ['10.9.0.0/16', '0.0.0.0/0'] },
    },
  ];
}

function checkProfile(p: Profile, map: NetworkMap, base: Profile): void {
  const own = base.publicKey.toString('base64');
  const keys = p.peers.map((x) => x.publicKey.toString('base64'));
  assert.ok(!keys.includes(own), 'this system is its own peer');
  assert.equal(new Set(keys).size, keys.length, 'a key is two peers');
  assert.equal(new Set(p.peers.map((x) => x.identity)).size, p.peers.length, 'an identity is two peers');
  for (const peer of p.peers) {
    assert.equal(peer.allowedIps.length, 1);
    assert.equal(peer.allowedIps[0]!.bits, 32);
    assert.notEqual(peer.allowedIps[0]!.addr, parseCidr(`${base.virtualAddress}/32`)!.addr, 'a peer has our address');
  }
  const known = new Set(p.peers.map((x) => x.identity));
  for (const a of p.exitNode.availableRoutes) {
    assert.ok(known.has(a.identity), `routes through ${a.identity}, which is no peer`);
    for (const c of a.routes) assert.ok(!needsConsent(c), 'a full tunnel without consent');
  }
  for (const g of p.routeGrants ?? []) assert.ok(known.has(g.identity), `a route grant for ${g.identity}, no peer`);
  assert.equal(p.identity, map.self.identity);
  assert.deepEqual(p.policies, map.policies);
}

export const netmap: HarnessSpec = {
  name: 'netmap',
  properties: [
    'openSignedMap returns a map or throws MapRejected, nothing else, for any payload signed with the pinned key',
    'a payload whose signature does not match is refused',
    'an accepted map is addressed to this system, not older than the one in force, and parses to itself again',
    'profileFromMap returns a profile or throws MapRejected; the profile never lists this system, never a key or identity twice, and no full tunnel without consent',
  ],
  testIterations: 2500,
  create() {
    const rng = new Rng(11);
    const coordKey = privateKeyFromSeed(rng.bytes(32));
    const pinned = rawPublicKey(coordKey);
    const peerKey = formatKey(publicKeyFromPrivate(rng.bytes(32)));
    const base = validateProfile(
      {
        PrivateKey: OWN_PRIVATE,
        VirtualAddress: '100.64.0.1',
        Coordinator: {
          Url: 'https://c.example/',
          PublicKey: pinned.toString('base64'),
          SystemId: 'sys1',
          MachineKey: peerKey,
        },
      },
      'fuzz.profile',
    );
    const self = formatKey(base.publicKey);
    const maps = seedMaps(peerKey);
    const withSelf = structuredClone(maps[0]!);
    withSelf.peers.push({ ...withSelf.peers[0]!, identity: 'ZZ999', publicKey: self, virtualAddress: '100.64.0.9' });
    return {
      seeds: [...maps, withSelf].map((m) => Buffer.from(JSON.stringify(m))),
      dictionary: ['"', ':', ',', '{}', '[]', '"identity"', '"0.0.0.0/0"', 'null'],
      maxLen: 32 * 1024,
      json: true,
      run(input) {
        const tamper = hashSeed(input) % 16 === 0;
        const sig = signEd25519(coordKey, signedMapBytes(input));
        if (tamper) sig[input.length % 64]! ^= 1;
        const signed = { payload: input.toString('base64'), signature: sig.toString('base64') };
        let map: NetworkMap;
        try {
          map = openSignedMap(signed, pinned, 'sys1', 5);
        } catch (e) {
          if (!(e instanceof MapRejected)) assert.fail(`openSignedMap threw ${errorOutcome(e)}`);
          if (tamper) assert.match(e.message, /bad signature/);
          return errorOutcome(e);
        }
        assert.ok(!tamper, 'a map with a bad signature was accepted');
        assert.equal(map.systemId, 'sys1');
        assert.ok(map.version >= 5);
        assert.deepEqual(parseNetworkMap(JSON.parse(JSON.stringify(map))), map, 'an accepted map parses differently');
        let p: Profile;
        try {
          p = profileFromMap(base, map);
        } catch (e) {
          if (!(e instanceof MapRejected)) assert.fail(`profileFromMap threw ${errorOutcome(e)}`);
          return `profile:${errorOutcome(e)}`;
        }
        checkProfile(p, map, base);
        return `ok:peers-${Math.min(p.peers.length, 3)}:withheld-${(p.exitNode.withheldFullTunnel ?? []).length > 0}`;
      },
    };
  },
};
