import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Acl, Policy } from '../../../src-shared/wire/policy.js';
import { compile, type RuleSet } from './compile.js';
import { TIMEOUTS } from './conntrack.js';
import { Firewall } from './filter.js';
import { DROP, PASS, REASONS } from './reasons.js';
import { FLAGS, fragment, icmpEcho, icmpError, icmpMessage, ip, tcp, udp } from './testing.js';
import type { RoutePrefix } from './scope.js';
import { parseCidr } from '../../../src-shared/lib/ip/ipv4.js';
import { parseIpPrefix } from '../../../src-shared/lib/ip/addr.js';
import { parseIPv6 } from '../../../src-shared/lib/ip/ipv6.js';

/** Fam is what differs between running the same behaviour in IPv4 and in IPv6. */
interface Fam {
  name: 'IPv4' | 'IPv6';
  A: string;
  B: string;
  C: string;
  /** timeExceeded is the type and code of "hop limit exceeded in transit". */
  timeExceeded: [number, number];
  /** otherIcmp is an informational type that is neither echo nor link-only. */
  otherIcmp: number;
  flooder: (i: number) => string;
  subnet: { prefix: string; half: string; printer: string; upper: string; outside: string; dns: string };
  prefix: (s: string) => RoutePrefix;
  setLocal: (fw: Firewall, provided?: string[]) => void;
}
const V4: Fam = {
  name: 'IPv4',
  A: '100.64.0.1',
  B: '100.64.0.2',
  C: '100.64.0.3',
  timeExceeded: [11, 0],
  otherIcmp: 13, // timestamp
  flooder: (i) => `10.${(i >> 8) & 255}.${i & 255}.1`,
  subnet: {
    prefix: '192.168.50.0/24',
    half: '192.168.50.0/25',
    printer: '192.168.50.9',
    upper: '192.168.50.200',
    outside: '10.9.9.9',
    dns: '192.168.50.1',
  },
  prefix: (s) => parseCidr(s)!,
  setLocal: (fw, provided = []) =>
    fw.setLocal(
      ip(V4.A),
      provided.map((s) => parseCidr(s)!),
    ),
};
const V6: Fam = {
  name: 'IPv6',
  A: 'fd7a:115c:a1e0::1',
  B: 'fd7a:115c:a1e0::2',
  C: 'fd7a:115c:a1e0::3',
  timeExceeded: [3, 0],
  otherIcmp: 139, // node information query (RFC 4620)
  flooder: (i) => `fd00:${((i >> 8) & 255).toString(16)}::${(i & 255).toString(16)}:1`,
  subnet: {
    prefix: 'fd00:50::/64',
    half: 'fd00:50::/65',
    printer: 'fd00:50::9',
    upper: 'fd00:50::8000:0:0:9',
    outside: 'fd00:99::9',
    dns: 'fd00:50::1',
  },
  prefix: (s) => parseIpPrefix(s)!,
  setLocal: (fw, provided = []) =>
    fw.setLocal(
      0,
      provided.map((s) => parseIpPrefix(s)!),
      parseIPv6(V6.A),
    ),
};
const PB = 0; // peer slots
const PC = 1;
const T0 = Date.parse('2024-01-15T10:00:00Z');

const acl = (protocol: Acl['protocol'], from = 0, to = from): Acl => ({ protocol, ports: from ? [{ from, to }] : [] });
function pol(name: string, senders: string[], receivers: string[], acls: Acl[]): Policy {
  return { name, senders, receivers, acls, trustRequirements: [], enabled: true };
}
/** The reference scenario (e2e/policy.test.ts has it between real helpers): A → B tcp/22, udp/53 and icmp; B → A tcp/80 and udp/5000; nothing with C. */
const SCENARIO = [
  pol('a-to-b', ['tag:dev'], ['tag:server'], [acl('tcp', 22), acl('udp', 53), acl('icmp')]),
  pol('b-to-a', ['BBBBB'], ['AAAAA'], [acl('tcp', 80), acl('udp', 5000)]),
];
function rules(policies: Policy[], mode: 'policy' | 'allow-all' = 'policy', now = T0): RuleSet {
  return compile({
    local: { identity: 'AAAAA', tags: ['dev'] },
    peers: [
      { index: PB, identity: 'BBBBB', tags: ['server'] },
      { index: PC, identity: 'CCCCC', tags: [] },
    ],
    policies,
    now,
    mode,
  });
}
function firewall(policies = SCENARIO, maxFlows?: number): Firewall {
  const fw = new Firewall(maxFlows ? { maxFlows } : {});
  fw.setRules(rules(policies));
  return fw;
}

