// What only IPv6 has: extension header chains and their bound, fragments in a fragment header,
// ICMPv6's link-only messages and errors, IPv4-mapped addresses, and both families sharing one
// peer's room in the flow table. filter.test.ts runs every behaviour IPv4 has in IPv6 as well.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Acl, Policy } from '../../../src-shared/wire/policy.js';
import { parseIpPrefix } from '../../../src-shared/lib/ip/addr.js';
import { parseIPv6 } from '../../../src-shared/lib/ip/ipv6.js';
import { compile } from './compile.js';
import { Firewall } from './filter.js';
import { MAX_EXT_BYTES, MAX_EXT_HEADERS } from './packet.js';
import { DROP, PASS, REASONS } from './reasons.js';
import {
  FLAGS,
  firstFragment,
  fragment,
  icmpEcho,
  icmpError,
  icmpMessage,
  ip,
  tcp,
  udp,
  withExt,
  type ExtHeader,
} from './testing.js';

const A = 'fd7a:115c:a1e0::1';
const B = 'fd7a:115c:a1e0::2';
const A4 = '100.64.0.1';
const B4 = '100.64.0.2';
const PB = 0;
const T0 = Date.parse('2024-01-15T10:00:00Z');

const acl = (protocol: Acl['protocol'], port = 0): Acl => ({ protocol, ports: port ? [{ from: port, to: port }] : [] });
const pol = (senders: string[], receivers: string[], acls: Acl[]): Policy => ({
  name: `${senders[0]} to ${receivers[0]}`,
  senders,
  receivers,
  acls,
  trustRequirements: [],
  enabled: true,
});
// A may open tcp/22, udp/53 and ICMP on B; B may open tcp/80 on A.
const POLICIES = [
  pol(['AAAAA'], ['BBBBB'], [acl('tcp', 22), acl('udp', 53), acl('icmp')]),
  pol(['BBBBB'], ['AAAAA'], [acl('tcp', 80)]),
];

function firewall(policies = POLICIES, mode: 'policy' | 'allow-all' = 'policy', maxFlows?: number): Firewall {
  const fw = new Firewall(maxFlows ? { maxFlows } : {});
  fw.setRules(
    compile({
      local: { identity: 'AAAAA', tags: [] },
      peers: [{ index: PB, identity: 'BBBBB', tags: [] }],
      policies,
      now: T0,
      mode,
    }),
  );
  return fw;
}
const out = (fw: Firewall, p: Buffer, now = T0): string => REASONS[fw.egress(PB, p, 0, p.length, now)]!;
const inn = (fw: Firewall, p: Buffer, now = T0): string => REASONS[fw.ingress(PB, p, 0, p.length, now)]!;
const dests = (n: number): ExtHeader[] => Array.from({ length: n }, () => ({ type: 60 }));

test('a SYN behind extension headers within the bound starts the flow its reply matches', () => {
  const fw = firewall();
  const chain: ExtHeader[] = [
    { type: 0 },
    { type: 43, size: 24 },
    { type: 44 },
    { type: 60, size: 16 },
    { type: 51, size: 24 },
  ];
  assert.equal(out(fw, withExt(tcp(A, 40000, B, 22, FLAGS.syn), chain)), 'pass');
  assert.equal(inn(fw, tcp(B, 22, A, 40000, FLAGS.synAck)), 'pass', 'the reply without a chain is the same flow');
  assert.equal(
    out(fw, withExt(tcp(A, 40000, B, 23, FLAGS.syn), chain)),
    'port-not-allowed',
    'ports read past the chain',
  );
  assert.equal(fw.flows(), 1);
});

test('the extension header walk is bounded by count and by bytes, and a chain cut short is malformed', () => {
  const fw = firewall([], 'allow-all');
  const syn = tcp(A, 40000, B, 22, FLAGS.syn);
  assert.equal(out(fw, withExt(syn, dests(MAX_EXT_HEADERS))), 'pass', `${MAX_EXT_HEADERS} headers`);
  assert.equal(out(fw, withExt(syn, dests(MAX_EXT_HEADERS + 1))), 'ext-header-limit');
  // One destination options header as large as the bound passes; a byte unit more does not.
  assert.equal(out(fw, withExt(syn, [{ type: 60, size: MAX_EXT_BYTES }])), 'pass');
  assert.equal(
    out(
      fw,
      withExt(syn, [
        { type: 60, size: MAX_EXT_BYTES - 8 },
        { type: 60, size: 16 },
      ]),
    ),
    'ext-header-limit',
  );
  const cut = withExt(syn, [{ type: 43, size: 24 }]).subarray(0, 40 + 16);
  cut.writeUInt16BE(16, 4);
  assert.equal(out(fw, cut), 'malformed', 'routing header longer than the packet');
  assert.equal(out(fw, withExt(syn, [{ type: 60 }, { type: 0 }])), 'malformed', 'hop-by-hop not first (RFC 8200 §4.1)');
  assert.deepEqual(fw.dropCounters(), { 'ext-header-limit': 2, malformed: 2 });
});

