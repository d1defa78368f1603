import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePolicies, parsePorts, parseSelector, parseTags } from './policy-parse.js';

type Json = Record<string, unknown>;

function good(): Json {
  return {
    Name: 'dev-ssh',
    Senders: ['tag:dev', 'G982V'],
    Receivers: ['TAG:Servers'],
    Acls: [{ Protocol: 'TCP', Ports: '22,443,8000-8100' }, { Protocol: 'icmp' }],
    TrustRequirements: [
      { Type: 'Schedule', Days: ['Mon', 'tuesday', 'Fri'], From: '9:00', To: '17:30', TimeZone: 'Europe/London' },
    ],
    Enabled: true,
  };
}

test('a good policy is normalised', () => {
  const r = parsePolicies([
    good(),
    { Name: 'all', Senders: ['tag:a'], Receivers: ['tag:b'], Acls: [{ Protocol: 'any' }] },
  ]);
  assert.deepEqual(r.issues, []);
  assert.deepEqual(r.policies[0], {
    name: 'dev-ssh',
    senders: ['tag:dev', 'G982V'],
    receivers: ['tag:servers'],
    acls: [
      {
        protocol: 'tcp',
        ports: [
          { from: 22, to: 22 },
          { from: 443, to: 443 },
          { from: 8000, to: 8100 },
        ],
      },
      { protocol: 'icmp', ports: [] },
    ],
    trustRequirements: [
      { type: 'schedule', days: ['Mon', 'Tue', 'Fri'], from: '09:00', to: '17:30', timeZone: 'Europe/London' },
    ],
    enabled: true,
  });
  assert.equal(r.policies[1]!.enabled, true, 'Enabled defaults to true');
  assert.deepEqual(r.policies[1]!.trustRequirements, []);
});

interface BadCase {
  name: string;
  edit: (p: Json) => void;
  key: string;
  problem: RegExp;
}

const badCases: BadCase[] = [
  { name: 'missing Name', edit: (p) => delete p.Name, key: 'Policies[0].Name', problem: /is required/ },
  { name: 'empty Name', edit: (p) => (p.Name = ' '), key: 'Policies[0].Name', problem: /empty/ },
  { name: 'unknown key', edit: (p) => (p.Sender = []), key: 'Policies[0].Sender', problem: /did you mean "Senders"/ },
  { name: 'Senders missing', edit: (p) => delete p.Senders, key: 'Policies[0].Senders', problem: /is required/ },
  {
    name: 'bare word selector',
    edit: (p) => (p.Senders = ['dev']),
    key: 'Policies[0].Senders[0]',
    problem: /did you mean "tag:dev"/,
  },
  {
    name: 'selector not string',
    edit: (p) => (p.Receivers = [5]),
    key: 'Policies[0].Receivers[0]',
    problem: /not a number/,
  },
  {
    name: 'too many selectors',
    edit: (p) => (p.Senders = Array(1001).fill('tag:a')),
    key: 'Policies[0].Senders',
    problem: /limit is 1000/,
  },
  {
    name: 'bad protocol',
    edit: (p) => (p.Acls = [{ Protocol: 'sctp' }]),
    key: 'Policies[0].Acls[0].Protocol',
    problem: /not one of/,
  },
  {
    name: 'missing protocol',
    edit: (p) => (p.Acls = [{ Ports: '22' }]),
    key: 'Policies[0].Acls[0].Protocol',
    problem: /is required/,
  },
  {
    name: 'bad port',
    edit: (p) => (p.Acls = [{ Protocol: 'tcp', Ports: '22,abc' }]),
    key: 'Policies[0].Acls[0].Ports',
    problem: /"abc" is not a port/,
  },
  {
    name: 'port 0',
    edit: (p) => (p.Acls = [{ Protocol: 'tcp', Ports: '0' }]),
    key: 'Policies[0].Acls[0].Ports',
    problem: /1 to 65535/,
  },
  {
    name: 'port too big',
    edit: (p) => (p.Acls = [{ Protocol: 'udp', Ports: '70000' }]),
    key: 'Policies[0].Acls[0].Ports',
    problem: /1 to 65535/,
  },
  {
    name: 'reversed range',
    edit: (p) => (p.Acls = [{ Protocol: 'tcp', Ports: '90-80' }]),
    key: 'Policies[0].Acls[0].Ports',
    problem: /ends before/,
  },
  {
    name: 'too many acls',
    edit: (p) => (p.Acls = Array(101).fill({ Protocol: 'any' })),
    key: 'Policies[0].Acls',
    problem: /limit is 100/,
  },
  {
    name: 'too many ranges',
    edit: (p) => (p.Acls = [{ Protocol: 'tcp', Ports: Array(1001).fill('1').join(',') }]),
    key: 'Policies[0].Acls[0].Ports',
    problem: /limit is 1000/,
  },
  { name: 'Enabled string', edit: (p) => (p.Enabled = 'yes'), key: 'Policies[0].Enabled', problem: /true or false/ },
  {
    name: 'bad requirement type',
    edit: (p) => (p.TrustRequirements = [{ Type: 'Moon' }]),
    key: 'Policies[0].TrustRequirements[0].Type',
    problem: /not Schedule or PublicIp/,
  },
  ...(['Days', 'From', 'To', 'TimeZone'] as const).map((k) => ({
    name: `schedule without ${k}`,
    edit: (p: Json) => delete (p.TrustRequirements as Json[])[0]![k],
    key: `Policies[0].TrustRequirements[0].${k}`,
    problem: /is required/,
  })),
  {
    name: 'bad day',
    edit: (p) => ((p.TrustRequirements as Json[])[0]!.Days = ['Funday']),
    key: 'Policies[0].TrustRequirements[0].Days[0]',
    problem: /not a day/,
  },
  {
    name: 'no days',
    edit: (p) => ((p.TrustRequirements as Json[])[0]!.Days = []),
    key: 'Policies[0].TrustRequirements[0].Days',
    problem: /at least one day/,
  },
  {
    name: 'bad From',
    edit: (p) => ((p.TrustRequirements as Json[])[0]!.From = '25:00'),
    key: 'Policies[0].TrustRequirements[0].From',
    problem: /not a time of day/,
  },
  {
    name: 'From 24:00',
    edit: (p) => ((p.TrustRequirements as Json[])[0]!.From = '24:00'),
    key: 'Policies[0].TrustRequirements[0].From',
    problem: /not a time of day/,
  },
  {
    name: 'empty window',
    edit: (p) => ((p.TrustRequirements as Json[])[0]!.To = '09:00'),
    key: 'Policies[0].TrustRequirements[0].To',
    problem: /equals From/,
  },
  {
    name: 'unknown zone',
    edit: (p) => ((p.TrustRequirements as Json[])[0]!.TimeZone = 'Mars/Olympus'),
    key: 'Policies[0].TrustRequirements[0].TimeZone',
    problem: /not a time zone/,
  },
];

