import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NetworkMap } from '../../../src-shared/wire/control.js';
import { parseCidr, parseIPv4 } from '../../../src-shared/lib/ip/ipv4.js';
import { endpointsOf, mapPayload, MapBuilder } from './netmap.js';
import { parsePolicyFile } from '../policy/policy-file.js';
import { Registry, type LiveSystem } from '../store/registry.js';
import type { Store, SystemRow } from '../store/store.js';
import { SqliteStore } from '../store/sqlite-store.js';

interface Fixture {
  registry: Registry;
  builder: MapBuilder;
  changes: number;
  /** add inserts a system, offering the registry the identity its row names first. */
  add(r: SystemRow): LiveSystem;
  sys(identity: string): LiveSystem;
  map(identity: string): NetworkMap;
  done(): void;
}

let counter = 0;
function row(identity: string, tags: string[], over: Partial<SystemRow> = {}): SystemRow {
  counter++;
  return {
    id: `sys-${identity}`,
    identity,
    wgKey: `wg-${identity}`,
    machineKey: `mk-${identity}`,
    hostname: identity.toLowerCase(),
    name: identity.toLowerCase(),
    address: parseIPv4(`100.64.0.${(counter % 250) + 1}`)!,
    tags,
    dnsNames: [],
    state: 'active',
    ephemeral: false,
    keyId: null,
    createdAt: counter,
    lastSeen: null,
    observedIp: null,
    listenPort: null,
    reported: [],
    ...over,
  };
}

/** replayRegistry makes a registry that issues each row the identity it names (through the
 * registry's identity seam, which still skips identities issued before), so that maps can be
 * checked by identity. */
function replayRegistry(store: Store, changed: () => void): { registry: Registry; add(r: SystemRow): LiveSystem } {
  const wanted: string[] = [];
  const registry = new Registry(
    store,
    parseCidr('100.64.0.0/10')!,
    'warren.internal',
    { changed, revoked: () => {}, removed: () => {} },
    0,
    { newIdentity: () => wanted.shift() ?? '' },
  );
  return {
    registry,
    add: (r) => {
      wanted.push(r.identity);
      return registry.insert(r, 0);
    },
  };
}

