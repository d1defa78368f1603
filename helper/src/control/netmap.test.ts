// Network map checks: signature with the pinned key, recipient, version order, field
// validation, and the conversion to the helper's Profile.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import nacl from 'tweetnacl';
import { CONTROL_PROTOCOL, type NetworkMap, type SignedMap } from '../../../src-shared/wire/control.js';
import { formatKey, generatePrivateKey, publicKeyFromPrivate } from '../../../src-shared/lib/keys.js';
import { identityFromPublicKey } from '../../../src-shared/lib/identity.js';
import { validateProfile } from '../config/validate.js';
import { toProfileJson, type Profile } from '../config/schema.js';
import { formatIpPrefix, parseIpPrefix, type IpPrefix } from '../../../src-shared/lib/ip/addr.js';
import { profileFromMap, unservedRoutesProblem, withheldFullTunnelProblem } from './netmap.js';
import { MapRejected, openSignedMap, signedMapBytes } from '../../../src-shared/lib/netmap/open.js';

const coord = nacl.sign.keyPair();
const other = nacl.sign.keyPair();
const selfKey = generatePrivateKey();
const peerPub = publicKeyFromPrivate(generatePrivateKey());
// The identities the coordinator issued; the keys hash to others (control.ts EnrolResponse).
const SELF_ID = 'ME123';
const PEER_ID = 'DB456';

function map(over: Partial<NetworkMap> = {}): NetworkMap {
  return {
    protocol: CONTROL_PROTOCOL,
    version: 7,
    generatedAt: 1,
    systemId: 'sys1',
    self: {
      identity: SELF_ID,
      name: 'me',
      virtualAddress: '100.64.0.1',
      tags: ['dev'],
      dnsNames: ['me'],
      providesRoutes: [],
    },
    virtualNetwork: '100.64.0.0/10',
    dnsZone: 'corp.internal',
    peers: [
      {
        identity: PEER_ID,
        name: 'db',
        publicKey: formatKey(peerPub),
        virtualAddress: '100.64.0.2',
        endpoints: ['192.0.2.2:51820'],
        tags: ['server'],
        dnsNames: ['db'],
        providesRoutes: ['192.168.1.0/24'],
        online: true,
      },
    ],
    policies: [
      {
        name: 'p',
        senders: ['tag:dev'],
        receivers: [PEER_ID],
        acls: [{ protocol: 'tcp', ports: [{ from: 22, to: 22 }] }],
        trustRequirements: [],
        enabled: true,
      },
    ],
    routes: { [PEER_ID]: ['192.168.1.0/24', '0.0.0.0/0', '100.64.5.0/24'] },
    routeGrants: { [PEER_ID]: ['10.1.0.0/16'], AAAAA: ['10.2.0.0/16'] },
    ...over,
  };
}

function sign(m: unknown, key = coord.secretKey): SignedMap {
  const payload = Buffer.from(JSON.stringify(m));
  const signature = Buffer.from(nacl.sign.detached(signedMapBytes(payload), key));
  return { payload: payload.toString('base64'), signature: signature.toString('base64') };
}

const pinned = Buffer.from(coord.publicKey);

test('a map signed with the pinned key opens; anything else is refused with a reason', () => {
  assert.equal(openSignedMap(sign(map()), pinned, 'sys1', 0).version, 7);
  const cases: Array<[string, unknown, RegExp, number?]> = [
    ['other signer', sign(map(), other.secretKey), /bad signature/],
    [
      'tampered payload',
      { ...sign(map()), payload: Buffer.from(JSON.stringify(map({ version: 8 }))).toString('base64') },
      /bad signature/,
    ],
    ['wrong recipient', sign(map({ systemId: 'sys2' })), /for system sys2/],
    ['older version', sign(map()), /older than the one in force/, 8],
    ['not an object', 'x', /not a signed map/],
    [
      'bad field',
      sign({ ...map(), peers: [{ ...map().peers[0], virtualAddress: '300.1.1.1' }] }),
      /malformed map: map\.peers\[0\]\.virtualAddress/,
    ],
    ['wrong protocol', sign({ ...map(), protocol: 99 }), new RegExp(`speaks ${CONTROL_PROTOCOL}, the map says 99`)],
    [
      'bad policy port',
      sign({
        ...map(),
        policies: [{ ...map().policies[0], acls: [{ protocol: 'tcp', ports: [{ from: 9, to: 2 }] }] }],
      }),
      /acls\[0\]\.ports\[0\]\.to/,
    ],
    [
      'not JSON',
      {
        payload: Buffer.from('{').toString('base64'),
        signature: Buffer.from(nacl.sign.detached(signedMapBytes(Buffer.from('{')), coord.secretKey)).toString(
          'base64',
        ),
      },
      /not JSON/,
    ],
  ];
  for (const [name, signed, re, min] of cases) {
    assert.throws(
      () => openSignedMap(signed, pinned, 'sys1', min ?? 0),
      (e: Error) => e instanceof MapRejected && re.test(e.message),
      name,
    );
  }
});

