// The address-family run of `npm run bench`: Warren's data plane alone (warren-wg) against
// wireguard-go, both started with the same command line and configured only through wg(8), over
// every combination of IPv4 and IPv6 inside and outside the tunnel. Rounds are interleaved
// (round 1: warren-wg then wireguard-go, round 2 the other way round, ...) so that a slow spell of
// the shared machine hits both, and the figures are the medians of the rounds with their range.
import { join } from 'node:path';
import { genKeyPair, iperf3, repoRoot, type Namespace, type PairLayout } from '../../e2e/netns/index.js';
import { waitForPing } from '../../e2e/netns/ping.js';
import { startWireguardGo, type WireguardGo } from '../../e2e/netns/wireguard-go.js';

/** FamilyImpl names the two data planes the run compares. */
export type FamilyImpl = 'warren-wg' | 'wg-go';
const IMPLS: readonly FamilyImpl[] = ['warren-wg', 'wg-go'];

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

/** Pair is one implementation running on both sides. */
interface Pair {
  a: WireguardGo;
  b: WireguardGo;
}

/** startPair starts impl on both sides with both overlay families and IPv4 endpoints. */
async function startPair(impl: FamilyImpl, l: PairLayout): Promise<Pair> {
  const ka = genKeyPair();
  const kb = genKeyPair();
  const tag = impl === 'wg-go' ? 'g' : 'w';
  const side = async (ns: Namespace, me: 'a' | 'b', peerKey: string, peerIp: string): Promise<WireguardGo> => {
    const other = me === 'a' ? 'b' : 'a';
    const w = await startWireguardGo(ns, {
      ifname: ns.topo.ifname(`f${tag}`),
      command: commandOf(impl),
      privateKey: me === 'a' ? ka.privateKey : kb.privateKey,
      listenPort: PORT,
      address: `${OVERLAY[me].v4}/24`,
      peers: [
        {
          publicKey: peerKey,
          endpoint: `${peerIp}:${PORT}`,
          allowedIps: [`${OVERLAY[other].v4}/32`, `${OVERLAY[other].v6}/128`],
        },
      ],
    });
    await ns.exec(['ip', '-6', 'addr', 'add', `${OVERLAY[me].v6}/64`, 'dev', w.ifname, 'nodad']);
    return w;
  };
  const a = await side(l.a, 'a', kb.publicKey, l.bIp);
  const b = await side(l.b, 'b', ka.publicKey, l.aIp);
  return { a, b };
}

/** pointAt sets each side's endpoint for the other in the given outside family. */
async function pointAt(p: Pair, l: PairLayout, outside: Family): Promise<void> {
  const ep = (v4: string, v6: string): string => (outside === 4 ? `${v4}:${PORT}` : `[${v6}]:${PORT}`);
  await l.a.exec(['wg', 'set', p.a.ifname, 'peer', p.b.publicKey, 'endpoint', ep(l.bIp, UNDERLAY6.b)]);
  await l.b.exec(['wg', 'set', p.b.ifname, 'peer', p.a.publicKey, 'endpoint', ep(l.aIp, UNDERLAY6.a)]);
}

/** measureCombo measures one combination on a running pair: iperf3 TCP from a to b. */
async function measureCombo(p: Pair, l: PairLayout, c: Combo, seconds: number): Promise<number> {
  await pointAt(p, l, c.outside);
  const dst = c.inside === 4 ? OVERLAY.b.v4 : OVERLAY.b.v6;
  await waitForPing(l.a, dst, 15_000);
  const r = await iperf3(l.b, l.a, dst, seconds);
  return r.receivedBps / 1e6;
}

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
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
        progress(`round ${round + 1}/${rounds}: ${impl}`);
        const p = await startPair(impl, l);
        try {
          for (const c of COMBOS) {
            const mbps = await measureCombo(p, l, c, seconds);
            const k = key(impl, c);
            samples.set(k, [...(samples.get(k) ?? []), mbps]);
          }
        } finally {
          await Promise.all([p.a.stop(), p.b.stop()]);
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
    'inside  outside  warren-wg                wireguard-go             warren-wg/wg-go',
  ];
  const fmt = (row: FamilyRow | undefined): string =>
    row === undefined
      ? '-'.padEnd(24)
      : `${row.medianMbps.toFixed(0)} [${row.minMbps.toFixed(0)}-${row.maxMbps.toFixed(0)}]`.padEnd(24);
  for (const c of COMBOS) {
    const w = r.rows.find((x) => x.impl === 'warren-wg' && x.inside === c.inside && x.outside === c.outside);
    const g = r.rows.find((x) => x.impl === 'wg-go' && x.inside === c.inside && x.outside === c.outside);
    const ratio = w && g && g.medianMbps > 0 ? (w.medianMbps / g.medianMbps).toFixed(2) : '-';
    lines.push(`IPv${c.inside}    IPv${c.outside}     ${fmt(w)} ${fmt(g)} ${ratio}`);
  }
  return lines.join('\n');
}
