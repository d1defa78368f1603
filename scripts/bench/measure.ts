// One benchmark run over a tunnel (or the bare veth): iperf3 throughput with the CPU time the
// tunnel processes spent meanwhile, ping RTT, and the processes' peak memory.
import {
  genKeyPair,
  iperf3,
  percentile,
  ping,
  procStats,
  startWarren,
  startWireguardGo,
  waitForPing,
  warrenProfile,
  type KeyPair,
  type PairLayout,
  type Warren,
} from '../../e2e/netns/index.js';
import type { BenchOptions, Impl } from './options.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { warrenCli } from '../../e2e/netns/warren.js';

/** Measurement is what one tunnel (or the veth) achieved. */
export interface Measurement {
  throughputMbps: number;
  retransmits: number;
  throughputP4Mbps: number | null;
  rttAvgMs: number;
  rttP50Ms: number;
  rttP99Ms: number;
  /** rttP99SettledMs is the p99 of the pings after the first SETTLE_PINGS (null with fewer than
   * twice as many): a fresh helper's JIT compiles bunch in its first second of traffic
   * (docs/architecture.md, "A short slice for the JS thread"), and this shows the tail without
   * them. rttP99Ms, over every ping, stays the figure the target is judged on. */
  rttP99SettledMs: number | null;
  pingLossPct: number;
  /** cpuSeconds[side] is user+system CPU of the tunnel process during the 1-stream iperf. */
  cpuSeconds: { a: number; b: number } | null;
  peakRssKiB: { a: number; b: number } | null;
  /** rounds is how many runs the figures are the medians of; throughputRangeMbps their spread. */
  rounds: number;
  throughputRangeMbps: { min: number; max: number };
}

/** SETTLE_PINGS is how many of the measured pings (10 ms apart) rttP99SettledMs leaves out. */
export const SETTLE_PINGS = 100;

/** settledP99 is the p99 of rtts (in sending order) after the first SETTLE_PINGS, null when
 * fewer than 2 * SETTLE_PINGS came back. */
export function settledP99(rtts: number[]): number | null {
  return rtts.length >= 2 * SETTLE_PINGS ? percentile(rtts.slice(SETTLE_PINGS), 99) : null;
}

/** Tunnel is a started pair: overlay address of b and the two process ids. */
interface Tunnel {
  bIp: string;
  pids: { a: number; b: number };
  stop(): Promise<void>;
}

/** TunnelSide is one side's tunnel process: wireguard-go or a Warren helper. */
interface TunnelSide {
  pid: number;
  stop(): Promise<unknown>;
}

/** startTunnel starts impl in both namespaces, a at 100.64.0.1 and b at 100.64.0.2. */
async function startTunnel(impl: Impl, l: PairLayout, o: BenchOptions): Promise<Tunnel> {
  const ka = genKeyPair();
  const kb = genKeyPair();
  if (impl === 'wg-go') return startWireguardGoPair(l, ka, kb);
  return startWarrenPair(impl, l, ka, kb, impl === 'warren-alt' ? (o.alt ?? {}) : {});
}

/** startWireguardGoPair starts wireguard-go on both sides, each with the other as its peer. */
async function startWireguardGoPair(l: PairLayout, ka: KeyPair, kb: KeyPair): Promise<Tunnel> {
  const a = await startWireguardGo(l.a, {
    privateKey: ka.privateKey,
    listenPort: 51820,
    address: '100.64.0.1/10',
    peers: [{ publicKey: kb.publicKey, endpoint: `${l.bIp}:51820`, allowedIps: ['100.64.0.2/32'] }],
  });
  const b = await startWireguardGo(l.b, {
    privateKey: kb.privateKey,
    listenPort: 51820,
    address: '100.64.0.2/10',
    peers: [{ publicKey: ka.publicKey, endpoint: `${l.aIp}:51820`, allowedIps: ['100.64.0.1/32'] }],
  });
  return tunnelOf(a, b);
}

