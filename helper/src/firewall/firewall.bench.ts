// Micro-benchmark: firewall decisions per second with 10,000 policies and 100,000 tracked
// flows, IPv4 and then IPv6 (part of `npm run bench`). Run: node --import tsx helper/src/firewall/firewall.bench.ts
// (or node dist/helper/src/firewall/firewall.bench.js). runFirewallBench() returns the figures.
import { pathToFileURL } from 'node:url';
import type { Policy } from '../../../src-shared/wire/policy.js';
import { CROCKFORD_ALPHABET } from '../../../src-shared/lib/identity.js';
import { compile, type PeerInfo, type RuleSet } from './compile.js';
import { Firewall } from './filter.js';
import { PASS } from './reasons.js';
import { FLAGS, tcp } from './testing.js';

const POLICIES = 10_000;
const PEERS = 1000;
const FLOWS = 100_000;

/** FirewallBenchResult holds decisions per second by kind, and the compile time. */
export interface FirewallBenchResult {
  policies: number;
  flows: number;
  compileMs: number;
  trackedPerSec: number;
  newAllowedPerSec: number;
  deniedPerSec: number;
  /** trackedV6PerSec is trackedPerSec with IPv6 flows (a table of its own, as large). */
  trackedV6PerSec: number;
}

function identity(n: number): string {
  let s = '';
  for (let i = 0; i < 5; i++, n = Math.floor(n / 32)) s = CROCKFORD_ALPHABET[n % 32]! + s;
  return s;
}
const peerAddr = (j: number): string => `100.64.${(j >> 8) + 1}.${j & 255}`;
const LOCAL = '100.64.0.1';
const peerAddr6 = (j: number): string => `fd7a:115c:a1e0::${(j + 2).toString(16)}`;
const LOCAL6 = 'fd7a:115c:a1e0::1';

/** Family is one address family's local address and peer addresses. */
interface Family {
  local: string;
  peer: (j: number) => string;
  /** len is a bare TCP segment's length. */
  len: number;
}
const V4: Family = { local: LOCAL, peer: peerAddr, len: 40 };
const V6: Family = { local: LOCAL6, peer: peerAddr6, len: 60 };

/** runFirewallBench builds the rule set and flow table, then times three kinds of decision. */
export function runFirewallBench(): FirewallBenchResult {
  const peers = benchPeers();
  const policies = benchPolicies();
  const { rules, compileMs } = compileTimed(peers, policies);
  const now = Date.now();
  const fw = trackedFirewall(rules, now, V4);
  const trackedPerSec = timeTracked(fw, now, V4);
  const newAllowedPerSec = timeNewAllowed(fw, now);
  const deniedPerSec = timeDenied(fw, now);
  const trackedV6PerSec = timeTracked(trackedFirewall(rules, now, V6), now, V6);
  return {
    policies: policies.length,
    flows: FLOWS,
    compileMs,
    trackedPerSec,
    newAllowedPerSec,
    deniedPerSec,
    trackedV6PerSec,
  };
}

/** benchPeers is the fleet the rules are compiled for: PEERS peers spread over 100 tags. */
function benchPeers(): PeerInfo[] {
  return Array.from({ length: PEERS }, (_, j) => ({
    index: j,
    identity: identity(1000 + j),
    tags: [`t${j % 100}`],
  }));
}

/** benchPolicies is POLICIES policies, one in ten sent by this system's tag and one in 97
 * disabled, plus an ssh policy that lets it reach every peer's port 22 (the tracked flows). */
function benchPolicies(): Policy[] {
  const policies: Policy[] = [];
  for (let i = 0; i < POLICIES; i++) {
    const mine = i % 10 === 0;
    const port = 1000 + ((i * 37) % 60000);
    policies.push({
      name: `p${i}`,
      senders: mine ? ['tag:dev'] : [`tag:x${i % 500}`],
      receivers: [`tag:t${i % 100}`, identity(1000 + (i % PEERS))],
      acls: [
        {
          protocol: 'tcp',
          ports: [
            { from: port, to: port + 3 },
            { from: 22, to: 22 },
          ],
        },
        { protocol: 'udp', ports: [{ from: port, to: port }] },
      ],
      trustRequirements: [],
      enabled: i % 97 !== 0,
    });
  }
  policies.push({
    name: 'ssh',
    senders: ['tag:dev'],
    receivers: Array.from({ length: 100 }, (_, i) => `tag:t${i}`),
    acls: [{ protocol: 'tcp', ports: [{ from: 22, to: 22 }] }],
    trustRequirements: [],
    enabled: true,
  });
  return policies;
}