function fixture(rows: SystemRow[], policy: unknown): Fixture {
  const dir = mkdtempSync(join(tmpdir(), 'warren-netmap-'));
  const store = new SqliteStore(join(dir, 'c.db'));
  const f = { changes: 0 } as Fixture;
  const { registry, add } = replayRegistry(store, () => f.changes++);
  for (const r of rows) assert.equal(add(r).identity, r.identity);
  const text = JSON.stringify(policy);
  const parsed = parsePolicyFile(text);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  registry.applyPolicy(text, parsed.file, 0);
  const builder = new MapBuilder(registry);
  return Object.assign(f, {
    registry,
    add,
    builder,
    sys: (id: string) => registry.find(id)!,
    map: (id: string) =>
      JSON.parse(mapPayload(registry.version, 0, builder.content(registry.find(id)!).text)) as NetworkMap,
    done: () => {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  });
}

const POLICY = {
  Tags: ['dev', 'server', 'exit', 'ops'],
  Policies: [
    { Name: 'dev-ssh', Senders: ['tag:dev'], Receivers: ['tag:server'], Acls: [{ Protocol: 'tcp', Ports: '22' }] },
    { Name: 'ops-all', Senders: ['tag:ops'], Receivers: ['tag:ops', 'tag:server'], Acls: [{ Protocol: 'any' }] },
    { Name: 'off', Senders: ['tag:dev'], Receivers: ['tag:ops'], Acls: [{ Protocol: 'any' }], Enabled: false },
    {
      Name: 'office-only',
      Senders: ['tag:dev'],
      Receivers: ['EEEEE'],
      Acls: [{ Protocol: 'tcp', Ports: '443' }],
      TrustRequirements: [
        { Type: 'PublicIp', Ranges: ['203.0.113.0/24'] },
        { Type: 'Schedule', Days: ['Mon'], From: '09:00', To: '17:00', TimeZone: 'UTC' },
      ],
    },
  ],
  Dns: { Records: [{ Name: 'db', Targets: ['tag:server'] }] },
  Routes: [{ ExitNode: 'tag:exit', Subnets: ['192.168.1.0/24', '10.1.0.0/16'], Senders: ['tag:dev'] }],
};

function systems(): SystemRow[] {
  return [
    row('AAAAA', ['dev'], { observedIp: '203.0.113.5' }),
    row('BBBBB', ['dev'], { observedIp: '198.51.100.1' }),
    row('CCCCC', ['server']),
    row('DDDDD', ['ops']),
    row('EEEEE', ['exit']),
    row('FFFFF', ['server'], { state: 'pending' }),
    row('GGGGG', ['server'], { state: 'revoked' }),
  ];
}

test('peers: either direction of an enabled policy, plus route exit nodes and their clients', () => {
  const f = fixture(systems(), POLICY);
  try {
    const ids = (m: NetworkMap): string[] => m.peers.map((p) => p.identity);
    // AAAAA: dev → server (CCCCC); office-only → EEEEE (its public IP is in range); exit node EEEEE.
    assert.deepEqual(ids(f.map('AAAAA')), ['CCCCC', 'EEEEE']);
    // BBBBB is outside the office range, but still a route client of EEEEE.
    assert.deepEqual(ids(f.map('BBBBB')), ['CCCCC', 'EEEEE']);
    // The server is reached by the devs and by ops; the pending and revoked servers are nobody's peers.
    assert.deepEqual(ids(f.map('CCCCC')), ['AAAAA', 'BBBBB', 'DDDDD']);
    // The disabled policy gives DDDDD no dev peers.
    assert.deepEqual(ids(f.map('DDDDD')), ['CCCCC']);
    assert.deepEqual(ids(f.map('EEEEE')), ['AAAAA', 'BBBBB']);
  } finally {
    f.done();
  }
});

test('policies are resolved for the recipient: identities, trimmed lists, PublicIp evaluated and removed', () => {
  const f = fixture(systems(), POLICY);
  try {
    const a = f.map('AAAAA');
    // The disabled policy grants nothing and is left out.
    assert.deepEqual(
      a.policies.map((p) => p.name),
      ['dev-ssh', 'office-only'],
    );
    const ssh = a.policies[0]!;
    assert.deepEqual(ssh.senders, ['AAAAA']);
    assert.deepEqual(ssh.receivers, ['CCCCC']);
    const office = a.policies[1]!;
    assert.deepEqual(
      office.trustRequirements.map((r) => r.type),
      ['schedule'],
    );
    assert.deepEqual(office.receivers, ['EEEEE']);
    // For the receiver, the PublicIp check has removed the sender outside the range.
    const e = f.map('EEEEE');
    assert.deepEqual(
      e.policies.map((p) => [p.name, p.senders, p.receivers]),
      [['office-only', ['AAAAA'], ['EEEEE']]],
    );
    // BBBBB lost its place in office-only, so that policy is not in its map at all.
    assert.deepEqual(
      f.map('BBBBB').policies.map((p) => p.name),
      ['dev-ssh'],
    );
    // A system on both sides gets both lists whole.
    const d = f.map('DDDDD');
    const ops = d.policies.find((p) => p.name === 'ops-all')!;
    assert.deepEqual([ops.senders, ops.receivers], [['DDDDD'], ['CCCCC', 'DDDDD']]);
  } finally {
    f.done();
  }
});

test('routes, provided routes and DNS names', () => {
  const f = fixture(systems(), POLICY);
  try {
    const a = f.map('AAAAA');
    assert.deepEqual(a.routes, { EEEEE: ['10.1.0.0/16', '192.168.1.0/24'] });
    const exit = a.peers.find((p) => p.identity === 'EEEEE')!;
    assert.deepEqual(exit.providesRoutes, ['10.1.0.0/16', '192.168.1.0/24']);
    assert.deepEqual(f.map('EEEEE').self.providesRoutes, ['10.1.0.0/16', '192.168.1.0/24']);
    assert.deepEqual(f.map('EEEEE').routes, {});
    // The exit node is told who may use which of its subnets.
    assert.deepEqual(f.map('EEEEE').routeGrants, {
      AAAAA: ['10.1.0.0/16', '192.168.1.0/24'],
      BBBBB: ['10.1.0.0/16', '192.168.1.0/24'],
    });
    assert.deepEqual(a.routeGrants, {});
    const server = a.peers.find((p) => p.identity === 'CCCCC')!;
    assert.deepEqual(server.dnsNames, ['ccccc', 'db']);
    assert.deepEqual(f.map('CCCCC').self.dnsNames, ['ccccc', 'db']);
    assert.equal(a.dnsZone, 'warren.internal');
    assert.equal(a.virtualNetwork, '100.64.0.0/10');
    assert.equal(a.systemId, 'sys-AAAAA');
  } finally {
    f.done();
  }
});

test('content changes exactly when something the recipient sees changes', () => {
  const f = fixture(systems(), POLICY);
  try {
    const before = { a: f.builder.content(f.sys('AAAAA')).text, d: f.builder.content(f.sys('DDDDD')).text };
    // The server's DNS names appear in AAAAA's map, not in DDDDD's... (DDDDD also has CCCCC as a peer)
    f.registry.patch(f.sys('BBBBB'), { dnsNames: ['laptop'] });
    assert.equal(f.builder.content(f.sys('AAAAA')).text, before.a, "a fellow sender is not in AAAAA's map");
    f.registry.setOnline(f.sys('CCCCC'), true, 5);
    const a2 = f.builder.content(f.sys('AAAAA')).text;
    assert.notEqual(a2, before.a);
    assert.equal((JSON.parse(`{${a2}`) as NetworkMap).peers.find((p) => p.identity === 'CCCCC')!.online, true);
    // Tagging AAAAA as ops gives it the ops policy and DDDDD as a peer.
    f.registry.patch(f.sys('AAAAA'), { tags: ['dev', 'ops'] });
    assert.deepEqual(
      f.map('AAAAA').peers.map((p) => p.identity),
      ['CCCCC', 'DDDDD', 'EEEEE'],
    );
    assert.ok(f.changes >= 3);
  } finally {
    f.done();
  }
});

test('endpointsOf: observed address with the listen port first, loopback skipped, reported after', () => {
  const s = (over: Partial<LiveSystem>): LiveSystem => ({
    ...row('HHHHH', []),
    online: false,
    offlineSince: 0,
    rev: 0,
    observedUdp: null,
    ...over,
  });
  assert.deepEqual(endpointsOf(s({ observedIp: '198.51.100.7', listenPort: 51820, reported: ['10.0.0.2:51820'] })), [
    '198.51.100.7:51820',
    '10.0.0.2:51820',
  ]);
  assert.deepEqual(
    endpointsOf(s({ observedIp: '::ffff:198.51.100.7', listenPort: 51820, reported: ['198.51.100.7:51820'] })),
    ['198.51.100.7:51820'],
  );
  assert.deepEqual(endpointsOf(s({ observedIp: '127.0.0.1', listenPort: 51820, reported: ['10.0.0.2:51820'] })), [
    '10.0.0.2:51820',
  ]);
  assert.deepEqual(endpointsOf(s({ observedIp: '198.51.100.7', listenPort: null, reported: [] })), []); // IPv6: an observed global address becomes [v6]:port; loopback and link-local ones are no one's.
  assert.deepEqual(
    endpointsOf(
      s({ observedIp: '2001:DB8::7', listenPort: 51820, reported: ['[2001:db8::7]:51820', '10.0.0.2:51820'] }),
    ),
    ['[2001:db8::7]:51820', '10.0.0.2:51820'],
  );
  assert.deepEqual(endpointsOf(s({ observedIp: '::1', listenPort: 51820, reported: [] })), []);
  assert.deepEqual(endpointsOf(s({ observedIp: 'fe80::1', listenPort: 51820, reported: [] })), []);
});

test('endpointsOf: the observed UDP mapping goes first, duplicates once, the list stays bounded', () => {
  const s = (over: Partial<LiveSystem>): LiveSystem => ({
    ...row('JJJJJ', []),
    online: false,
    offlineSince: 0,
    rev: 0,
    observedUdp: null,
    ...over,
  });
  assert.deepEqual(
    endpointsOf(
      s({
        observedUdp: '198.51.100.7:40001',
        observedIp: '198.51.100.7',
        listenPort: 51820,
        reported: ['10.0.0.2:51820'],
      }),
    ),
    ['198.51.100.7:40001', '198.51.100.7:51820', '10.0.0.2:51820'],
  );
  // A NAT that keeps the port: the mapping and observed address + listen port are the same.
  assert.deepEqual(
    endpointsOf(
      s({
        observedUdp: '198.51.100.7:51820',
        observedIp: '198.51.100.7',
        listenPort: 51820,
        reported: ['198.51.100.7:51820'],
      }),
    ),
    ['198.51.100.7:51820'],
  );
  assert.deepEqual(endpointsOf(s({ observedUdp: '203.0.113.1:9', observedIp: null, listenPort: null, reported: [] })), [
    '203.0.113.1:9',
  ]);
  const many = Array.from({ length: 20 }, (_, i) => `10.0.${i}.1:51820`);
  const out = endpointsOf(s({ observedUdp: '203.0.113.1:9', reported: many }));
  assert.equal(out.length, 16);
  assert.equal(out[0], '203.0.113.1:9');
});

test("NAT map fields are the same in every map, and a UDP mapping reaches peers' maps only", () => {
  const dir = mkdtempSync(join(tmpdir(), 'warren-netmap-'));
  const store = new SqliteStore(join(dir, 'c.db'));
  try {
    const { registry, add } = replayRegistry(store, () => {});
    for (const r of systems()) add(r);
    const text = JSON.stringify(POLICY);
    const parsed = parsePolicyFile(text);
    assert.ok(parsed.ok);
    registry.applyPolicy(text, parsed.file, 0);
    const relays = [
      { name: 'coordinator', udp: '198.51.100.1:8443', tcp: '198.51.100.1:443' },
      { name: 'eu', udp: '203.0.113.9:3478' },
    ];
    const b = new MapBuilder(registry, { discovery: '198.51.100.1:8443', relays });
    const map = (id: string): NetworkMap =>
      JSON.parse(mapPayload(registry.version, 0, b.content(registry.find(id)!).text)) as NetworkMap;
    for (const id of ['AAAAA', 'CCCCC', 'DDDDD']) {
      assert.equal(map(id).discovery, '198.51.100.1:8443');
      assert.deepEqual(map(id).relays, relays);
    }
    const plain = new MapBuilder(registry);
    const m = JSON.parse(mapPayload(registry.version, 0, plain.content(registry.find('AAAAA')!).text)) as NetworkMap;
    assert.equal('discovery' in m || 'relays' in m, false);

    const before = map('AAAAA').peers.find((p) => p.identity === 'CCCCC')!.endpoints;
    assert.deepEqual(before, []);
    assert.ok(registry.noteUdp(registry.find('CCCCC')!, '192.0.2.44:40000'));
    assert.equal(registry.noteUdp(registry.find('CCCCC')!, '192.0.2.44:40000'), false, 'the same mapping is no change');
    assert.equal(map('AAAAA').peers.find((p) => p.identity === 'CCCCC')!.endpoints[0], '192.0.2.44:40000');
    assert.deepEqual(b.peerIdsOf(registry.find('BBBBB')!), ['sys-CCCCC', 'sys-EEEEE']);
    // A system that is not CCCCC's peer sees nothing new.
    assert.deepEqual(
      map('EEEEE')
        .peers.map((p) => p.identity)
        .includes('CCCCC'),
      false,
    );
    assert.deepEqual(map('DDDDD').peers.find((p) => p.identity === 'CCCCC')?.endpoints, ['192.0.2.44:40000']);
    // Talking to the coordinator from another address means the system moved: the old mapping goes.
    registry.noteSeen(registry.find('CCCCC')!, '198.51.100.77', 5);
    assert.equal(registry.find('CCCCC')!.observedUdp, null);
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a client gets the full tunnel through one exit node only', () => {
  const policy = {
    Tags: ['dev', 'exit'],
    Routes: [
      { ExitNode: 'tag:exit', Subnets: ['0.0.0.0/0'], Senders: ['tag:dev'] },
      { ExitNode: 'YYYYY', Subnets: ['10.9.0.0/16'], Senders: ['tag:dev'] },
    ],
  };
  const f = fixture([row('AAAAA', ['dev']), row('YYYYY', ['exit']), row('XXXXX', ['exit'])], policy);
  try {
    assert.deepEqual(f.map('AAAAA').routes, { XXXXX: ['0.0.0.0/0'], YYYYY: ['10.9.0.0/16'] });
    assert.deepEqual(
      f.map('AAAAA').peers.map((p) => p.identity),
      ['XXXXX', 'YYYYY'],
    );
    assert.deepEqual(f.map('YYYYY').routeGrants, { AAAAA: ['0.0.0.0/0', '10.9.0.0/16'] });
    assert.deepEqual(f.map('YYYYY').self.providesRoutes, ['0.0.0.0/0', '10.9.0.0/16']);
  } finally {
    f.done();
  }
});

test('each family has its own full tunnel through one exit node, and IPv6 subnets are granted beside IPv4 ones', () => {
  const policy = {
    Tags: ['dev', 'exit', 'exit6'],
    Routes: [
      { ExitNode: 'tag:exit', Subnets: ['0.0.0.0/0', '::/0'], Senders: ['tag:dev'] },
      { ExitNode: 'tag:exit6', Subnets: ['::/0', 'fd00:9::/64', '10.9.0.0/16'], Senders: ['tag:dev'] },
    ],
  };
  const f = fixture([row('AAAAA', ['dev']), row('YYYYY', ['exit']), row('XXXXX', ['exit6'])], policy);
  try {
    // XXXXX sorts first, so it carries ::/0; 0.0.0.0/0 is only YYYYY's.
    assert.deepEqual(f.map('AAAAA').routes, {
      XXXXX: ['10.9.0.0/16', '::/0', 'fd00:9::/64'],
      YYYYY: ['0.0.0.0/0'],
    });
    assert.deepEqual(f.map('XXXXX').routeGrants, { AAAAA: ['10.9.0.0/16', '::/0', 'fd00:9::/64'] });
    assert.deepEqual(f.map('YYYYY').self.providesRoutes, ['0.0.0.0/0', '::/0']);
  } finally {
    f.done();
  }
});

test('a policy naming the identity of a revoked or removed system grants nothing, not even to systems enrolled after', () => {
  const policy = {
    Tags: ['dev'],
    Policies: [
      { Name: 'to-servers', Senders: ['tag:dev'], Receivers: ['CCCCC', 'EEEEE'], Acls: [{ Protocol: 'any' }] },
    ],
    Dns: { Records: [{ Name: 'db', Targets: ['CCCCC'] }] },
    Routes: [{ ExitNode: 'EEEEE', Subnets: ['10.9.0.0/16'], Senders: ['tag:dev'] }],
  };
  const f = fixture([row('AAAAA', ['dev']), row('CCCCC', []), row('EEEEE', [])], policy);
  try {
    assert.deepEqual(
      f.map('AAAAA').peers.map((p) => p.identity),
      ['CCCCC', 'EEEEE'],
    );
    f.registry.revoke(f.sys('CCCCC'));
    f.registry.remove(f.sys('EEEEE'));
    // Two systems enrol later and the registry is offered exactly those identities (as a key
    // that hashes to them once got them): it issues others.
    const late = [
      f.add(row('CCCCC', [], { id: 'sys-late1', wgKey: 'wg-late1', machineKey: 'mk-late1', name: 'late1' })),
      f.add(row('EEEEE', [], { id: 'sys-late2', wgKey: 'wg-late2', machineKey: 'mk-late2', name: 'late2' })),
    ];
    for (const s of late) assert.ok(!['CCCCC', 'EEEEE'].includes(s.identity), s.identity);
    const a = f.map('AAAAA');
    assert.deepEqual(a.peers, []);
    assert.deepEqual(
      a.policies.map((p) => [p.name, p.senders, p.receivers]),
      [['to-servers', ['AAAAA'], []]],
    );
    assert.deepEqual(a.routes, {});
    for (const s of late) {
      const m = f.map(s.id);
      assert.deepEqual([m.peers, m.policies, m.routeGrants, m.self.dnsNames], [[], [], {}, [s.name]], s.identity);
    }
  } finally {
    f.done();
  }
});