const pfx = (s: string): IpPrefix => parseIpPrefix(s)!;

/** coordinated is this system's profile as `warren enrol` writes it; extra goes into Coordinator. */
function coordinated(extra: Record<string, unknown> = {}, top: Record<string, unknown> = {}): Profile {
  return validateProfile(
    {
      ...top,
      PrivateKey: formatKey(selfKey),
      VirtualAddress: '100.64.0.1',
      Coordinator: {
        Url: 'http://c:1',
        PublicKey: formatKey(pinned),
        SystemId: 'sys1',
        MachineKey: formatKey(Buffer.alloc(32, 1)),
        ...extra,
      },
    },
    'p',
  );
}

test("a dual-stack coordinator's discovery6, udp6 and tcp6 are read; ones that are not [ipv6]:port refuse the map", () => {
  const relays = [
    { name: 'coordinator', udp: '203.0.113.7:3478', udp6: '[2001:DB8::7]:3478', tcp6: '[2001:db8::7]:443' },
  ];
  const m = openSignedMap(
    sign({ ...map(), discovery: '203.0.113.7:3478', discovery6: '[2001:db8:0::7]:3478', relays }),
    pinned,
    'sys1',
    0,
  );
  assert.equal(m.discovery6, '[2001:db8::7]:3478', 'canonical');
  assert.deepEqual(m.relays, [{ ...relays[0], udp6: '[2001:db8::7]:3478' }]);
  for (const [bad, want] of [
    [{ discovery6: '203.0.113.7:3478' }, /map\.discovery6: not an \[ipv6\]:port/],
    [{ discovery6: 'x'.repeat(5000) }, /map\.discovery6/],
    [{ relays: [{ name: 'r', udp6: '198.51.100.1:1' }] }, /map\.relays\[0\]\.udp6/],
    [{ relays: [{ name: 'r', udp: '198.51.100.1:1', tcp6: '[fe80::1]:99999' }] }, /map\.relays\[0\]\.tcp6/],
  ] as const)
    assert.throws(() => openSignedMap(sign({ ...map(), ...bad }), pinned, 'sys1', 0), want);
});

test("a relay's region is read; one outside the region charset or length refuses the map; maps without it still open", () => {
  const relays = [
    { name: 'near', udp: '203.0.113.7:3478', region: 'eu-west' },
    { name: 'old', udp: '203.0.113.8:3478' },
  ];
  const m = openSignedMap(sign({ ...map(), relays }), pinned, 'sys1', 0);
  assert.deepEqual(m.relays, relays);
  for (const region of ['', 'eu west', 'x'.repeat(33), 7, '-eu'])
    assert.throws(
      () => openSignedMap(sign({ ...map(), relays: [{ ...relays[0], region }] }), pinned, 'sys1', 0),
      /map\.relays\[0\]\.region/,
      String(region),
    );
});

test('profileFromMap gives peers, policies, tags, zone, usable routes and the issued identities', () => {
  const base = coordinated({ AllowFullTunnel: true });
  const p = profileFromMap(base, map());
  assert.notEqual(base.identity, SELF_ID);
  assert.equal(p.identity, SELF_ID, "this system's identity is the one the map issued, not its key's");
  assert.deepEqual(
    p.peers.map((x) => [x.identity, formatKey(x.publicKey)]),
    [[PEER_ID, formatKey(peerPub)]],
    "a peer's identity is the map's, not its key's",
  );
  assert.notEqual(identityFromPublicKey(peerPub), PEER_ID);
  assert.equal(p.peers.length, 1);
  assert.equal(p.peers[0]!.name, 'db');
  assert.deepEqual(p.peers[0]!.endpoint, { addr: { family: 4, v4: 0xc0000202 }, port: 51820 });
  assert.deepEqual(p.peers[0]!.allowedIps, [{ addr: 0x64400002, bits: 32 }]);
  assert.deepEqual(p.tags, ['dev']);
  assert.equal(p.policies?.length, 1);
  assert.equal(p.dns.zone, 'corp.internal');
  assert.deepEqual(
    p.exitNode.availableRoutes,
    [
      {
        identity: PEER_ID,
        routes: [pfx('192.168.1.0/24'), pfx('0.0.0.0/0')],
      },
    ],
    'the overlay-overlapping route is left out, the full tunnel kept',
  );
  assert.deepEqual(
    p.routeGrants,
    [{ identity: PEER_ID, routes: [pfx('10.1.0.0/16')] }],
    'grants name only peers in the map',
  );
  assert.equal(base.routeGrants?.length, 0, 'a coordinated profile grants nothing before its first map');
  assert.throws(
    () => profileFromMap(base, map({ self: { ...map().self, virtualAddress: '100.64.0.9' } })),
    /enrol again/,
  );
  const withSelf = map({
    peers: [
      ...map().peers,
      { ...map().peers[0]!, publicKey: formatKey(publicKeyFromPrivate(selfKey)), virtualAddress: '100.64.0.3' },
    ],
  });
  assert.equal(profileFromMap(base, withSelf).peers.length, 1, 'this system never becomes its own peer');
});

