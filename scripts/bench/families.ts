// The address-family run of `npm run bench`: over every combination of IPv4 and IPv6 inside and
// outside the tunnel, Warren's data plane alone (warren-wg) and wireguard-go, both started with
// the same command line and configured only through wg(8), and the whole helper (`warren`: the
// profile, its stateful firewall in allow-all mode, DNS) beside them. Rounds are interleaved
// (round 1: warren-wg, wireguard-go, warren; round 2 the other way round, ...) so that a slow
// spell of the shared machine hits all of them, and the figures are the medians of the rounds
// with their range.
import { join } from 'node:path';
import {
  genKeyPair,
  iperf3,
  repoRoot,
  startWarren,
  type KeyPair,
  type Namespace,
  type PairLayout,
} from '../../e2e/netns/index.js';
import { waitForPing } from '../../e2e/netns/ping.js';
import { startWireguardGo } from '../../e2e/netns/wireguard-go.js';
import { median } from './measure.js';

/** FamilyImpl names the data planes the run compares. */
export type FamilyImpl = 'warren-wg' | 'wg-go' | 'warren';
const IMPLS: readonly FamilyImpl[] = ['warren-wg', 'wg-go', 'warren'];

/** Family is an address family, inside or outside the tunnel. */
type Family = 4 | 6;

/** Combo is one measured path: the family of the tunnel's packets and of the UDP underneath. */
export interface Combo {
  inside: Family;
  outside: Family;
}
const COMBOS: readonly Combo[] = [
  { inside: 4, outside: 4 },
  { inside: 6, outside: 4 },
  { inside: 4, outside: 6 },
  { inside: 6, outside: 6 },
];

/** FamilyRow is one implementation over one combination: the throughput of every round. */
export interface FamilyRow extends Combo {
  impl: FamilyImpl;
  mbps: number[];
  medianMbps: number;
  minMbps: number;
  maxMbps: number;
}

/** FamilyResult is the whole run, or why it failed. */
export interface FamilyResult {
  seconds: number;
  rounds: number;
  rows: FamilyRow[];
  error: string | null;
}

// Underlay IPv6 from the documentation range (RFC 3849), overlay from a ULA (RFC 4193).
const UNDERLAY6 = { a: '2001:db8:77::1', b: '2001:db8:77::2' };
const OVERLAY = {
  a: { v4: '100.64.0.1', v6: 'fd77:77::1' },
  b: { v4: '100.64.0.2', v6: 'fd77:77::2' },
};
const PORT = 51830;

/** commandOf is the argv that starts impl in the foreground (wireguard-go's command line). */
function commandOf(impl: FamilyImpl): string[] {
  return impl === 'wg-go' ? ['wireguard-go'] : [process.execPath, join(repoRoot(), 'bin', 'warren-wg')];
}

/** addUnderlay6 gives the pair's veth IPv6 addresses (no duplicate address detection, so they are
 * usable at once). */
async function addUnderlay6(l: PairLayout): Promise<void> {
  await l.a.exec(['ip', '-6', 'addr', 'add', `${UNDERLAY6.a}/64`, 'dev', l.aIf, 'nodad']);
  await l.b.exec(['ip', '-6', 'addr', 'add', `${UNDERLAY6.b}/64`, 'dev', l.bIf, 'nodad']);
}

/** Pair is one implementation running on both sides, with endpoints of one outside family. */
interface Pair {
  stop(): Promise<void>;
}

/** endpointOf is where side `me` listens, in the outside family. */
function endpointOf(l: PairLayout, me: 'a' | 'b', outside: Family): string {
  return outside === 4 ? `${me === 'a' ? l.aIp : l.bIp}:${PORT}` : `[${UNDERLAY6[me]}]:${PORT}`;
}

/** startPair starts impl on both sides with both overlay families and endpoints of `outside`. */
async function startPair(impl: FamilyImpl, l: PairLayout, outside: Family): Promise<Pair> {
  const keys = { a: genKeyPair(), b: genKeyPair() };
  const start = impl === 'warren' ? startHelperSide : startWgSide;
  const a = await start(impl, l, 'a', keys, outside);
  const b = await start(impl, l, 'b', keys, outside);
  return { stop: async () => void (await Promise.all([a(), b()])) };
}

type SideStarter = (
  impl: FamilyImpl,
  l: PairLayout,
  me: 'a' | 'b',
  keys: { a: KeyPair; b: KeyPair },
  outside: Family,
) => Promise<() => Promise<unknown>>;

