import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Acl, Policy } from '../../../src-shared/wire/policy.js';
import {
  checkNew,
  coalesce,
  compile,
  inRanges,
  PROTO,
  type DirectionGrants,
  type PeerInfo,
  type RuleSet,
} from './compile.js';
import { DROP, PASS } from './reasons.js';

const LOCAL = { identity: 'AAAAA', tags: ['dev'] };
const PEERS: PeerInfo[] = [
  { index: 0, identity: 'BBBBB', tags: ['tag:server'] },
  { index: 1, identity: 'CCCCC', tags: ['dev'] },
  { index: 5, identity: 'DDDDD', tags: [] },
];
const NOW = Date.parse('2024-01-15T10:00:00Z'); // a Monday

function pol(name: string, senders: string[], receivers: string[], acls: Acl[], extra: Partial<Policy> = {}): Policy {
  return { name, senders, receivers, acls, trustRequirements: [], enabled: true, ...extra };
}
const tcp = (...ports: [number, number][]): Acl => ({
  protocol: 'tcp',
  ports: ports.map(([from, to]) => ({ from, to })),
});
const udp = (...ports: [number, number][]): Acl => ({
  protocol: 'udp',
  ports: ports.map(([from, to]) => ({ from, to })),
});
const ICMP: Acl = { protocol: 'icmp', ports: [] };
const ANY: Acl = { protocol: 'any', ports: [] };

interface Plain {
  icmp: boolean;
  other: boolean;
  tcp: number[];
  udp: number[];
}
const NONE: Plain = { icmp: false, other: false, tcp: [], udp: [] };
function plain(g: DirectionGrants | undefined): Plain {
  assert.ok(g);
  return { icmp: g.icmp, other: g.other, tcp: [...g.tcp], udp: [...g.udp] };
}
function build(policies: Policy[], mode: 'policy' | 'allow-all' = 'policy'): RuleSet {
  return compile({ local: LOCAL, peers: PEERS, policies, now: NOW, mode });
}

const cases: { name: string; policies: Policy[]; peer: number; egress: Plain; ingress: Plain }[] = [
  { name: 'default deny', policies: [], peer: 0, egress: NONE, ingress: NONE },
  {
    name: 'tag to tag, egress only',
    peer: 0,
    policies: [pol('p', ['tag:dev'], ['tag:server'], [tcp([22, 22])])],
    egress: { ...NONE, tcp: [22, 22] },
    ingress: NONE,
  },
  {
    name: 'identity to identity, ingress only',
    peer: 0,
    policies: [pol('p', ['BBBBB'], ['AAAAA'], [udp([53, 53])])],
    egress: NONE,
    ingress: { ...NONE, udp: [53, 53] },
  },
  {
    name: 'both directions when both are senders and receivers',
    peer: 1,
    policies: [pol('p', ['tag:dev'], ['tag:dev'], [ICMP])],
    egress: { ...NONE, icmp: true },
    ingress: { ...NONE, icmp: true },
  },
  {
    name: 'policy about other systems grants nothing',
    peer: 0,
    policies: [pol('p', ['CCCCC'], ['tag:server'], [ANY])],
    egress: NONE,
    ingress: NONE,
  },
  {
    name: 'disabled policy grants nothing',
    peer: 0,
    policies: [pol('p', ['tag:dev'], ['tag:server'], [ANY], { enabled: false })],
    egress: NONE,
    ingress: NONE,
  },
  {
    name: 'overlapping and adjacent ranges merge across policies',
    peer: 0,
    policies: [
      pol('a', ['tag:dev'], ['tag:server'], [tcp([8000, 8100], [22, 22])]),
      pol('b', ['AAAAA'], ['BBBBB'], [tcp([8050, 8200], [23, 23], [443, 443]), udp([1000, 2000])]),
      pol('c', ['tag:dev'], ['BBBBB'], [tcp([8201, 8300])]),
    ],
    egress: { ...NONE, tcp: [22, 23, 443, 443, 8000, 8300], udp: [1000, 2000] },
    ingress: NONE,
  },
  {
    name: 'any covers every protocol and port',
    peer: 0,
    policies: [pol('p', ['tag:dev'], ['tag:server'], [ANY])],
    egress: { icmp: true, other: true, tcp: [0, 65535], udp: [0, 65535] },
    ingress: NONE,
  },
  {
    name: 'any with ports covers tcp and udp on those ports, icmp and others',
    peer: 0,
    policies: [pol('p', ['tag:dev'], ['tag:server'], [{ protocol: 'any', ports: [{ from: 80, to: 80 }] }])],
    egress: { icmp: true, other: true, tcp: [80, 80], udp: [80, 80] },
    ingress: NONE,
  },
  {
    name: 'a peer with no tags matched by identity',
    peer: 5,
    policies: [pol('p', ['DDDDD'], ['tag:dev'], [tcp([5432, 5432])])],
    egress: NONE,
    ingress: { ...NONE, tcp: [5432, 5432] },
  },
  {
    name: 'unmet schedule grants nothing',
    peer: 0,
    policies: [
      pol('p', ['tag:dev'], ['tag:server'], [ANY], {
        trustRequirements: [{ type: 'schedule', days: ['Sat'], from: '09:00', to: '17:00', timeZone: 'UTC' }],
      }),
    ],
    egress: NONE,
    ingress: NONE,
  },
  {
    name: 'met schedule grants',
    peer: 0,
    policies: [
      pol('p', ['tag:dev'], ['tag:server'], [ICMP], {
        trustRequirements: [{ type: 'schedule', days: ['Mon'], from: '09:00', to: '17:00', timeZone: 'UTC' }],
      }),
    ],
    egress: { ...NONE, icmp: true },
    ingress: NONE,
  },
  {
    name: 'public IP requirement is unmet in the helper',
    peer: 0,
    policies: [
      pol('p', ['tag:dev'], ['tag:server'], [ANY], {
        trustRequirements: [{ type: 'public-ip', ranges: ['0.0.0.0/0'] }],
      }),
    ],
    egress: NONE,
    ingress: NONE,
  },
];