/** startWarrenPair starts a Warren helper on both sides (a tagged client, b server), in
 * allow-all mode for warren and in policy mode for warren-policy; alt's CLI and node flags
 * replace this checkout's CLI and the launchers' flags when given (warren-alt). */
async function startWarrenPair(
  impl: Impl,
  l: PairLayout,
  ka: KeyPair,
  kb: KeyPair,
  alt: { cli?: string; nodeFlags?: string[] },
): Promise<Tunnel> {
  const topo = l.a.topo;
  const policy = benchPolicy(impl);
  const a = await startWarren(
    l.a,
    {
      ...warrenProfile({
        keys: ka,
        listenPort: 51820,
        virtualAddress: '100.64.0.1',
        adapter: topo.ifname('w'),
        peers: [{ publicKey: kb.publicKey, endpoint: `${l.bIp}:51820`, allowedIps: ['100.64.0.2/32'] }],
      }),
      ...policy,
      Tags: ['client'],
    },
    { name: `bench-${impl}-a`, verbosity: 0, ...envOf(impl), ...alt },
  );
  const b = await startWarren(
    l.b,
    {
      ...warrenProfile({
        keys: kb,
        listenPort: 51820,
        virtualAddress: '100.64.0.2',
        adapter: topo.ifname('w'),
        peers: [{ publicKey: ka.publicKey, endpoint: `${l.aIp}:51820`, allowedIps: ['100.64.0.1/32'] }],
      }),
      ...policy,
      Tags: ['server'],
    },
    { name: `bench-${impl}-b`, verbosity: 0, ...envOf(impl), ...alt },
  );
  if (impl === 'warren-policy') await tagPeers(a, b);
  await checkOffloads(impl, a);
  return tunnelOf(a, b);
}

/** envOf is the helper's environment: WARREN_OFFLOAD=off for warren-no-offload,
 * WARREN_TUN_OFFLOAD=off for warren-no-tun-offload, WARREN_THREADS for the threads pair,
 * WARREN_WAKE_TICKER=on / off for warren-ticker / warren-no-ticker, WARREN_JS_SLICE=off for
 * warren-no-slice, WARREN_WARM_UP=off for warren-no-warm-up. */
function envOf(impl: Impl): { env?: NodeJS.ProcessEnv } {
  if (impl === 'warren-threads') return { env: { ...process.env, WARREN_THREADS: 'on' } };
  if (impl === 'warren-no-threads') return { env: { ...process.env, WARREN_THREADS: 'off' } };
  if (impl === 'warren-no-offload') return { env: { ...process.env, WARREN_OFFLOAD: 'off' } };
  if (impl === 'warren-no-tun-offload') return { env: { ...process.env, WARREN_TUN_OFFLOAD: 'off' } };
  if (impl === 'warren-ticker') return { env: { ...process.env, WARREN_WAKE_TICKER: 'on' } };
  if (impl === 'warren-no-ticker') return { env: { ...process.env, WARREN_WAKE_TICKER: 'off' } };
  if (impl === 'warren-no-slice') return { env: { ...process.env, WARREN_JS_SLICE: 'off' } };
  if (impl === 'warren-no-warm-up') return { env: { ...process.env, WARREN_WARM_UP: 'off' } };
  return {};
}

/** checkOffloads makes sure warren-no-offload runs without any offloads and
 * warren-no-tun-offload without the TUN ones (as its status reports them), so that a comparison with warren cannot measure the same thing twice. Elsewhere the
 * kernel decides (an older one offers neither), so nothing is required. */