/** startWgSide starts warren-wg or wireguard-go on one side, configured through wg(8). */
const startWgSide: SideStarter = async (impl, l, me, keys, outside) => {
  const other = me === 'a' ? 'b' : 'a';
  const ns: Namespace = l[me];
  const w = await startWireguardGo(ns, {
    ifname: ns.topo.ifname(`f${impl === 'wg-go' ? 'g' : 'w'}`),
    command: commandOf(impl),
    privateKey: keys[me].privateKey,
    listenPort: PORT,
    address: `${OVERLAY[me].v4}/24`,
    peers: [
      {
        publicKey: keys[other].publicKey,
        endpoint: endpointOf(l, other, outside),
        allowedIps: [`${OVERLAY[other].v4}/32`, `${OVERLAY[other].v6}/128`],
      },
    ],
  });
  await ns.exec(['ip', '-6', 'addr', 'add', `${OVERLAY[me].v6}/64`, 'dev', w.ifname, 'nodad']);
  return () => w.stop();
};

/** startHelperSide starts the whole helper on one side from a static profile without Policies
 * (allow-all mode, the counterpart of plain WireGuard), with both overlay families. */
const startHelperSide: SideStarter = async (_impl, l, me, keys, outside) => {
  const other = me === 'a' ? 'b' : 'a';
  const ns: Namespace = l[me];
  const w = await startWarren(
    ns,
    {
      PrivateKey: keys[me].privateKey,
      ListenPort: PORT,
      VirtualAddress: OVERLAY[me].v4,
      VirtualAddress6: OVERLAY[me].v6,
      Adapter: { Name: ns.topo.ifname('fh') },
      Peers: [
        {
          PublicKey: keys[other].publicKey,
          Endpoint: endpointOf(l, other, outside),
          AllowedIPs: [`${OVERLAY[other].v4}/32`, `${OVERLAY[other].v6}/128`],
        },
      ],
    },
    { name: `warren-family-${me}-${outside}` },
  );
  return () => w.stop();
};

/** measureInside measures one inside family on a running pair: iperf3 TCP from a to b. */
async function measureInside(l: PairLayout, inside: Family, seconds: number): Promise<number> {
  const dst = inside === 4 ? OVERLAY.b.v4 : OVERLAY.b.v6;
  await waitForPing(l.a, dst, 15_000);
  const r = await iperf3(l.b, l.a, dst, seconds);
  return r.receivedBps / 1e6;
}

/** measureFamilies runs `rounds` interleaved rounds of every implementation over every
 * combination in the pair layout l. */
export async function measureFamilies(
  l: PairLayout,
  seconds: number,
  rounds: number,
  progress: (s: string) => void,
): Promise<FamilyResult> {
  const samples = new Map<string, number[]>();
  const key = (impl: FamilyImpl, c: Combo): string => `${impl}/${c.inside}/${c.outside}`;
  try {
    await addUnderlay6(l);
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? IMPLS : [...IMPLS].reverse();
      for (const impl of order) {
        for (const outside of [4, 6] as const) {
          progress(`round ${round + 1}/${rounds}: ${impl}, IPv${outside} outside`);
          const p = await startPair(impl, l, outside);
          try {
            for (const inside of [4, 6] as const) {
              const mbps = await measureInside(l, inside, seconds);
              const k = key(impl, { inside, outside });
              samples.set(k, [...(samples.get(k) ?? []), mbps]);
            }
          } finally {
            await p.stop();
          }
        }
      }
    }
  } catch (e) {
    return { seconds, rounds, rows: [], error: (e as Error).message };
  }
  const rows: FamilyRow[] = [];
  for (const c of COMBOS) {
    for (const impl of IMPLS) {
      const mbps = samples.get(key(impl, c)) ?? [];
      rows.push({ impl, ...c, mbps, medianMbps: median(mbps), minMbps: Math.min(...mbps), maxMbps: Math.max(...mbps) });
    }
  }
  return { seconds, rounds, rows, error: null };
}

/** familyTable prints the run: one line per combination, both implementations and their ratio. */
export function familyTable(r: FamilyResult): string {
  if (r.error !== null) return `address families: FAILED: ${r.error}`;
  const lines = [
    `address families (iperf3 TCP, ${r.seconds} s, ${r.rounds} interleaved rounds: median [min-max] Mbit/s)`,
    'inside  outside  warren-wg                wireguard-go             warren (helper)          warren-wg/wg-go  warren/wg-go',
  ];
  const fmt = (row: FamilyRow | undefined): string =>
    row === undefined
      ? '-'.padEnd(24)
      : `${row.medianMbps.toFixed(0)} [${row.minMbps.toFixed(0)}-${row.maxMbps.toFixed(0)}]`.padEnd(24);
  for (const c of COMBOS) {
    const row = (impl: FamilyImpl): FamilyRow | undefined =>
      r.rows.find((x) => x.impl === impl && x.inside === c.inside && x.outside === c.outside);
    const [w, g, h] = [row('warren-wg'), row('wg-go'), row('warren')];
    const ratio = (x: FamilyRow | undefined): string =>
      x && g && g.medianMbps > 0 ? (x.medianMbps / g.medianMbps).toFixed(2) : '-';
    lines.push(
      `IPv${c.inside}    IPv${c.outside}     ${fmt(w)} ${fmt(g)} ${fmt(h)} ${ratio(w).padEnd(16)} ${ratio(h)}`,
    );
  }
  return lines.join('\n');
}