for (const c of cases) {
  test(`compile: ${c.name}`, () => {
    const rules = build(c.policies);
    assert.deepEqual(plain(rules.byIndex[c.peer]?.egress), c.egress, 'egress');
    assert.deepEqual(plain(rules.byIndex[c.peer]?.ingress), c.ingress, 'ingress');
  });
}

test('allow-all mode allows everything with configured peers only', () => {
  const rules = build([pol('ignored', ['XXXXX'], ['YYYYY'], [])], 'allow-all');
  for (const p of PEERS) {
    assert.deepEqual(plain(rules.byIndex[p.index]?.egress), {
      icmp: true,
      other: true,
      tcp: [0, 65535],
      udp: [0, 65535],
    });
  }
  assert.equal(rules.byIndex[2], undefined, 'an unknown slot has no rules');
});

test('publicIpMet lets the caller evaluate PublicIp', () => {
  const p = pol('p', ['tag:dev'], ['tag:server'], [ICMP], {
    trustRequirements: [{ type: 'public-ip', ranges: ['198.51.100.0/24'] }],
  });
  const rules = compile({
    local: LOCAL,
    peers: PEERS,
    policies: [p],
    now: NOW,
    mode: 'policy',
    publicIpMet: () => true,
  });
  assert.equal(rules.byIndex[0]!.egress.icmp, true);
});

test('nextChangeAt is the earliest flip among schedules that concern this system', () => {
  const sched = (from: string, to: string) => ({
    trustRequirements: [{ type: 'schedule' as const, days: ['Mon' as const], from, to, timeZone: 'UTC' }],
  });
  const rules = build([
    pol('mine', ['tag:dev'], ['tag:server'], [ICMP], sched('09:00', '12:30')),
    pol('mine too', ['tag:server'], ['AAAAA'], [ICMP], sched('11:15', '18:00')),
    pol('not mine', ['tag:x'], ['tag:y'], [ICMP], sched('10:05', '11:00')),
    pol('disabled', ['tag:dev'], ['tag:server'], [ICMP], { ...sched('10:01', '11:00'), enabled: false }),
  ]);
  assert.equal(new Date(rules.nextChangeAt!).toISOString(), '2024-01-15T11:15:00.000Z');
  assert.equal(build([]).nextChangeAt, null);
});

test('checkNew and range search', () => {
  const rules = build([pol('p', ['tag:dev'], ['tag:server'], [tcp([22, 22], [8000, 8100])])]);
  const g = rules.byIndex[0]!.egress;
  const table: [number, number, number][] = [
    [PROTO.tcp, 22, PASS],
    [PROTO.tcp, 8000, PASS],
    [PROTO.tcp, 8100, PASS],
    [PROTO.tcp, 8101, DROP.portNotAllowed],
    [PROTO.tcp, 21, DROP.portNotAllowed],
    [PROTO.udp, 22, DROP.protocolNotAllowed],
    [PROTO.icmp, 0, DROP.protocolNotAllowed],
    [47, 0, DROP.protocolNotAllowed],
  ];
  for (const [proto, port, want] of table) assert.equal(checkNew(g, proto, port), want, `${proto}/${port}`);
  const r = coalesce([
    { from: 5, to: 9 },
    { from: 1, to: 3 },
    { from: 4, to: 4 },
    { from: 20, to: 30 },
    { from: 25, to: 26 },
  ]);
  assert.deepEqual([...r], [1, 9, 20, 30]);
  for (let port = 0; port < 40; port++)
    assert.equal(inRanges(r, port), (port >= 1 && port <= 9) || (port >= 20 && port <= 30), String(port));
  assert.equal(inRanges(new Uint16Array(0), 1), false);
});

test('the rule set is immutable', () => {
  const rules = build([]);
  assert.throws(() => ((rules as { mode: string }).mode = 'allow-all'), TypeError);
  assert.throws(() => ((rules.byIndex as unknown[])[9] = 1), TypeError);
  assert.equal(rules.mode, 'policy');
});