for (const c of badCases) {
  test(`bad policy: ${c.name}`, () => {
    const p = good();
    c.edit(p);
    const r = parsePolicies([p]);
    assert.equal(r.policies.length, 0, 'a policy with problems is left out');
    const hit = r.issues.find((i) => i.key === c.key);
    assert.ok(hit, `expected an issue at ${c.key}, got ${JSON.stringify(r.issues)}`);
    assert.match(hit.problem, c.problem);
  });
}

test('the Policies value itself is checked, with the caller key prefix', () => {
  assert.deepEqual(parsePolicies({}, 'X.Policies').issues, [
    { key: 'X.Policies', problem: 'must be an array of policies, not an object' },
  ]);
  assert.match(parsePolicies(Array(10001).fill(good())).issues[0]!.problem, /limit is 10000/);
  assert.deepEqual(parsePolicies(['x']).issues, [{ key: 'Policies[0]', problem: 'must be an object, not a string' }]);
});

test('duplicate names are refused', () => {
  const r = parsePolicies([good(), good()]);
  assert.equal(r.policies.length, 1);
  assert.deepEqual(r.issues, [{ key: 'Policies[1].Name', problem: '"dev-ssh" is already the name of Policies[0]' }]);
});

test('PublicIp requirements are kept for the coordinator', () => {
  const p = good();
  p.TrustRequirements = [{ Type: 'PublicIp', Ranges: ['198.51.100.0/24'] }];
  assert.deepEqual(parsePolicies([p]).policies[0]!.trustRequirements, [
    { type: 'public-ip', ranges: ['198.51.100.0/24'] },
  ]);
});

test('ports', () => {
  const cases: [unknown, unknown][] = [
    ['', []],
    ['*', []],
    [443, [{ from: 443, to: 443 }]],
    [
      ' 80 , 8000 - 8080 ,22',
      [
        { from: 22, to: 22 },
        { from: 80, to: 80 },
        { from: 8000, to: 8080 },
      ],
    ],
    ['65535', [{ from: 65535, to: 65535 }]],
  ];
  for (const [input, want] of cases) assert.deepEqual(parsePorts(input), want, String(input));
  for (const bad of ['1,,2', '-5', '1-', 'x', [22], null, '123456'])
    assert.equal(typeof parsePorts(bad), 'string', String(bad));
});

test('selectors and tags', () => {
  assert.equal(parseSelector('tag:Dev'), 'tag:dev');
  assert.equal(parseSelector('G982V'), 'G982V');
  assert.equal(typeof parseSelector('g982v'), 'object', 'lower-case identities are ambiguous with tags');
  assert.equal(typeof parseSelector('G982U'), 'object', 'U is not Crockford base32');
  assert.equal(typeof parseSelector('tag:'), 'object');
  assert.deepEqual(parseTags(['dev', 'tag:Prod', 'DEV']), { tags: ['dev', 'prod'], issues: [] });
  assert.deepEqual(
    parseTags(['a b', 3], 'Peers[0].Tags').issues.map((i) => i.key),
    ['Peers[0].Tags[0]', 'Peers[0].Tags[1]'],
  );
  assert.equal(parseTags('dev').issues.length, 1);
});
