// The relay benchmark: what a relayed path costs against a direct one. Two helpers behind two
// NAT routers (the e2e NatLab: real coordinator with its embedded relay, real NAT with
// iptables MASQUERADE) first find their direct path; then UDP between the two routers is
// blocked, the helpers fall back to the relay, and the same iperf3 run is repeated. Both runs
// use the same helpers, keys and routers, so the only difference is the path:
//
//   direct:  a → NAT a → NAT b → b
//   relayed: a → NAT a → relay (in the coordinator) → NAT b → b
import { iperf3, ping, procStats, type Topology } from '../../e2e/netns/index.js';
import { NatLab, waitForPath, type LabHost, type Site } from '../../e2e/netns/nat-lab.js';
import type { BenchOptions } from './options.js';

export interface RelayPathFigures {
  throughputMbps: number;
  rttP50Ms: number;
  /** coordinatorCpuSec is the coordinator (and so the relay) process's CPU time during the run. */
  coordinatorCpuSec: number;
  /** helperCpuSec is each helper's CPU time during the run (a sends, b receives): what a
   * relayed byte costs the two ends, less noisy on a shared machine than throughput alone. */
  helperCpuSec: { a: number; b: number };
}

export interface RelayResult {
  seconds: number;
  direct: RelayPathFigures | null;
  relayed: RelayPathFigures | null;
  /** relayed / direct throughput */
  ratio: number | null;
  error: string | null;
}

async function measurePath(lab: NatLab, a: LabHost, b: LabHost, seconds: number): Promise<RelayPathFigures> {
  const pids = [lab.coord.pid, a.w!.pid, b.w!.pid];
  const before = pids.map(procStats);
  const r = await iperf3(b.ns, a.ns, b.vip!, seconds);
  const after = pids.map(procStats);
  const cpu = (i: number): number => after[i]!.cpuSeconds - before[i]!.cpuSeconds;
  const p = await ping(a.ns, b.vip!, { count: 20, interval: 0.05 });
  const rtts = p.rtts.slice().sort((x, y) => x - y);
  return {
    throughputMbps: r.receivedBps / 1e6,
    rttP50Ms: rtts.length ? rtts[Math.floor(rtts.length / 2)]! : NaN,
    coordinatorCpuSec: cpu(0),
    helperCpuSec: { a: cpu(1), b: cpu(2) },
  };
}

async function block(site: Site, other: Site, on: boolean): Promise<void> {
  for (const dir of ['-d', '-s']) {
    await site.router.exec(['iptables', on ? '-I' : '-D', 'FORWARD', dir, other.publicIp, '-p', 'udp', '-j', 'DROP'], {
      allowFailure: !on,
    });
  }
}

/** measureRelay runs the direct and the relayed measurement in topo. */
export async function measureRelay(
  topo: Topology,
  opts: BenchOptions,
  progress: (s: string) => void,
): Promise<RelayResult> {
  const out: RelayResult = { seconds: opts.seconds, direct: null, relayed: null, ratio: null, error: null };
  const lab = new NatLab(topo);
  try {
    progress('coordinator with its relay, two NAT routers, two helpers');
    await lab.start();
    const sa = await lab.addSite('a', 'easy');
    const sb = await lab.addSite('b', 'easy');
    const a = await lab.addHost(sa, 'ha');
    const b = await lab.addHost(sb, 'hb');
    const key = await lab.createKey();
    await lab.enrolAndStart(a, key);
    await lab.enrolAndStart(b, key);
    await waitForPath(a, b, 'direct', 30_000);
    progress(`direct path: iperf3 ${opts.seconds} s`);
    out.direct = await measurePath(lab, a, b, opts.seconds);
    await block(sa, sb, true);
    progress('UDP between the routers blocked; waiting for the relay');
    await waitForPath(a, b, 'relay', 40_000);
    await waitForPath(b, a, 'relay', 40_000);
    progress(`relayed path: iperf3 ${opts.seconds} s`);
    out.relayed = await measurePath(lab, a, b, opts.seconds);
    out.ratio = out.relayed.throughputMbps / out.direct.throughputMbps;
  } catch (e) {
    out.error = (e as Error).message;
  } finally {
    await lab.stop();
  }
  return out;
}

/** relayLine prints the result in one paragraph. */
export function relayLines(r: RelayResult): string {
  if (r.error !== null && r.relayed === null) return `relay: failed: ${r.error}`;
  const f = (x: RelayPathFigures | null): string =>
    x === null
      ? 'n/a'
      : `${x.throughputMbps.toFixed(0)} Mbit/s, RTT p50 ${x.rttP50Ms.toFixed(2)} ms, coordinator/relay CPU ${x.coordinatorCpuSec.toFixed(2)} s, helpers ${x.helperCpuSec.a.toFixed(2)}/${x.helperCpuSec.b.toFixed(2)} s`;
  return [
    `relay (iperf3 ${r.seconds} s through two NAT routers):`,
    `  direct:  ${f(r.direct)}`,
    `  relayed: ${f(r.relayed)}`,
    `  relayed/direct throughput: ${r.ratio === null ? 'n/a' : `${r.ratio.toFixed(2)}x`}`,
  ].join('\n');
}