test('a map routes all traffic (0.0.0.0/0) through an exit node only when the profile allows a full tunnel', () => {
  const exitNode = PEER_ID;
  const lan = pfx('192.168.1.0/24');
  const everything = pfx('0.0.0.0/0');

  const withheld = profileFromMap(coordinated(), map());
  assert.deepEqual(
    withheld.exitNode.availableRoutes,
    [{ identity: exitNode, routes: [lan] }],
    'without AllowFullTunnel the full tunnel is left out and the subnet kept',
  );
  assert.deepEqual(withheld.exitNode.withheldFullTunnel, [exitNode]);

  const allowed = profileFromMap(coordinated({ AllowFullTunnel: true }), map());
  assert.deepEqual(allowed.exitNode.availableRoutes, [{ identity: exitNode, routes: [lan, everything] }]);
  assert.deepEqual(allowed.exitNode.withheldFullTunnel, []);

  const subnetsOnly = profileFromMap(coordinated(), map({ routes: { [exitNode]: ['192.168.1.0/24'] } }));
  assert.deepEqual(subnetsOnly.exitNode.availableRoutes, [{ identity: exitNode, routes: [lan] }]);
  assert.deepEqual(subnetsOnly.exitNode.withheldFullTunnel, [], 'smaller subnets are no full tunnel');

  const halves = profileFromMap(
    coordinated(),
    map({ routes: { [exitNode]: ['0.0.0.0/1', '128.0.0.0/1', '10.0.0.0/8', '192.168.1.0/24'] } }),
  );
  assert.deepEqual(
    halves.exitNode.availableRoutes,
    [{ identity: exitNode, routes: [pfx('10.0.0.0/8'), lan] }],
    'routes wider than /8 (two halves make a full tunnel) need the same consent; a /8 does not',
  );
  assert.deepEqual(halves.exitNode.withheldFullTunnel, [exitNode]);

  const strangers = profileFromMap(coordinated(), map({ routes: { AAAAA: ['0.0.0.0/0'] } }));
  assert.deepEqual(strangers.exitNode.withheldFullTunnel, [], 'an exit node that is not a peer routes nothing anyway');

  const problem = withheldFullTunnelProblem(exitNode, '/etc/warren/profiles/Universe.profile');
  assert.match(
    problem,
    new RegExp(
      `0\\.0\\.0\\.0/0, ::/0, or a route wider than /8 for IPv4 or /16 for IPv6\\) through exit node ${exitNode}; not applied`,
    ),
  );
  assert.match(problem, /"AllowFullTunnel": true under Coordinator in \/etc\/warren\/profiles\/Universe\.profile/);
  assert.match(problem, /--allow-full-tunnel/);
});

test('a map makes this system an exit node only when the profile opts in (ExitNode.Serve), else lists the routes unserved', () => {
  const asExit = map({ self: { ...map().self, providesRoutes: ['192.168.7.0/24', '100.64.9.0/24'] } });
  const off = profileFromMap(coordinated(), asExit);
  assert.deepEqual(off.exitNode.providesRoutes, [], 'no forwarding or NAT without the opt-in');
  assert.deepEqual(off.exitNode.unserved, [pfx('192.168.7.0/24')], 'the overlay-overlapping route is no route at all');
  const problem = unservedRoutesProblem(off.exitNode.unserved!, '/etc/warren/profiles/Universe.profile');
  assert.match(problem, /exit node for 192\.168\.7\.0\/24; not served/);
  assert.match(problem, /"Serve": true under ExitNode in \/etc\/warren\/profiles\/Universe\.profile/);
  assert.match(problem, /--serve-exit-node/);

  const on = profileFromMap(coordinated({}, { ExitNode: { Serve: true } }), asExit);
  assert.deepEqual(on.exitNode.providesRoutes, [pfx('192.168.7.0/24')]);
  assert.deepEqual(on.exitNode.unserved, []);
  assert.equal(on.exitNode.serve, true);
  assert.deepEqual(profileFromMap(coordinated(), map()).exitNode.unserved, [], 'not an exit node: nothing unserved');
});

