// The proxy benchmark: what the egress proxy's CONNECT tunnel and the ingress forwarder cost
// against a direct TCP connection to the same server. The proxies run where they run in
// production, inside a real `warren run` helper (with Egress and Ingress in its profile) in a
// namespace of its own; the server and the load generators (scripts/bench/proxy-load.ts) are
// separate processes in the same namespace, so every path is loopback TCP:
//
//   direct:  client → 127.0.0.1:PORT                                 → server
//   egress:  client → 127.0.0.1:3128 (CONNECT 127.0.0.1:PORT) → helper → server
//   ingress: client → VIRTUAL_ADDRESS:PORT → helper                   → server (127.0.0.1:PORT)
//
// For each path: bulk throughput of one connection, and the connection rate (open, 1-byte
// echo, server closes) with RATE_CONCURRENCY connections in flight, each for --seconds in all,
// split over --rounds interleaved rounds; the figures are the medians of the rounds, and each
// round's proxied/direct throughput ratio gives the spread. A proxied path has a third busy
// process and a second TCP connection, so the CPU seconds per GiB of the helper and of all
// three processes (client, server, helper: user and system) are reported beside the rates; on a
// shared machine they hold still while the rates swing with other people's load.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  genKeyPair,
  procStats,
  startWarren,
  warrenProfile,
  type Namespace,
  type Topology,
  type Warren,
} from '../../e2e/netns/index.js';
import type { BenchOptions } from './options.js';
import type { BulkResult, RateResult } from './proxy-load.js';

const VIRTUAL_ADDRESS = '100.64.0.1';
const SERVICE_PORT = 5301;
const EGRESS_PORT = 3128;
/** RATE_CONCURRENCY is how many connections the rate test keeps in flight. */
export const RATE_CONCURRENCY = 32;
/** PROXY_HOST says where the measured proxies ran (printed and kept in the JSON report). */
export const PROXY_HOST = 'warren run (the helper process) in a network namespace';

/** ProxyPath names the three compared paths. */
export type ProxyPath = 'direct' | 'egress' | 'ingress';
export const PROXY_PATHS: readonly ProxyPath[] = ['direct', 'egress', 'ingress'];

/** PathMeasurement is one path's figures; helper* are null for the direct path. */
export interface PathMeasurement {
  throughputMbps: number;
  connectionsPerSec: number;
  connectP50Ms: number;
  connectP99Ms: number;
  connectErrors: number;
  /** throughputMinMbps and throughputMaxMbps are the slowest and fastest bulk rounds. */
  throughputMinMbps: number;
  throughputMaxMbps: number;
  /** helperCpuSecPerGiB is the helper's user+system CPU per GiB carried in the bulk run. */
  helperCpuSecPerGiB: number | null;
  /** pathCpuSecPerGiB is the CPU per GiB of client, server and helper together (bulk run). */
  pathCpuSecPerGiB: number | null;
  /** helperCpuSecPerKConn is the helper's CPU per 1,000 connections in the rate run. */
  helperCpuSecPerKConn: number | null;
}

/** ProxyResult holds every path that ran, failures, and proxied/direct ratios. */
export interface ProxyResult {
  proxyHost: string;
  seconds: number;
  rounds: number;
  concurrency: number;
  results: Partial<Record<ProxyPath, PathMeasurement>>;
  errors: Partial<Record<ProxyPath, string>>;
  ratios: {
    egressThroughput: number | null;
    egressConnRate: number | null;
    ingressThroughput: number | null;
    ingressConnRate: number | null;
    /** [lowest, highest] over the rounds of proxied/direct throughput within one round. */
    egressThroughputRange: [number, number] | null;
    ingressThroughputRange: [number, number] | null;
  };
}

/** loadArgv runs proxy-load beside this module: compiled .js, or the .ts source under tsx. */
function loadArgv(): string[] {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) {
    const js = join(dirname(here), 'proxy-load.js');
    if (!existsSync(js)) throw new Error(`${js} is missing; run npm run build`);
    return [process.execPath, js];
  }
  return [process.execPath, '--import', import.meta.resolve('tsx'), join(dirname(here), 'proxy-load.ts')];
}

/** lastJson parses the last stdout line of a proxy-load client. */
function lastJson<T>(stdout: string, what: string): T {
  const line = stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as T;
  } catch {
    throw new Error(`${what}: no result line in ${JSON.stringify(stdout.slice(-500))}`);
  }
}

/** target is the host and port each path's client reaches (through the proxy, for egress). */
function target(path: ProxyPath): string[] {
  return [path === 'ingress' ? VIRTUAL_ADDRESS : '127.0.0.1', String(SERVICE_PORT)];
}

/** viaProxy is the CONNECT proxy argument for the egress path. */
function viaProxy(path: ProxyPath): string[] {
  return path === 'egress' ? [`127.0.0.1:${EGRESS_PORT}`] : [];
}

