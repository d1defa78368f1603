import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Policy } from '../../../src-shared/wire/policy.js';
import { compile } from './compile.js';
import { explain, formatWhy, hostAddressIn, peerIndexOf } from './why.js';

const NOW = Date.parse('2024-01-15T10:00:00Z'); // Monday
const base = { trustRequirements: [], enabled: true };
const POLICIES: Policy[] = [
  {
    ...base,
    name: 'ssh',
    senders: ['tag:dev'],
    receivers: ['tag:server'],
    acls: [
      {
        protocol: 'tcp',
        ports: [
          { from: 22, to: 22 },
          { from: 8000, to: 8100 },
        ],
      },
    ],
  },
  {
    ...base,
    name: 'off',
    senders: ['BBBBB'],
    receivers: ['AAAAA'],
    acls: [{ protocol: 'any', ports: [] }],
    enabled: false,
  },
  {
    ...base,
    name: 'weekend',
    senders: ['BBBBB'],
    receivers: ['tag:dev'],
    acls: [{ protocol: 'icmp', ports: [] }],
    trustRequirements: [{ type: 'schedule', days: ['Sat', 'Sun'], from: '00:00', to: '24:00', timeZone: 'UTC' }],
  },
  { ...base, name: 'elsewhere', senders: ['tag:x'], receivers: ['tag:y'], acls: [{ protocol: 'any', ports: [] }] },
];
const input = {
  local: { identity: 'AAAAA', tags: ['dev'] },
  peers: [
    { index: 0, identity: 'BBBBB', tags: ['server'] },
    { index: 1, identity: 'CCCCC', tags: [] },
  ],
  policies: POLICIES,
  now: NOW,
};

test('why names the allowing policy and ACL, and what blocks the other way', () => {
  const r = explain(compile({ ...input, mode: 'policy' }), 0);
  assert.deepEqual(r.peer, { index: 0, identity: 'BBBBB', tags: ['server'] });
  assert.equal(r.egress.allowed, true);
  assert.deepEqual(
    r.egress.grants.map((g) => g.policy),
    ['ssh'],
  );
  assert.equal(r.ingress.allowed, false);
  assert.deepEqual(
    r.ingress.blocked.map((b) => [b.policy, b.reason]),
    [
      ['off', 'disabled'],
      ['weekend', 'trust-unmet'],
    ],
  );
  assert.equal(new Date(r.ingress.blocked[1]!.unmet[0]!.until!).toISOString(), '2024-01-20T00:00:00.000Z');
  const text = formatWhy(r);
  for (const want of [
    /AAAAA → BBBBB \(this system starts\): allowed/,
    /allowed by policy "ssh": tcp 22, 8000-8100/,
    /BBBBB → AAAAA \(peer starts\): blocked/,
    /policy "off" is disabled/,
    /"weekend": trust requirement not met: schedule Sat,Sun 00:00-24:00 UTC \(changes at 2024-01-20T00:00:00.000Z\)/,
  ]) {
    assert.match(text, want);
  }
});

test('why says when no policy names the pair', () => {
  const r = explain(compile({ ...input, mode: 'policy' }), 1);
  assert.equal(r.egress.noPolicy, true);
  assert.equal(r.ingress.noPolicy, true);
  assert.match(formatWhy(r), /no policy names both systems in this direction \(default deny\)/);
});

test('why in allow-all mode and for unknown peers', () => {
  const rules = compile({ ...input, mode: 'allow-all' });
  assert.equal(explain(rules, 0).egress.allowed, true);
  assert.match(formatWhy(explain(rules, 0)), /all traffic allowed both ways/);
  assert.equal(explain(rules, 9).peer, null);
  assert.match(formatWhy(explain(rules, 9)), /not configured/);
  assert.equal(peerIndexOf(rules, 'ccccc'), 1);
  assert.equal(peerIndexOf(rules, 'ZZZZZ'), -1);
});

test('a peer is found by its virtual address written in either family, any RFC 4291 form', () => {
  const held = [
    { addr: 0x64400002, bits: 32 },
    { addr: 0x0a000000, bits: 8 },
    { addr: { family: 6 as const, w0: 0xfd7a115c, w1: 0xa1e00000, w2: 0, w3: 2 }, bits: 128 },
    { addr: { family: 6 as const, w0: 0xfd000000, w1: 0, w2: 0, w3: 0 }, bits: 64 },
  ];
  for (const text of ['100.64.0.2', ' fd7a:115c:a1e0::2 ', 'FD7A:115C:A1E0:0:0:0:0:0002', 'fd7a:115c:a1e0::0.0.0.2'])
    assert.ok(hostAddressIn(text, held), text);
  // Subnets are not a peer's address; mapped IPv4 is IPv6; names and garbage are no address.
  for (const text of ['10.0.0.0', 'fd00::', '::ffff:100.64.0.2', 'fd7a:115c:a1e0::3', 'BBBBB', '100.64.0.2/32', ''])
    assert.ok(!hostAddressIn(text, held), text);
});