test('ExitNode.Serve must be a boolean', () => {
  assert.equal(coordinated({}, { ExitNode: { Serve: false } }).exitNode.serve, false);
  assert.throws(
    () => coordinated({}, { ExitNode: { Serve: 'yes' } }),
    /ExitNode\.Serve: must be true or false, not a string/,
  );
});

test('a map whose identities are malformed or shared is refused', () => {
  const peer = map().peers[0]!;
  const policy = map().policies[0]!;
  const cases: Array<[string, unknown, RegExp]> = [
    [
      'self not Crockford',
      { ...map(), self: { ...map().self, identity: 'ME12I' } },
      /map\.self\.identity: not an identity/,
    ],
    ['self lower case', { ...map(), self: { ...map().self, identity: 'me123' } }, /map\.self\.identity/],
    [
      'peer with U',
      { ...map(), peers: [{ ...peer, identity: 'DB45U' }] },
      /map\.peers\[0\]\.identity: not an identity/,
    ],
    ['peer too long', { ...map(), peers: [{ ...peer, identity: 'DB4567' }] }, /map\.peers\[0\]\.identity/],
    ['peer not a string', { ...map(), peers: [{ ...peer, identity: 12345 }] }, /map\.peers\[0\]\.identity/],
    ['route key with O', { ...map(), routes: { OOOOO: ['10.0.0.0/8'] } }, /map\.routes key/],
    ['route grant key', { ...map(), routeGrants: { DB4L6: ['10.0.0.0/8'] } }, /map\.routeGrants key/],
    [
      'policy selector with L',
      { ...map(), policies: [{ ...policy, receivers: ['DB4L6'] }] },
      /policies\[0\]\.receivers\[0\]: not an identity or tag selector/,
    ],
    [
      'two peers sharing an identity',
      {
        ...map(),
        peers: [peer, { ...peer, publicKey: formatKey(Buffer.alloc(32, 7)), virtualAddress: '100.64.0.7' }],
      },
      /map\.peers\[1\]\.identity: DB456 is also another system's/,
    ],
    [
      "a peer with this system's identity",
      { ...map(), peers: [{ ...peer, identity: SELF_ID }] },
      /map\.peers\[0\]\.identity: ME123 is also another system's/,
    ],
  ];
  for (const [name, m, re] of cases) {
    assert.throws(
      () => openSignedMap(sign(m), pinned, 'sys1', 0),
      (e: Error) => e instanceof MapRejected && /^malformed map: /.test(e.message) && re.test(e.message),
      name,
    );
  }
  assert.equal(openSignedMap(sign(map()), pinned, 'sys1', 0).peers[0]!.identity, PEER_ID);
});

const NET6 = 'fd12:3456:789a::/48';
/** map6 is map() with IPv6 addresses in the network's /48, as a coordinator with IPv6 sends it. */
function map6(over: Partial<NetworkMap> = {}): NetworkMap {
  const m = map(over);
  return {
    ...m,
    virtualNetwork6: NET6,
    self: { ...m.self, virtualAddress6: 'fd12:3456:789a::6440:1' },
    peers: m.peers.map((p) => ({ ...p, virtualAddress6: 'fd12:3456:789a::6440:2' })),
    ...over,
  };
}