test('fragments: later ones drop, a first one is judged whole, an incomplete first one drops, an atomic one is ordinary', () => {
  const fw = firewall();
  assert.equal(out(fw, firstFragment(tcp(A, 40000, B, 22, FLAGS.syn))), 'pass', 'first fragment with the TCP header');
  assert.equal(inn(fw, fragment(tcp(B, 22, A, 40000, FLAGS.ack))), 'fragment', 'a later fragment has no ports');
  assert.equal(
    inn(fw, withExt(tcp(B, 22, A, 40000, FLAGS.synAck), [{ type: 44, offset: 0, more: false }])),
    'pass',
    'an atomic fragment (RFC 6946) belongs to the flow like any packet',
  );
  // RFC 7112: a first fragment whose TCP header is cut (it would follow in the next fragment).
  const cut = firstFragment(tcp(A, 40001, B, 22, FLAGS.syn)).subarray(0, 40 + 8 + 12);
  cut.writeUInt16BE(20, 4);
  assert.equal(out(fw, cut), 'first-fragment-incomplete');
  // The same packet unfragmented is simply malformed.
  const short = tcp(A, 40001, B, 22, FLAGS.syn).subarray(0, 52);
  short.writeUInt16BE(12, 4);
  assert.equal(out(fw, short), 'malformed');
  // A first fragment cut inside the chain after its fragment header is incomplete too.
  const inChain = withExt(tcp(A, 40002, B, 22, FLAGS.syn), [
    { type: 44, more: true },
    { type: 60, size: 16 },
  ]).subarray(0, 60);
  inChain.writeUInt16BE(20, 4);
  assert.equal(out(fw, inChain), 'first-fragment-incomplete');
});

test('neighbour discovery, router messages and MLD never cross, whatever policy allows', () => {
  const fw = firewall([], 'allow-all');
  for (const type of [130, 131, 132, 133, 134, 135, 136, 137, 141, 142, 143, 148, 149, 151, 152, 153]) {
    assert.equal(out(fw, icmpMessage(A, B, type, 0, 20)), 'icmpv6-link-only', `type ${type} out`);
    assert.equal(inn(fw, icmpMessage(B, A, type, 0, 20)), 'icmpv6-link-only', `type ${type} in`);
  }
  // Informational types outside that set follow the ICMP grant without state.
  assert.equal(out(fw, icmpMessage(A, B, 139, 0, 20)), 'pass');
  assert.equal(fw.flows(), 0);
});