async function checkOffloads(impl: Impl, w: Warren): Promise<void> {
  if (impl === 'warren-threads' || impl === 'warren-no-threads') {
    const n = (await w.status()).offloads?.cryptoThreads;
    if (n === undefined || (impl === 'warren-threads') !== n > 1)
      throw new Error(`${impl}: the helper reports ${n} crypto threads (WARREN_THREADS had no effect?)`);
    return;
  }
  if (impl === 'warren-ticker' || impl === 'warren-no-ticker') {
    const on = (await w.status()).offloads?.wakeTicker;
    if (on !== (impl === 'warren-ticker'))
      throw new Error(`${impl}: the helper reports wakeTicker ${on} (WARREN_WAKE_TICKER had no effect?)`);
    return;
  }
  if (impl === 'warren-no-slice') {
    const us = (await w.status()).offloads?.jsSliceUs;
    if (us !== 0) throw new Error(`${impl}: the helper reports jsSliceUs ${us} (WARREN_JS_SLICE had no effect?)`);
    return;
  }
  if (impl === 'warren-no-warm-up') {
    const ms = (await w.status()).offloads?.warmUpMs;
    if (ms !== undefined) throw new Error(`${impl}: the helper reports warmUpMs ${ms} (WARREN_WARM_UP had no effect?)`);
    return;
  }
  if (impl !== 'warren-no-offload' && impl !== 'warren-no-tun-offload') return;
  const o = (await w.status()).offloads;
  const tunOn = o?.tunTso === true || o?.tunGro === true;
  if (o === undefined || tunOn || (impl === 'warren-no-offload' && (o.udpGso || o.udpGro)))
    throw new Error(`${impl}: the helper reports offloads ${JSON.stringify(o)}, expected them off`);
}

/** tunnelOf is the Tunnel of the two started sides (b at 100.64.0.2); stop stops both. */
function tunnelOf(a: TunnelSide, b: TunnelSide): Tunnel {
  return {
    bIp: '100.64.0.2',
    pids: { a: a.pid, b: b.pid },
    stop: async () => {
      await Promise.all([a.stop(), b.stop()]);
    },
  };
}

/** benchPolicy is the profile's policy part. In policy mode both sides carry tags and the one
 * policy that allows the measured traffic (iperf3's TCP port and ping), so every packet goes
 * through rule checks and conntrack; allow-all mode has none. */
function benchPolicy(impl: Impl): object {
  return impl === 'warren-policy'
    ? {
        Policies: [
          {
            Name: 'bench',
            Senders: ['tag:client'],
            Receivers: ['tag:server'],
            Acls: [{ Protocol: 'tcp', Ports: '5201' }, { Protocol: 'icmp' }],
          },
        ],
      }
    : {};
}

/** tagPeers gives each side's peer the other's tag. Tags on peers come from each side's own
 * profile: patch them in through a reload. */
async function tagPeers(a: Warren, b: Warren): Promise<void> {
  for (const [w, peerTag] of [
    [a, 'server'],
    [b, 'client'],
  ] as const) {
    const prof = JSON.parse(readFileSync(w.profilePath, 'utf8')) as { Peers: Array<Record<string, unknown>> };
    prof.Peers[0]!.Tags = [peerTag];
    writeFileSync(w.profilePath, JSON.stringify(prof, null, 2));
    const r = await warrenCli(w.ns, ['reload', '--socket', w.socket]);
    if (r.code !== 0) throw new Error(`reload ${w.name}: ${r.stderr}`);
  }
}