type Step = [dir: 'out' | 'in', peer: number, pkt: Buffer, want: number, dt?: number];
const out = (pkt: Buffer, want = PASS, peer = PB, dt = 0): Step => ['out', peer, pkt, want, dt];
const inn = (pkt: Buffer, want = PASS, peer = PB, dt = 0): Step => ['in', peer, pkt, want, dt];

function run(fw: Firewall, steps: Step[], start = T0): number {
  let now = start;
  steps.forEach(([dir, peer, pkt, want, dt], i) => {
    now += dt ?? 0;
    const got = dir === 'out' ? fw.egress(peer, pkt, 0, pkt.length, now) : fw.ingress(peer, pkt, 0, pkt.length, now);
    assert.equal(REASONS[got], REASONS[want], `step ${i} (${dir})`);
  });
  return now;
}

/** familyTests runs every behaviour below in one family. */
function familyTests(f: Fam): void {
  const { A, B, C } = f;
  const synAB = tcp(A, 40000, B, 22, FLAGS.syn);
  const handshakeAB: Step[] = [
    out(synAB),
    inn(tcp(B, 22, A, 40000, FLAGS.synAck)),
    out(tcp(A, 40000, B, 22, FLAGS.ack)),
  ];

  const scenarios = (f: Fam): { name: string; steps: Step[]; flows?: number }[] => [
    {
      name: 'TCP handshake and data both ways',
      flows: 1,
      steps: [...handshakeAB, out(tcp(A, 40000, B, 22, FLAGS.pshAck)), inn(tcp(B, 22, A, 40000, FLAGS.pshAck))],
    },
    {
      name: 'B cannot start a connection to A on 22',
      steps: [inn(tcp(B, 40000, A, 22, FLAGS.syn), DROP.portNotAllowed)],
      flows: 0,
    },
    {
      name: 'an inbound non-SYN with no flow is dropped',
      steps: [inn(tcp(B, 22, A, 40000, FLAGS.ack), DROP.tcpNotSyn)],
    },
    {
      name: 'an outbound non-SYN with no flow to a port policy does not open is dropped',
      steps: [out(tcp(A, 40000, B, 23, FLAGS.ack), DROP.tcpNotSyn)],
    },
    {
      name: 'our mid-stream segment picks up a connection we may start, and the peer then matches it',
      flows: 1,
      steps: [
        // As after a restart: the peer's segment comes first, and B may not start this connection.
        inn(tcp(B, 22, A, 40000, FLAGS.pshAck), DROP.tcpNotSyn),
        out(tcp(A, 40000, B, 22, FLAGS.ack)),
        inn(tcp(B, 22, A, 40000, FLAGS.pshAck)),
        out(tcp(A, 40000, B, 22, FLAGS.finAck)),
      ],
    },
    {
      name: "the peer's mid-stream segment picks up a connection the peer may start",
      flows: 1,
      steps: [inn(tcp(B, 5555, A, 80, FLAGS.pshAck)), out(tcp(A, 80, B, 5555, FLAGS.ack))],
    },
    {
      name: 'SYN-ACK, RST and segments without ACK pick nothing up',
      flows: 0,
      steps: [
        out(tcp(A, 40000, B, 22, FLAGS.synAck), DROP.tcpNotSyn),
        out(tcp(A, 40000, B, 22, FLAGS.rst), DROP.tcpNotSyn),
        out(tcp(A, 40000, B, 22, FLAGS.rst | FLAGS.ack), DROP.tcpNotSyn),
        out(tcp(A, 40000, B, 22, 0x01), DROP.tcpNotSyn),
        out(tcp(A, 40000, B, 22, 0x08), DROP.tcpNotSyn),
        inn(tcp(B, 5555, A, 80, FLAGS.rst), DROP.tcpNotSyn),
      ],
    },
    {
      name: 'a picked-up flow ends after the handshake timeout unless answered, then lasts the established timeout',
      steps: [
        out(tcp(A, 40000, B, 22, FLAGS.ack)),
        inn(tcp(B, 22, A, 40000, FLAGS.ack), DROP.tcpNotSyn, PB, TIMEOUTS.tcpHandshake),
        out(tcp(A, 40000, B, 22, FLAGS.ack)),
        inn(tcp(B, 22, A, 40000, FLAGS.ack), PASS, PB, TIMEOUTS.tcpHandshake - 1),
        inn(tcp(B, 22, A, 40000, FLAGS.ack), PASS, PB, TIMEOUTS.tcpEstablished - 1),
        inn(tcp(B, 22, A, 40000, FLAGS.ack), DROP.tcpNotSyn, PB, TIMEOUTS.tcpEstablished),
      ],
    },
    {
      name: 'UDP and ICMP answers with no flow are dropped as before: nothing is picked up',
      flows: 0,
      steps: [
        inn(udp(B, 53, A, 3333), DROP.portNotAllowed),
        inn(icmpEcho(B, A, 0, 7), DROP.icmpNoFlow),
        out(udp(A, 5000, B, 6000), DROP.portNotAllowed),
        out(icmpEcho(A, B, 0, 9), DROP.icmpNoFlow),
        inn(icmpError(B, A, udp(A, 3333, B, 53)), DROP.icmpErrorNoFlow),
      ],
    },
    { name: 'an unsolicited SYN-ACK is dropped', steps: [inn(tcp(B, 22, A, 40000, FLAGS.synAck), DROP.tcpNotSyn)] },
    { name: 'SYN+FIN is nonsense', steps: [out(tcp(A, 40000, B, 22, FLAGS.syn | 1), DROP.tcpBadFlags)] },
    { name: 'TCP to B:23 is dropped', steps: [out(tcp(A, 40000, B, 23, FLAGS.syn), DROP.portNotAllowed)] },
    {
      name: 'C reaches nothing',
      steps: [
        inn(tcp(C, 1, A, 22, FLAGS.syn), DROP.noPolicyIngress, PC),
        inn(icmpEcho(C, A, 8, 1), DROP.noPolicyIngress, PC),
      ],
    },
    {
      name: 'nothing reaches C',
      steps: [
        out(tcp(A, 1, C, 22, FLAGS.syn), DROP.noPolicyEgress, PC),
        out(udp(A, 1, C, 53), DROP.noPolicyEgress, PC),
      ],
    },
    { name: 'an unknown peer slot gets nothing', steps: [out(synAB, DROP.noPolicyEgress, 7)] },
    {
      name: 'B starts on its own port 80 and A replies',
      flows: 1,
      steps: [
        inn(tcp(B, 5555, A, 80, FLAGS.syn)),
        out(tcp(A, 80, B, 5555, FLAGS.synAck)),
        inn(tcp(B, 5555, A, 80, FLAGS.ack)),
        out(tcp(A, 80, B, 5555, FLAGS.pshAck)),
      ],
    },
    {
      name: 'FIN both ways ends the flow after the closing timeout',
      flows: 0,
      steps: [
        ...handshakeAB,
        out(tcp(A, 40000, B, 22, FLAGS.finAck)),
        inn(tcp(B, 22, A, 40000, FLAGS.finAck)),
        out(tcp(A, 40000, B, 22, FLAGS.ack)),
        inn(tcp(B, 22, A, 40000, FLAGS.ack), PASS, PB, TIMEOUTS.tcpClosing - 1),
        inn(tcp(B, 22, A, 40000, FLAGS.ack), DROP.tcpNotSyn, PB, TIMEOUTS.tcpClosing),
      ],
    },
    {
      name: 'a half-closed connection stays open',
      steps: [
        ...handshakeAB,
        out(tcp(A, 40000, B, 22, FLAGS.finAck)),
        inn(tcp(B, 22, A, 40000, FLAGS.pshAck), PASS, PB, 60_000),
      ],
    },
    {
      name: 'a new SYN after close reuses the port pair',
      flows: 1,
      steps: [
        ...handshakeAB,
        out(tcp(A, 40000, B, 22, FLAGS.finAck)),
        inn(tcp(B, 22, A, 40000, FLAGS.finAck)),
        out(synAB),
        inn(tcp(B, 22, A, 40000, FLAGS.synAck)),
      ],
    },
    {
      name: 'RST ends the flow at once',
      flows: 0,
      steps: [
        ...handshakeAB,
        inn(tcp(B, 22, A, 40000, FLAGS.rst)),
        inn(tcp(B, 22, A, 40000, FLAGS.ack), DROP.tcpNotSyn),
      ],
    },
    {
      name: 'an unanswered SYN times out after the handshake timeout',
      steps: [out(synAB), inn(tcp(B, 22, A, 40000, FLAGS.synAck), DROP.tcpNotSyn, PB, TIMEOUTS.tcpHandshake)],
    },
    {
      name: 'an idle established flow lives for the established timeout, then ends',
      steps: [
        ...handshakeAB,
        inn(tcp(B, 22, A, 40000, FLAGS.ack), PASS, PB, TIMEOUTS.tcpEstablished - 1),
        inn(tcp(B, 22, A, 40000, FLAGS.ack), DROP.tcpNotSyn, PB, TIMEOUTS.tcpEstablished),
      ],
    },
    {
      name: 'UDP replies pass, other ports do not',
      flows: 1,
      steps: [
        out(udp(A, 3333, B, 53)),
        inn(udp(B, 53, A, 3333)),
        inn(udp(B, 53, A, 3334), DROP.portNotAllowed),
        out(udp(A, 3333, B, 54), DROP.portNotAllowed),
      ],
    },
    {
      name: 'an unanswered UDP flow times out quickly, an answered one later',
      steps: [
        out(udp(A, 3333, B, 53)),
        inn(udp(B, 53, A, 3333), DROP.portNotAllowed, PB, TIMEOUTS.udpNew),
        out(udp(A, 3334, B, 53)),
        inn(udp(B, 53, A, 3334)),
        inn(udp(B, 53, A, 3334), PASS, PB, TIMEOUTS.udpReplied - 1),
      ],
    },
    {
      name: 'ICMP echo replies match by identifier',
      steps: [
        out(icmpEcho(A, B, 8, 7)),
        inn(icmpEcho(B, A, 0, 7)),
        inn(icmpEcho(B, A, 0, 8), DROP.icmpNoFlow),
        out(icmpEcho(A, B, 0, 7), DROP.icmpNoFlow),
      ],
    },
    {
      name: 'B cannot ping A, even reusing an identifier A uses',
      steps: [
        inn(icmpEcho(B, A, 8, 9), DROP.protocolNotAllowed),
        out(icmpEcho(A, B, 8, 9)),
        inn(icmpEcho(B, A, 8, 9), DROP.protocolNotAllowed),
      ],
    },
    {
      name: 'an echo reply times out',
      steps: [out(icmpEcho(A, B, 8, 7)), inn(icmpEcho(B, A, 0, 7), DROP.icmpNoFlow, PB, TIMEOUTS.icmpEcho)],
    },
    {
      name: 'ICMP errors pass only when they quote a tracked flow',
      steps: [
        out(udp(A, 3333, B, 53)),
        inn(icmpError(B, A, udp(A, 3333, B, 53))),
        inn(icmpError(B, A, udp(A, 3333, B, 54)), DROP.icmpErrorNoFlow),
        inn(icmpError(B, A, udp(A, 3334, B, 53)), DROP.icmpErrorNoFlow),
        out(synAB),
        inn(icmpError(B, A, synAB, ...f.timeExceeded)),
        out(icmpEcho(A, B, 8, 3)),
        inn(icmpError(B, A, icmpEcho(A, B, 8, 3))),
        inn(icmpError(B, A, icmpEcho(A, B, 8, 4)), DROP.icmpErrorNoFlow),
      ],
    },
    {
      name: 'our ICMP error about a peer-started flow passes out',
      steps: [
        inn(udp(B, 6000, A, 5000)),
        out(icmpError(A, B, udp(B, 6000, A, 5000))),
        out(icmpError(A, B, udp(B, 6001, A, 5000)), DROP.icmpErrorNoFlow),
      ],
    },
    {
      name: 'other ICMP types follow the ICMP grant without state',
      steps: [out(icmpMessage(A, B, f.otherIcmp)), inn(icmpMessage(B, A, f.otherIcmp), DROP.protocolNotAllowed)],
      flows: 0,
    },
    {
      name: 'non-first fragments are dropped',
      steps: [out(synAB), out(fragment(tcp(A, 40000, B, 22, FLAGS.ack)), DROP.fragment)],
    },
  ];

  for (const s of scenarios(f)) {
    test(`filter (${f.name}): ${s.name}`, () => {
      const fw = firewall();
      const end = run(fw, s.steps);
      if (s.flows !== undefined) {
        fw.sweep(end);
        assert.equal(fw.flows(), s.flows, 'flows after the steps');
      }
    });
  }

  test(`${f.name}: before any rules everything is dropped`, () => {
    const fw = new Firewall();
    assert.equal(fw.egress(PB, synAB, 0, synAB.length, T0), DROP.noRules);
  });

  test(`${f.name}: packets are read at their offset inside a bigger buffer`, () => {
    const fw = firewall();
    const big = Buffer.alloc(synAB.length + 100, 0xff);
    synAB.copy(big, 37);
    assert.equal(fw.egress(PB, big, 37, synAB.length, T0), PASS);
    assert.equal(fw.egress(PB, big, 37, synAB.length + 100, T0), DROP.malformed, 'length past the buffer');
  });

  test(`${f.name}: a policy change cuts existing flows in both directions on their next packet`, () => {
    const fw = firewall();
    run(fw, [
      ...handshakeAB,
      out(tcp(A, 40001, B, 22, FLAGS.syn)),
      inn(tcp(B, 22, A, 40001, FLAGS.synAck)),
      inn(tcp(B, 7, A, 80, FLAGS.syn)),
    ]);
    assert.equal(fw.flows(), 3);
    // Keep B → A but drop A → B.
    fw.setRules(rules([SCENARIO[1]!]));
    run(fw, [
      out(tcp(A, 40000, B, 22, FLAGS.pshAck), DROP.policyRevoked),
      inn(tcp(B, 22, A, 40000, FLAGS.pshAck), DROP.tcpNotSyn),
      inn(tcp(B, 22, A, 40001, FLAGS.ack), DROP.policyRevoked),
      out(tcp(A, 40001, B, 22, FLAGS.ack), DROP.noPolicyEgress),
      out(tcp(A, 80, B, 7, FLAGS.synAck)),
    ]);
    assert.equal(fw.flows(), 1);
    assert.equal(fw.dropCounters()['policy-revoked'], 2);
  });

  test(`${f.name}: sweep removes revoked flows without waiting for a packet`, () => {
    const fw = firewall();
    run(fw, [...handshakeAB, out(udp(A, 1, B, 53)), out(icmpEcho(A, B, 8, 1))]);
    assert.equal(fw.flows(), 3);
    fw.setRules(rules(SCENARIO));
    assert.equal(fw.sweep(T0), 0, 'the same rules keep every flow');
    fw.setRules(rules([pol('icmp only', ['tag:dev'], ['tag:server'], [acl('icmp')])]));
    assert.equal(fw.sweep(T0), 2);
    assert.equal(fw.flows(), 1);
    run(fw, [inn(icmpEcho(B, A, 0, 1))]);
    assert.equal(fw.sweep(T0 + TIMEOUTS.icmpEcho), 1, 'and expires old ones');
    assert.equal(fw.flows(), 0);
  });

  test(`${f.name}: a schedule boundary cuts traffic when the daemon recompiles at nextChangeAt`, () => {
    const sched: Policy = {
      ...SCENARIO[0]!,
      trustRequirements: [{ type: 'schedule', days: ['Mon'], from: '09:00', to: '10:01', timeZone: 'UTC' }],
    };
    const fw = new Firewall();
    const r = rules([sched]);
    fw.setRules(r);
    run(fw, handshakeAB);
    assert.equal(new Date(r.nextChangeAt!).toISOString(), '2024-01-15T10:01:00.000Z');
    fw.setRules(rules([sched], 'policy', r.nextChangeAt!));
    run(fw, [out(tcp(A, 40000, B, 22, FLAGS.ack), DROP.policyRevoked)], r.nextChangeAt!);
  });

  test(`${f.name}: allow-all mode passes everything with configured peers and picks up TCP mid-stream`, () => {
    const fw = new Firewall();
    fw.setRules(rules([], 'allow-all'));
    run(fw, [
      inn(tcp(B, 22, A, 40000, FLAGS.pshAck)),
      out(tcp(A, 40000, B, 22, FLAGS.ack)),
      inn(tcp(C, 1, A, 9999, FLAGS.syn), PASS, PC),
      inn(icmpEcho(B, A, 8, 1)),
      out(udp(A, 1, C, 2), PASS, PC),
      out(synAB, DROP.noPolicyEgress, 3),
    ]);
    // Switching to policy mode keeps only what policy allows.
    fw.setRules(rules(SCENARIO));
    run(fw, [out(tcp(A, 40000, B, 22, FLAGS.ack)), inn(tcp(C, 1, A, 9999, FLAGS.ack), DROP.policyRevoked, PC)]);
  });

  test(`${f.name}: after a restart, a connection policy allows carries on from its next segment in the allowed direction`, () => {
    const before = firewall();
    let now = run(before, [
      ...handshakeAB,
      inn(tcp(B, 5555, A, 80, FLAGS.syn)),
      out(tcp(A, 80, B, 5555, FLAGS.synAck)),
    ]);
    // A new helper has the same rules and an empty table (a crash, an upgrade, a rebuilt firewall).
    const after = firewall();
    now = run(
      after,
      [
        inn(tcp(B, 22, A, 40000, FLAGS.pshAck), DROP.tcpNotSyn),
        out(tcp(A, 40000, B, 22, FLAGS.pshAck), PASS, PB, 1000),
        inn(tcp(B, 22, A, 40000, FLAGS.ack)),
        inn(tcp(B, 5555, A, 80, FLAGS.pshAck)),
        out(tcp(A, 80, B, 5555, FLAGS.ack)),
      ],
      now,
    );
    assert.equal(after.flows(), 2);
    // Answered pickups live as long as connections the firewall saw start.
    run(after, [inn(tcp(B, 22, A, 40000, FLAGS.ack), PASS, PB, TIMEOUTS.tcpEstablished - 1)], now);
  });

  test(`${f.name}: a peer's mid-stream segment is not picked up from a port this system may reach`, () => {
    // A may start any TCP to B; B may start only tcp/80 to A. A segment from B:22 (or any port) to
    // A:9999 would be a connection B started, which policy forbids, whatever its source port.
    const fw = firewall([pol('a to b: all tcp', ['AAAAA'], ['BBBBB'], [acl('tcp')]), SCENARIO[1]!]);
    run(fw, [
      inn(tcp(B, 22, A, 9999, FLAGS.pshAck), DROP.tcpNotSyn),
      inn(tcp(B, 40000, A, 9999, FLAGS.ack), DROP.tcpNotSyn),
      inn(tcp(B, 40000, A, 9999, FLAGS.finAck), DROP.tcpNotSyn),
    ]);
    assert.equal(fw.flows(), 0);
    assert.deepEqual(fw.dropCounters(), { 'tcp-not-syn': 3 });
    // This system's own segment of such a connection is picked up, and then B's match it.
    run(fw, [out(tcp(A, 9999, B, 40000, FLAGS.ack)), inn(tcp(B, 40000, A, 9999, FLAGS.pshAck))]);
  });

  test(`${f.name}: the table stays bounded under a SYN flood and keeps established flows`, () => {
    const max = 256;
    const fw = firewall([pol('all in', ['BBBBB'], ['AAAAA'], [acl('tcp')]), ...SCENARIO], max);
    run(fw, handshakeAB);
    let now = T0;
    let passed = 0;
    for (let i = 0; i < 20000; i++) {
      const p = tcp(f.flooder(i), 1024 + (i % 60000), A, 443, FLAGS.syn);
      if (fw.ingress(PB, p, 0, p.length, (now += 1)) === PASS) passed++;
    }
    assert.ok(fw.flows() <= max, `flows ${fw.flows()} <= ${max}`);
    assert.ok(fw.evictions >= 20000 - max, `evictions ${fw.evictions}`);
    assert.ok(passed > 19000, 'new SYNs still get in by evicting old half-open flows');
    run(fw, [out(tcp(A, 40000, B, 22, FLAGS.pshAck)), inn(tcp(B, 22, A, 40000, FLAGS.pshAck))], now);
  });

  test(`${f.name}: a peer that opens connections without end evicts its own flows, never another peer's`, () => {
    const max = 512;
    const fw = firewall([...SCENARIO, pol('c in', ['CCCCC'], ['AAAAA'], [acl('tcp')])], max);
    let now = T0;
    for (let i = 0; i < 20; i++) {
      const port = 40000 + i;
      now = run(
        fw,
        [
          out(tcp(A, port, B, 22, FLAGS.syn)),
          inn(tcp(B, 22, A, port, FLAGS.synAck)),
          out(tcp(A, port, B, 22, FLAGS.ack)),
        ],
        now,
      );
    }
    // C completes far more connections than the table holds, each seen more recently than B's.
    for (let i = 0; i < 5000; i++) {
      const port = 1024 + i;
      now = run(
        fw,
        [
          inn(tcp(C, port, A, 443, FLAGS.syn), PASS, PC, 1),
          out(tcp(A, 443, C, port, FLAGS.synAck), PASS, PC),
          inn(tcp(C, port, A, 443, FLAGS.ack), PASS, PC),
        ],
        now,
      );
    }
    // B's flows still match: B may not start connections to these ports, so a lost flow would drop.
    for (let i = 0; i < 20; i++) run(fw, [inn(tcp(B, 22, A, 40000 + i, FLAGS.pshAck))], now);
    assert.equal(fw.flowsOf(PB), 20);
    assert.equal(fw.flowsOf(PC), max - 20);
    assert.equal(fw.flows(), max);
    assert.deepEqual(fw.evictionCounters(), { 'table-full': 5000 - (max - 20) });
  });

  test(`${f.name}: counters count every verdict by reason`, () => {
    const fw = firewall();
    run(fw, [
      ...handshakeAB,
      out(tcp(A, 40000, B, 23, FLAGS.syn), DROP.portNotAllowed),
      inn(tcp(C, 1, A, 2, FLAGS.syn), DROP.noPolicyIngress, PC),
    ]);
    assert.equal(fw.counters[PASS], 3);
    assert.deepEqual(fw.dropCounters(), { 'port-not-allowed': 1, 'no-policy-ingress': 1 });
    assert.equal(fw.reasons[DROP.noPolicyEgress], 'no-policy-egress');
    assert.equal(new Set(REASONS).size, REASONS.length, 'reason names are unique');
  });

  test(`${f.name}: exit node: a provided subnet may answer but never start traffic into the overlay`, () => {
    const fw = firewall();
    f.setLocal(fw, [f.subnet.prefix]);
    const printer = f.subnet.printer;
    run(fw, [
      // B (a peer granted A's ports) reaches the printer behind A; the printer answers.
      inn(tcp(B, 7, printer, 80, FLAGS.syn)),
      out(tcp(printer, 80, B, 7, FLAGS.synAck)),
      // The printer cannot start a connection to B, even on a port B's policy would allow.
      out(tcp(printer, 22, B, 22, FLAGS.syn), DROP.unsolicitedFromSubnet),
      out(udp(printer, 5353, B, 22), DROP.unsolicitedFromSubnet),
      // A peer cannot route through A to an address A does not provide.
      inn(tcp(B, 7, f.subnet.outside, 80, FLAGS.syn), DROP.notForThisSystem),
      // This system's own traffic is unaffected.
      out(tcp(A, 40100, B, 22, FLAGS.syn)),
    ]);
    assert.equal(fw.dropCounters()['unsolicited-from-subnet'], 2);
  });

  test(`${f.name}: exit node with route grants: only granted senders reach the subnet, for any port, and a revoked grant cuts the flow`, () => {
    const fw = firewall();
    f.setLocal(fw, [f.subnet.prefix]);
    fw.setRouteGrants(new Map([[PC, [f.prefix(f.subnet.half)]]]));
    const printer = f.subnet.printer;
    run(fw, [
      // C has no policy to reach A at all, but its grant covers the printer, on any port.
      inn(tcp(C, 7, printer, 9100, FLAGS.syn), PASS, PC),
      out(tcp(printer, 9100, C, 7, FLAGS.synAck), PASS, PC),
      // The grant covers .0/25 only.
      inn(tcp(C, 8, f.subnet.upper, 80, FLAGS.syn), DROP.noRouteGrant, PC),
      // B's policy lets it reach A, but it has no grant: the subnet stays closed to it.
      inn(tcp(B, 7, printer, 80, FLAGS.syn), DROP.noRouteGrant),
      // Policies still govern A itself.
      inn(tcp(C, 7, A, 22, FLAGS.syn), DROP.noPolicyIngress, PC),
    ]);
    fw.setRouteGrants(new Map());
    run(fw, [inn(tcp(C, 7, printer, 9100, FLAGS.ack), DROP.policyRevoked, PC)]);
    assert.equal(fw.dropCounters()['no-route-grant'], 2);
  });

  test(`${f.name}: client of a route grant: this system reaches the granted subnet through the exit node without a policy, but not the exit node itself`, () => {
    // C is the exit node; no policy names A and C at all.
    const fw = firewall();
    f.setLocal(fw);
    fw.setRouteGrants(new Map());
    const everything = f.prefix(f.name === 'IPv4' ? '0.0.0.0/0' : '::/0');
    const overlay = f.prefix(f.name === 'IPv4' ? '100.64.0.0/10' : 'fd7a:115c:a1e0::/48');
    fw.setRoutesVia(new Map([[PC, [f.prefix(f.subnet.prefix)]]]), [overlay]);
    const printer = f.subnet.printer;
    run(fw, [
      out(tcp(A, 40000, printer, 9100, FLAGS.syn), PASS, PC),
      inn(tcp(printer, 9100, A, 40000, FLAGS.synAck), PASS, PC),
      out(udp(A, 40001, printer, 161), PASS, PC),
      out(icmpEcho(A, printer, 8, 7), PASS, PC),
      // The exit node's own address and addresses outside the route stay behind policy.
      out(tcp(A, 40002, C, 22, FLAGS.syn), DROP.noPolicyEgress, PC),
      out(tcp(A, 40003, f.subnet.outside, 80, FLAGS.syn), DROP.noPolicyEgress, PC),
      // The route is through C, not B: B's policy does not cover port 9100.
      out(tcp(A, 40004, printer, 9100, FLAGS.syn), DROP.portNotAllowed, PB),
      // Devices in the subnet may answer but not start.
      inn(tcp(printer, 9100, A, 22, FLAGS.syn), DROP.noPolicyIngress, PC),
    ]);
    // A new rule set keeps the routed flow; losing the route cuts it.
    fw.setRules(rules(SCENARIO));
    run(fw, [out(tcp(A, 40000, printer, 9100, FLAGS.ack), PASS, PC)]);
    // A full tunnel through C holds C's own address too, which still needs a policy.
    fw.setRoutesVia(new Map([[PC, [everything]]]), [overlay]);
    run(fw, [
      out(tcp(A, 40005, f.subnet.outside, 80, FLAGS.syn), PASS, PC),
      out(tcp(A, 40006, C, 22, FLAGS.syn), DROP.noPolicyEgress, PC),
    ]);
    fw.setRoutesVia(new Map());
    run(fw, [out(tcp(A, 40000, printer, 9100, FLAGS.ack), DROP.policyRevoked, PC)]);
  });

  test(`${f.name}: queries from peers to the nameserver on the virtual address are dropped whatever the policy allows`, () => {
    const everything = [
      pol('all in', ['tag:server'], ['tag:dev'], [acl('any')]),
      pol('all out', ['tag:dev'], ['tag:server'], [acl('any')]),
    ];
    for (const [label, fw] of [
      ['a policy granting every protocol and port', firewall(everything)],
      ['allow-all mode', allowAll()],
    ] as const) {
      f.setLocal(fw);
      run(fw, [
        inn(udp(B, 40000, A, 53), DROP.dnsFromPeer),
        inn(tcp(B, 40001, A, 53, FLAGS.syn), DROP.dnsFromPeer),
        // Mid-stream TCP that allow-all mode would pick up is no way in either.
        inn(tcp(B, 40002, A, 53, FLAGS.pshAck), DROP.dnsFromPeer),
        // The same peer reaches every other port, and 53 elsewhere is not the nameserver.
        inn(udp(B, 40000, A, 54)),
        inn(tcp(B, 40003, A, 5353, FLAGS.syn)),
        // This system's own queries to a peer's port 53, and their answers, pass.
        out(udp(A, 41000, B, 53)),
        inn(udp(B, 53, A, 41000)),
      ]);
      assert.equal(fw.dropCounters()['dns-from-peer'], 3, label);
    }
    // A peer's traffic routed through an exit node to a DNS server in a provided subnet is not ours.
    const exit = firewall(everything);
    f.setLocal(exit, [f.subnet.prefix]);
    run(exit, [inn(udp(B, 40000, f.subnet.dns, 53))]);
    assert.equal(exit.dropCounters()['dns-from-peer'], undefined);
  });
}

for (const f of [V4, V6]) familyTests(f);

test('IPv4: garbage is malformed or not IP; an IPv6 header is read as IPv6, never misread as IPv4', () => {
  const fw = firewall();
  const syn = tcp(V4.A, 40000, V4.B, 22, FLAGS.syn);
  run(fw, [
    out(Buffer.from([0x45, 0, 0, 10, 0, 0, 0, 0, 0, 0]), DROP.malformed),
    out(Buffer.alloc(10), DROP.notIpv4),
    // A bare IPv6 header (next header 0, hop-by-hop, missing) is cut short; with No Next Header it
    // is a packet of protocol 59, which this policy does not grant.
    out(Buffer.from([0x60, ...Buffer.alloc(39)]), DROP.malformed),
    out(Buffer.from([0x60, 0, 0, 0, 0, 0, 59, 64, ...Buffer.alloc(32)]), DROP.protocolNotAllowed),
    out(syn.subarray(0, 30), DROP.malformed),
  ]);
});

function allowAll(): Firewall {
  const fw = new Firewall({});
  fw.setRules(rules([], 'allow-all'));
  return fw;
}