/** compileTimed compiles the policies for this system (tag dev) and times it. */
function compileTimed(peers: PeerInfo[], policies: Policy[]): { rules: RuleSet; compileMs: number } {
  const t = performance.now();
  const rules = compile({
    local: { identity: 'AAAAA', tags: ['dev'] },
    peers,
    policies,
    now: Date.now(),
    mode: 'policy',
  });
  return { rules, compileMs: performance.now() - t };
}

/** trackedFirewall is a firewall with rules and FLOWS ssh flows open to the peers, all at now. */
function trackedFirewall(rules: RuleSet, now: number, f: Family): Firewall {
  const fw = new Firewall({ maxFlows: 131072 });
  fw.setRules(rules);
  for (let k = 0; k < FLOWS; k++) {
    const j = k % PEERS;
    const p = tcp(f.local, 1024 + Math.floor(k / PEERS), f.peer(j), 22, FLAGS.syn);
    if (fw.egress(j, p, 0, p.length, now) !== PASS) throw new Error('setup flow refused');
  }
  if (fw.flows() !== FLOWS) throw new Error(`expected ${FLOWS} flows, have ${fw.flows()}`);
  return fw;
}

/** timeTracked times ACKs of existing flows, both directions, from one packed buffer. */
function timeTracked(fw: Firewall, now: number, f: Family): number {
  const N = 8192;
  const L = f.len;
  const buf = Buffer.alloc(N * L);
  const peerOf = new Uint32Array(N);
  const dirOf = new Uint8Array(N);
  for (let i = 0; i < N; i++) {
    const k = Math.floor(Math.random() * FLOWS);
    const j = k % PEERS;
    const sport = 1024 + Math.floor(k / PEERS);
    const egress = i % 2 === 0;
    const p = egress ? tcp(f.local, sport, f.peer(j), 22, FLAGS.ack) : tcp(f.peer(j), 22, f.local, sport, FLAGS.synAck);
    p.copy(buf, i * L);
    peerOf[i] = j;
    dirOf[i] = egress ? 0 : 1;
  }
  return rate(2_000_000, (i) => {
    const s = i & (N - 1);
    const v = dirOf[s] === 0 ? fw.egress(peerOf[s]!, buf, s * L, L, now) : fw.ingress(peerOf[s]!, buf, s * L, L, now);
    if (v !== PASS) throw new Error(`tracked packet dropped: ${fw.reasons[v]}`);
  });
}

/** timeNewAllowed times SYNs on fresh port pairs, with the table at its bound (evicting). */
function timeNewAllowed(fw: Firewall, now: number): number {
  const syn = tcp(LOCAL, 1, peerAddr(0), 22, FLAGS.syn);
  return rate(500_000, (i) => {
    syn.writeUInt16BE(1 + (i & 0x7fff), 20);
    syn.writeUInt16BE(i >>> 15, 14);
    if (fw.egress(0, syn, 0, 40, now) !== PASS) throw new Error('new flow refused');
  });
}

/** timeDenied times SYNs to a port no policy grants (the most common flood). */
function timeDenied(fw: Firewall, now: number): number {
  const denied = tcp(peerAddr(5), 1, LOCAL, 9, FLAGS.syn);
  return rate(2_000_000, (i) => {
    denied.writeUInt16BE(1 + (i & 0x7fff), 20);
    if (fw.ingress(5, denied, 0, 40, now) === PASS) throw new Error('denied SYN passed');
  });
}

/** rate runs fn n times after a warm-up of up to 100,000 calls and returns calls per second. */
function rate(n: number, fn: (i: number) => void): number {
  for (let i = 0; i < Math.min(n, 100_000); i++) fn(i);
  const t = performance.now();
  for (let i = 0; i < n; i++) fn(i);
  return n / ((performance.now() - t) / 1000);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const r = runFirewallBench();
  const m = (x: number): string => `${(x / 1e6).toFixed(2)} M/s`;
  console.log(`firewall: ${r.policies} policies compiled in ${r.compileMs.toFixed(0)} ms; ${r.flows} flows`);
  console.log(
    `  tracked-flow decisions ${m(r.trackedPerSec)}, new flows (evicting) ${m(r.newAllowedPerSec)}, ` +
      `denied SYNs ${m(r.deniedPerSec)}; IPv6 tracked-flow decisions ${m(r.trackedV6PerSec)}`,
  );
}
