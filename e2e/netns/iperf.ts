// iperf3 between two namespaces, parsed from the client's -J report.
import type { Namespace } from './topology.js';

/** IperfResult: throughput in bits per second as sender and receiver saw it; for UDP also the
 * bytes the receiver counted and the share of datagrams it lost. */
export interface IperfResult {
  sentBps: number;
  receivedBps: number;
  receivedBytes: number;
  lostPercent: number;
  retransmits: number;
  seconds: number;
  streams: number;
}

/** IperfOptions: parallel streams (-P), port, reverse (-R: server sends), a target bitrate
 * (-b, e.g. '100M'; unlimited by default for TCP, iperf3's 1 Mbit/s for UDP) for a transfer
 * that must not fill the path, and udp (-u) for datagrams instead of a TCP stream. */
export interface IperfOptions {
  parallel?: number;
  port?: number;
  reverse?: boolean;
  bitrate?: string;
  udp?: boolean;
}

/** iperf3 runs a one-off server in serverNs bound to ip and a TCP client in clientNs. */
export async function iperf3(
  serverNs: Namespace,
  clientNs: Namespace,
  ip: string,
  seconds: number,
  opts: IperfOptions = {},
): Promise<IperfResult> {
  const port = String(opts.port ?? 5201);
  const server = serverNs.spawn(['iperf3', '-s', '-1', '--forceflush', '-B', ip, '-p', port], {
    name: `iperf3-server-${port}`,
  });
  try {
    await server.waitFor(/Server listening/, 10_000);
    const argv = ['iperf3', '-c', ip, '-p', port, '-t', String(seconds), '-J', '-P', String(opts.parallel ?? 1)];
    if (opts.reverse) argv.push('-R');
    if (opts.bitrate !== undefined) argv.push('-b', opts.bitrate);
    if (opts.udp) argv.push('-u');
    const r = await clientNs.exec(argv, { timeoutMs: seconds * 1000 + 30_000, allowFailure: true });
    if (r.code !== 0) throw new Error(`iperf3 client failed (exit ${r.code}): ${r.stderr}${r.stdout.slice(-2000)}`);
    return parseIperf(r.stdout);
  } finally {
    await server.stop(2000);
  }
}

interface IperfJson {
  error?: string;
  start?: { test_start?: { num_streams?: number } };
  end?: {
    sum_sent?: { bits_per_second?: number; retransmits?: number; seconds?: number };
    sum_received?: { bits_per_second?: number; seconds?: number; bytes?: number; lost_percent?: number };
  };
}

/** parseIperf reads an iperf3 -J report; it throws on a reported error. */
export function parseIperf(text: string): IperfResult {
  const j = JSON.parse(text) as IperfJson;
  if (j.error !== undefined) throw new Error(`iperf3: ${j.error}`);
  const sent = j.end?.sum_sent;
  const recv = j.end?.sum_received;
  if (sent?.bits_per_second === undefined || recv?.bits_per_second === undefined) {
    throw new Error('iperf3 report has no end.sum_sent / end.sum_received');
  }
  return {
    sentBps: sent.bits_per_second,
    receivedBps: recv.bits_per_second,
    receivedBytes: recv.bytes ?? 0,
    lostPercent: recv.lost_percent ?? 0,
    retransmits: sent.retransmits ?? 0,
    seconds: recv.seconds ?? sent.seconds ?? 0,
    streams: j.start?.test_start?.num_streams ?? 1,
  };
}