async function runBulk(ns: Namespace, path: ProxyPath, seconds: number): Promise<BulkResult> {
  const r = await ns.exec([...loadArgv(), 'bulk', ...target(path), String(seconds), ...viaProxy(path)], {
    timeoutMs: seconds * 1000 + 30_000,
  });
  return lastJson<BulkResult>(r.stdout, `${path} bulk`);
}

async function runRate(ns: Namespace, path: ProxyPath, seconds: number): Promise<RateResult> {
  const r = await ns.exec(
    [...loadArgv(), 'rate', ...target(path), String(seconds), String(RATE_CONCURRENCY), ...viaProxy(path)],
    { timeoutMs: seconds * 1000 + 30_000 },
  );
  const out = lastJson<RateResult>(r.stdout, `${path} rate`);
  if (out.connections === 0) throw new Error(`${path}: no connection completed (${out.firstError ?? 'no error'})`);
  return out;
}

/** cpuDuring runs fn and returns its result with the CPU seconds pid spent meanwhile. */
async function cpuDuring<T>(pid: number | null, fn: () => Promise<T>): Promise<[T, number | null]> {
  const before = pid === null ? 0 : procStats(pid).cpuSeconds;
  const out = await fn();
  return [out, pid === null ? null : procStats(pid).cpuSeconds - before];
}

/** Samples are one path's bulk and rate runs, each with the helper's CPU seconds meanwhile (and,
 * for bulk, the client's and the server's). */
export interface Samples {
  bulk: { mbps: number; bytes: number; cpu: number | null; clientCpu: number; serverCpu: number }[];
  rate: { perSec: number; connections: number; result: RateResult; cpu: number | null }[];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : (s[Math.floor((s.length - 1) / 2)] ?? NaN);
}

function sumOrNull(xs: (number | null)[]): number | null {
  return xs.some((x) => x === null) ? null : xs.reduce<number>((t, x) => t + (x ?? 0), 0);
}

/** summarise turns a path's rounds into its figures: medians, and CPU over all rounds. */
function summarise(x: Samples): PathMeasurement {
  const rateMedian = median(x.rate.map((r) => r.perSec));
  const mid = x.rate.find((r) => r.perSec === rateMedian) ?? x.rate[0];
  const bytes = x.bulk.reduce((t, b) => t + b.bytes, 0);
  const connections = x.rate.reduce((t, r) => t + r.connections, 0);
  const bulkCpu = sumOrNull(x.bulk.map((b) => b.cpu));
  const rateCpu = sumOrNull(x.rate.map((r) => r.cpu));
  const ends = x.bulk.reduce((t, b) => t + b.clientCpu + b.serverCpu, 0);
  const gib = bytes / 2 ** 30;
  const mbps = x.bulk.map((b) => b.mbps);
  return {
    throughputMbps: median(mbps),
    throughputMinMbps: Math.min(...mbps),
    throughputMaxMbps: Math.max(...mbps),
    connectionsPerSec: rateMedian,
    connectP50Ms: mid?.result.p50Ms ?? NaN,
    connectP99Ms: mid?.result.p99Ms ?? NaN,
    connectErrors: x.rate.reduce((t, r) => t + r.result.errors, 0),
    helperCpuSecPerGiB: bulkCpu === null || bytes === 0 ? null : bulkCpu / gib,
    pathCpuSecPerGiB: bytes === 0 ? null : (ends + (bulkCpu ?? 0)) / gib,
    helperCpuSecPerKConn: rateCpu === null || connections === 0 ? null : rateCpu / (connections / 1000),
  };
}

/**
 * measureRounds runs every path's bulk and rate tests in interleaved rounds (direct, egress,
 * ingress, direct, ...): on shared cores a burst of load from elsewhere then lands on all paths
 * alike instead of on whichever ran at the time. A path that fails once is dropped.
 */
async function measureRounds(
  ns: Namespace,
  procs: { helper: Warren; server: number },
  o: Pick<BenchOptions, 'seconds' | 'rounds'>,
  out: ProxyResult,
  progress: (s: string) => void,
): Promise<Partial<Record<ProxyPath, Samples>>> {
  const samples: Partial<Record<ProxyPath, Samples>> = {};
  const live = (): ProxyPath[] => PROXY_PATHS.filter((p) => out.errors[p] === undefined);
  const attempt = async (path: ProxyPath, fn: () => Promise<void>): Promise<void> => {
    try {
      await fn();
    } catch (e) {
      out.errors[path] = (e as Error).message;
      process.stderr.write(`bench: proxy ${path} failed: ${(e as Error).message}\n`);
    }
  };
  for (const path of PROXY_PATHS) {
    samples[path] = { bulk: [], rate: [] };
    // Warm up: JIT, first-connection paths, and the server's accept loop.
    await attempt(path, async () => {
      await runRate(ns, path, 0.5);
    });
  }
  const slice = o.seconds / o.rounds;
  const pid = (path: ProxyPath): number | null => (path === 'direct' ? null : procs.helper.pid);
  for (let round = 1; round <= o.rounds; round++) {
    progress(`round ${round}/${o.rounds}: bulk, 1 connection, ${slice.toFixed(1)} s per path`);
    for (const path of live()) {
      await attempt(path, async () => {
        const [[b, serverCpu], cpu] = await cpuDuring(pid(path), () =>
          cpuDuring(procs.server, () => runBulk(ns, path, slice)),
        );
        const mbps = (b.bytes * 8) / b.seconds / 1e6;
        samples[path]?.bulk.push({ mbps, bytes: b.bytes, cpu, clientCpu: b.cpuSeconds, serverCpu: serverCpu ?? 0 });
      });
    }
    progress(
      `round ${round}/${o.rounds}: connection rate, ${RATE_CONCURRENCY} in flight, ${slice.toFixed(1)} s per path`,
    );
    for (const path of live()) {
      await attempt(path, async () => {
        const [r, cpu] = await cpuDuring(pid(path), () => runRate(ns, path, slice));
        samples[path]?.rate.push({ perSec: r.connections / r.seconds, connections: r.connections, result: r, cpu });
      });
    }
  }
  return samples;
}