test('ICMPv6 errors pass only when the packet they quote belongs to a tracked flow', () => {
  const fw = firewall();
  const syn = tcp(A, 40000, B, 22, FLAGS.syn);
  assert.equal(out(fw, syn), 'pass');
  // Packet too big (RFC 4443 §3.2), the one path MTU discovery needs (RFC 8201).
  assert.equal(inn(fw, icmpError(B, A, syn, 2, 0)), 'pass');
  assert.equal(inn(fw, icmpError(B, A, syn, 1, 4)), 'pass', 'destination unreachable');
  assert.equal(inn(fw, icmpError(B, A, syn, 3, 0)), 'pass', 'time exceeded');
  assert.equal(inn(fw, icmpError(B, A, syn, 4, 1)), 'pass', 'parameter problem');
  assert.equal(inn(fw, icmpError(B, A, syn, 100, 0)), 'pass', 'an unknown error type is an error (RFC 4443 §2.1)');
  assert.equal(inn(fw, icmpError(B, A, tcp(A, 40001, B, 22, FLAGS.syn), 2, 0)), 'icmp-error-no-flow');
  assert.equal(inn(fw, icmpError(B, A, fragment(syn), 2, 0)), 'icmp-error-no-flow', 'a quoted later fragment');
  assert.equal(inn(fw, icmpError(B, A, withExt(syn, [{ type: 0 }, { type: 60 }]), 2, 0)), 'pass', 'quote with a chain');
  assert.equal(inn(fw, icmpError(B, A, withExt(syn, dests(MAX_EXT_HEADERS + 1)), 2, 0)), 'icmp-error-no-flow');
  // The quote is usually cut short of its payload length: 8 bytes past the chain are enough.
  assert.equal(inn(fw, icmpError(B, A, syn.subarray(0, 48), 2, 0)), 'pass');
  assert.equal(inn(fw, icmpError(B, A, syn.subarray(0, 47), 2, 0)), 'malformed');
  assert.equal(inn(fw, icmpError(B, A, tcp(A4, 40000, B4, 22, FLAGS.syn), 2, 0)), 'malformed', 'an IPv4 quote');
  // Echo flows by identifier; errors about errors or other informational messages name none.
  assert.equal(out(fw, icmpEcho(A, B, 8, 7)), 'pass');
  assert.equal(inn(fw, icmpError(B, A, icmpEcho(A, B, 8, 7), 3, 0)), 'pass');
  assert.equal(inn(fw, icmpError(B, A, icmpEcho(A, B, 8, 8), 3, 0)), 'icmp-error-no-flow');
  assert.equal(inn(fw, icmpError(B, A, icmpError(A, B, syn), 3, 0)), 'icmp-error-no-flow');
  // Our own error about a flow the peer started passes out.
  assert.equal(inn(fw, tcp(B, 5555, A, 80, FLAGS.syn)), 'pass');
  assert.equal(out(fw, icmpError(A, B, tcp(B, 5555, A, 80, FLAGS.syn))), 'pass');
});

test('ICMPv6 echo is granted by the icmp protocol and matched by identifier; ICMP inside IPv6 is not ICMP', () => {
  const fw = firewall();
  assert.equal(out(fw, icmpEcho(A, B, 8, 7)), 'pass');
  assert.equal(inn(fw, icmpEcho(B, A, 0, 7)), 'pass');
  assert.equal(inn(fw, icmpEcho(B, A, 0, 8)), 'icmp-no-flow');
  assert.equal(inn(fw, icmpEcho(B, A, 8, 7)), 'protocol-not-allowed', 'B may not ping A');
  // Next header 1 (ICMPv4) in IPv6 and protocol 58 in IPv4 are just other protocols.
  const v4inV6 = icmpEcho(A, B, 8, 9);
  v4inV6[6] = 1;
  v4inV6[40] = 8;
  assert.equal(out(fw, v4inV6), 'protocol-not-allowed');
  const v6inV4 = icmpEcho(A4, B4, 8, 9);
  v6inV4[9] = 58;
  assert.equal(out(fw, v6inV4), 'protocol-not-allowed');
  const all = firewall([pol(['AAAAA'], ['BBBBB'], [acl('any')])]);
  assert.equal(out(all, v4inV6), 'pass', 'any grants every protocol');
});

test('an IPv6 packet with an IPv4-mapped address is dropped, so it can never match an IPv4 flow', () => {
  const fw = firewall();
  assert.equal(out(fw, udp(A4, 3333, B4, 53)), 'pass');
  assert.equal(inn(fw, udp('::ffff:100.64.0.2', 53, '::ffff:100.64.0.1', 3333)), 'ipv4-mapped-address');
  assert.equal(inn(fw, udp(B, 53, '::ffff:100.64.0.1', 3333)), 'ipv4-mapped-address');
  assert.equal(inn(fw, udp(B4, 53, A4, 3333)), 'pass');
});

test("one peer's flows of both families share its room in the table", () => {
  const fw = firewall(POLICIES, 'policy', 64);
  for (let i = 0; i < 40; i++) assert.equal(out(fw, udp(A4, 1000 + i, B4, 53)), 'pass');
  for (let i = 0; i < 40; i++) assert.equal(out(fw, udp(A, 1000 + i, B, 53)), 'pass');
  assert.equal(fw.flowsOf(PB), 64, 'capped at the table bound across families');
  assert.deepEqual(fw.evictionCounters(), { 'peer-share': 16 });
  // The oldest unanswered flows made room, whatever their family: the first 16 IPv4 ones.
  assert.equal(inn(fw, udp(B4, 53, A4, 1015)), 'protocol-not-allowed');
  assert.equal(inn(fw, udp(B4, 53, A4, 1016)), 'pass');
  assert.equal(inn(fw, udp(B, 53, A, 1000)), 'pass');
});