test('a map with IPv6 addresses in its /48 opens; an address outside it or a network that is not a ULA /48 is refused', () => {
  const ok = openSignedMap(sign(map6()), pinned, 'sys1', 0);
  assert.equal(ok.virtualNetwork6, NET6);
  assert.equal(ok.self.virtualAddress6, 'fd12:3456:789a::6440:1');
  assert.equal(ok.peers[0]!.virtualAddress6, 'fd12:3456:789a::6440:2');
  const m = map6();
  const cases: Array<[string, unknown, RegExp]> = [
    [
      'peer outside the /48',
      { ...m, peers: [{ ...m.peers[0], virtualAddress6: 'fd12:3456:789b::6440:2' }] },
      /map\.peers\[0\]\.virtualAddress6: fd12:3456:789b::6440:2 is outside fd12:3456:789a::\/48/,
    ],
    [
      'peer claims a global address',
      { ...m, peers: [{ ...m.peers[0], virtualAddress6: '2001:db8::1' }] },
      /map\.peers\[0\]\.virtualAddress6: 2001:db8::1 is outside/,
    ],
    [
      'self outside',
      { ...m, self: { ...m.self, virtualAddress6: '::1' } },
      /map\.self\.virtualAddress6: ::1 is outside/,
    ],
    ['IPv4 as IPv6', { ...m, self: { ...m.self, virtualAddress6: '100.64.0.1' } }, /not an IPv6 address/],
    [
      'network not a /48',
      { ...m, virtualNetwork6: 'fd12:3456:789a::/47' },
      /map\.virtualNetwork6: not a unique local \/48/,
    ],
    ['network not ULA', { ...m, virtualNetwork6: '2001:db8:1::/48' }, /not a unique local \/48/],
    ['network with host bits', { ...m, virtualNetwork6: 'fd12:3456:789a::1/48' }, /not a unique local \/48/],
    [
      'address without a network',
      { ...m, virtualNetwork6: undefined },
      /map\.self\.virtualAddress6: an IPv6 address in a map without virtualNetwork6/,
    ],
  ];
  for (const [name, bad, re] of cases) {
    assert.throws(
      () => openSignedMap(sign(bad), pinned, 'sys1', 0),
      (e: Error) => e instanceof MapRejected && re.test(e.message),
      name,
    );
  }
});

test('a map from a coordinator without IPv6 still opens, and gives no IPv6 allowed IPs', () => {
  const m = openSignedMap(sign(map()), pinned, 'sys1', 0);
  assert.equal(m.virtualNetwork6, undefined);
  const p = profileFromMap(coordinated(), m);
  assert.deepEqual(p.peers[0]!.allowedIps6, []);
});

/** coordinated6 is a coordinated profile enrolled with a coordinator that has IPv6. */
function coordinated6(address6 = 'fd12:3456:789a::6440:1'): Profile {
  const { Peers: _peers, ...json } = toProfileJson(coordinated());
  return validateProfile({ ...json, VirtualAddress6: address6, VirtualNetwork6: NET6 }, 'p');
}

test('profileFromMap gives each peer its IPv6 /128 as an allowed IP and refuses another address for this system', () => {
  const p = profileFromMap(coordinated6(), openSignedMap(sign(map6()), pinned, 'sys1', 0));
  assert.deepEqual(p.peers[0]!.allowedIps6.map(formatIpPrefix), ['fd12:3456:789a::6440:2/128']);
  assert.equal(p.virtualAddress6, 'fd12:3456:789a::6440:1');
  assert.throws(
    () => profileFromMap(coordinated6('fd12:3456:789a::6440:9'), openSignedMap(sign(map6()), pinned, 'sys1', 0)),
    (e: Error) => e instanceof MapRejected && /gives this system fd12:3456:789a::6440:1 .* enrol again/.test(e.message),
  );
  // A profile enrolled before the coordinator had IPv6 keeps running, over IPv4 on its side.
  const old = profileFromMap(coordinated(), openSignedMap(sign(map6()), pinned, 'sys1', 0));
  assert.equal(old.virtualAddress6, null);
});

test('IPv6 exit routes from a map: kept inside the IPv6 overlay rules, ::/0 and routes wider than /16 need consent', () => {
  const net6 = { VirtualAddress6: 'fd12:3456:789a::6440:1' };
  const routes = { [PEER_ID]: ['fd00:7::/64', '2001:db8::/32', '::/0', '2000::/3', 'fd12:3456:789a:1::/64'] };
  const withheld = profileFromMap(coordinated({}, net6), map6({ routes }));
  assert.deepEqual(
    withheld.exitNode.availableRoutes,
    [{ identity: PEER_ID, routes: [pfx('fd00:7::/64'), pfx('2001:db8::/32')] }],
    'the route inside the overlay /48 is left out; ::/0 and 2000::/3 are withheld without consent',
  );
  assert.deepEqual(withheld.exitNode.withheldFullTunnel, [PEER_ID]);
  const allowed = profileFromMap(coordinated({ AllowFullTunnel: true }, net6), map6({ routes }));
  assert.deepEqual(allowed.exitNode.availableRoutes[0]!.routes.map(formatIpPrefix), [
    'fd00:7::/64',
    '2001:db8::/32',
    '::/0',
    '2000::/3',
  ]);
  const noV6 = profileFromMap(coordinated({ AllowFullTunnel: true }), map({ routes }));
  assert.deepEqual(
    noV6.exitNode.availableRoutes,
    [{ identity: PEER_ID, routes: [] }],
    'no IPv6 overlay: no IPv6 routes',
  );
});