/** measureProxy builds one namespace in topo with a helper running both proxies and a server,
 * and measures the direct, egress and ingress paths in turn. A failing path is recorded in
 * errors and does not stop the others. The topology removes everything. */
export async function measureProxy(
  topo: Topology,
  o: Pick<BenchOptions, 'seconds' | 'rounds'>,
  progress: (s: string) => void,
): Promise<ProxyResult> {
  const ns = await topo.addNamespace('px');
  progress(`namespace ${ns.name}: server on 127.0.0.1:${SERVICE_PORT}, helper with Egress and Ingress`);
  const server = ns.spawn([...loadArgv(), 'serve', '127.0.0.1', String(SERVICE_PORT)], { name: 'bench-proxy-server' });
  await server.waitFor(/\{"listening":\d+\}/, 10_000);
  // No peers: the proxies need no tunnel, and -v 0 keeps per-connection logging off the figures.
  const helper = await startWarren(
    ns,
    {
      ...warrenProfile({
        keys: genKeyPair(),
        listenPort: 51820,
        virtualAddress: VIRTUAL_ADDRESS,
        adapter: topo.ifname('w'),
        peers: [],
      }),
      Egress: { Allow: ['127.0.0.1'], ListenPort: EGRESS_PORT },
      Ingress: [{ ListenPort: SERVICE_PORT }],
    },
    { name: 'bench-proxy-helper', verbosity: 0 },
  );
  const out: ProxyResult = {
    proxyHost: PROXY_HOST,
    seconds: o.seconds,
    rounds: o.rounds,
    concurrency: RATE_CONCURRENCY,
    results: {},
    errors: {},
    ratios: {
      egressThroughput: null,
      egressConnRate: null,
      ingressThroughput: null,
      ingressConnRate: null,
      egressThroughputRange: null,
      ingressThroughputRange: null,
    },
  };
  let samples: Partial<Record<ProxyPath, Samples>> = {};
  try {
    samples = await measureRounds(ns, { helper, server: server.pid }, o, out, progress);
    for (const path of PROXY_PATHS) {
      const x = samples[path];
      if (out.errors[path] === undefined && x) out.results[path] = summarise(x);
    }
  } finally {
    await Promise.all([helper.stop(), server.stop(1000)]);
  }
  out.ratios = ratios(out, samples);
  return out;
}

/** roundRange is [lowest, highest] of path's throughput over direct's in the same round. */
export function roundRange(samples: Partial<Record<ProxyPath, Samples>>, path: ProxyPath): [number, number] | null {
  const d = samples.direct?.bulk ?? [];
  const p = samples[path]?.bulk ?? [];
  // A path that failed in some round has fewer samples; the rounds no longer pair up.
  if (d.length === 0 || d.length !== p.length) return null;
  const r = p.map((b, i) => b.mbps / (d[i]?.mbps ?? NaN));
  return [Math.min(...r), Math.max(...r)];
}

/** ratios compares each proxied path's medians with direct's, and gives the per-round spread. */
function ratios(out: ProxyResult, samples: Partial<Record<ProxyPath, Samples>>): ProxyResult['ratios'] {
  const d = out.results.direct;
  const ratio = (p: ProxyPath, k: 'throughputMbps' | 'connectionsPerSec'): number | null => {
    const m = out.results[p];
    return d && m && d[k] > 0 ? m[k] / d[k] : null;
  };
  return {
    egressThroughput: ratio('egress', 'throughputMbps'),
    egressConnRate: ratio('egress', 'connectionsPerSec'),
    ingressThroughput: ratio('ingress', 'throughputMbps'),
    ingressConnRate: ratio('ingress', 'connectionsPerSec'),
    egressThroughputRange: out.errors.egress === undefined ? roundRange(samples, 'egress') : null,
    ingressThroughputRange: out.errors.ingress === undefined ? roundRange(samples, 'ingress') : null,
  };
}