test('once this system has addresses, IPv6 flows must start from or reach its IPv6 address', () => {
  const fw = firewall([], 'allow-all');
  fw.setLocal(ip(A4));
  // The daemon gave no IPv6 address: IPv6 stays closed rather than open to any address.
  assert.equal(out(fw, tcp(A, 40000, B, 22, FLAGS.syn)), 'unsolicited-from-subnet');
  assert.equal(inn(fw, tcp(B, 40000, A, 80, FLAGS.syn)), 'not-for-this-system');
  assert.equal(out(fw, tcp(A4, 40000, B4, 22, FLAGS.syn)), 'pass');
  fw.setLocal(ip(A4), [parseIpPrefix('fd00:50::/64')!], parseIPv6(A));
  assert.equal(out(fw, tcp(A, 40000, B, 22, FLAGS.syn)), 'pass');
  assert.equal(inn(fw, tcp(B, 40000, A, 80, FLAGS.syn)), 'pass');
  assert.equal(inn(fw, tcp(B, 40000, 'fd00:50::9', 80, FLAGS.syn)), 'pass', 'a provided IPv6 subnet');
  assert.equal(inn(fw, tcp(B, 40000, 'fd00:51::9', 80, FLAGS.syn)), 'not-for-this-system');
  assert.equal(out(fw, tcp('fd00:50::9', 80, B, 5, FLAGS.syn)), 'unsolicited-from-subnet');
  // ::/0 granted as a route holds no IPv4 address, and 0.0.0.0/0 no IPv6 one.
  fw.setLocal(ip(A4), [parseIpPrefix('::/0')!], parseIPv6(A));
  assert.equal(inn(fw, tcp(B4, 1, '10.1.1.1', 80, FLAGS.syn)), 'not-for-this-system');
  fw.setLocal(ip(A4), [parseIpPrefix('0.0.0.0/0')!], parseIPv6(A));
  assert.equal(inn(fw, tcp(B, 1, 'fd00:51::9', 80, FLAGS.syn)), 'not-for-this-system');
  assert.equal(inn(fw, tcp(B4, 1, '10.1.1.1', 80, FLAGS.syn)), 'pass');
  // The nameserver on either address is for this system alone.
  assert.equal(inn(fw, udp(B, 40000, A, 53)), 'dns-from-peer');
  assert.equal(inn(fw, udp(B4, 40000, A4, 53)), 'dns-from-peer');
});

test('a policy change cuts an IPv6 flow picked up mid-stream, both ways', () => {
  const fw = firewall();
  assert.equal(out(fw, tcp(A, 40000, B, 22, FLAGS.pshAck)), 'pass', 'picked up');
  assert.equal(inn(fw, tcp(B, 22, A, 40000, FLAGS.ack)), 'pass');
  fw.setRules(
    compile({
      local: { identity: 'AAAAA', tags: [] },
      peers: [{ index: PB, identity: 'BBBBB', tags: [] }],
      policies: [POLICIES[1]!],
      now: T0,
      mode: 'policy',
    }),
  );
  assert.equal(fw.sweep(T0), 1, 'the sweep cuts it without waiting for a packet');
  assert.equal(inn(fw, tcp(B, 22, A, 40000, FLAGS.ack)), 'tcp-not-syn');
  assert.equal(out(fw, tcp(A, 40000, B, 22, FLAGS.ack)), 'no-policy-egress');
  assert.equal(fw.counters[PASS], 2);
});

test('the IPv6 reasons have numbers of their own; the retired 19 is never returned', () => {
  assert.deepEqual(
    [DROP.extHeaderLimit, DROP.firstFragmentIncomplete, DROP.icmpv6LinkOnly, DROP.ipv4MappedAddress].map((c) => [
      c,
      REASONS[c],
    ]),
    [
      [20, 'ext-header-limit'],
      [21, 'first-fragment-incomplete'],
      [22, 'icmpv6-link-only'],
      [23, 'ipv4-mapped-address'],
    ],
  );
  assert.ok(!Object.values(DROP).includes(19 as never));
});