/** measurePath measures RTT and throughput from a to bIp, charging CPU to pids if given. */
async function measurePath(
  l: PairLayout,
  bIp: string,
  o: BenchOptions,
  pids: { a: number; b: number } | null,
  progress: (s: string) => void,
): Promise<Measurement> {
  // RTT first, on an idle tunnel: right after a throughput run the numbers carry its tail.
  progress(`ping x${o.pings} at 10 ms`);
  const p = await ping(l.a, bIp, { count: o.pings, interval: 0.01 });
  progress(`iperf3 1 stream, ${o.seconds} s`);
  const before = pids ? { a: procStats(pids.a), b: procStats(pids.b) } : null;
  const one = await iperf3(l.b, l.a, bIp, o.seconds);
  const after = pids ? { a: procStats(pids.a), b: procStats(pids.b) } : null;
  let p4: number | null = null;
  if (o.parallel) {
    progress(`iperf3 4 streams, ${o.seconds} s`);
    p4 = (await iperf3(l.b, l.a, bIp, o.seconds, { parallel: 4 })).receivedBps / 1e6;
  }
  const peak = pids ? { a: procStats(pids.a).peakRssKiB, b: procStats(pids.b).peakRssKiB } : null;
  const throughput = one.receivedBps / 1e6;
  return {
    throughputMbps: throughput,
    retransmits: one.retransmits,
    throughputP4Mbps: p4,
    rttAvgMs: p.avg,
    rttP50Ms: percentile(p.rtts, 50),
    rttP99Ms: percentile(p.rtts, 99),
    rttP99SettledMs: settledP99(p.rtts),
    pingLossPct: p.lossPct,
    cpuSeconds:
      before && after
        ? { a: after.a.cpuSeconds - before.a.cpuSeconds, b: after.b.cpuSeconds - before.b.cpuSeconds }
        : null,
    peakRssKiB: peak,
    rounds: 1,
    throughputRangeMbps: { min: throughput, max: throughput },
  };
}

/** measureRaw measures the bare veth, for context. */
export function measureRaw(l: PairLayout, o: BenchOptions, progress: (s: string) => void): Promise<Measurement> {
  return measurePath(l, l.bIp, o, null, progress);
}

/** measureTunnel starts impl on both sides, measures it and stops it. */
export async function measureTunnel(
  impl: Impl,
  l: PairLayout,
  o: BenchOptions,
  progress: (s: string) => void,
): Promise<Measurement> {
  progress(`starting ${impl} on both sides`);
  const t = await startTunnel(impl, l, o);
  try {
    await waitForPing(l.a, t.bIp, 20_000);
    await ping(l.a, t.bIp, { count: 20, interval: 0.01 }); // warm up: handshake done, caches hot
    return await measurePath(l, t.bIp, o, t.pids, progress);
  } finally {
    progress(`stopping ${impl}`);
    await t.stop();
  }
}

/** median of a non-empty list (the mean of the middle two for an even count). */
export function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function medianOr<T>(ms: Measurement[], pick: (m: Measurement) => T | null, f: (xs: T[]) => T): T | null {
  const xs = ms.map(pick).filter((x): x is T => x !== null);
  return xs.length === ms.length && xs.length > 0 ? f(xs) : null;
}

/** combineRounds turns the runs of one tunnel into one row: the median of every figure, and the
 * range of the throughput (each side's CPU and memory are taken per side). */
export function combineRounds(ms: Measurement[]): Measurement {
  const pair = (xs: { a: number; b: number }[]): { a: number; b: number } => ({
    a: median(xs.map((x) => x.a)),
    b: median(xs.map((x) => x.b)),
  });
  const tput = ms.map((m) => m.throughputMbps);
  return {
    throughputMbps: median(tput),
    retransmits: median(ms.map((m) => m.retransmits)),
    throughputP4Mbps: medianOr(ms, (m) => m.throughputP4Mbps, median),
    rttAvgMs: median(ms.map((m) => m.rttAvgMs)),
    rttP50Ms: median(ms.map((m) => m.rttP50Ms)),
    rttP99Ms: median(ms.map((m) => m.rttP99Ms)),
    rttP99SettledMs: medianOr(ms, (m) => m.rttP99SettledMs, median),
    pingLossPct: median(ms.map((m) => m.pingLossPct)),
    cpuSeconds: medianOr(ms, (m) => m.cpuSeconds, pair),
    peakRssKiB: medianOr(ms, (m) => m.peakRssKiB, pair),
    rounds: ms.length,
    throughputRangeMbps: { min: Math.min(...tput), max: Math.max(...tput) },
  };
}
