// ping over a namespace, with the summary and every reply's RTT parsed (for averages and p99).
import type { Namespace } from './topology.js';
import { sleep } from './wait.js';

/** PingResult is what one ping run saw; RTTs in milliseconds, NaN when nothing came back. */
export interface PingResult {
  transmitted: number;
  received: number;
  lossPct: number;
  min: number;
  avg: number;
  max: number;
  rtts: number[];
}

/** PingOptions: count (default 3), interval in seconds (default 0.2; below 0.2 needs root),
 * payload size in bytes (-s), and dontFragment (-M do: a packet larger than the path MTU fails
 * locally instead of being fragmented, so a reply proves the MTU carried it whole). */
export interface PingOptions {
  count?: number;
  interval?: number;
  size?: number;
  dontFragment?: boolean;
}

/** ping runs `ping -c COUNT -i INTERVAL -W 1 DST` in ns; it reports loss instead of throwing. */
export async function ping(ns: Namespace, dst: string, opts: PingOptions = {}): Promise<PingResult> {
  const count = opts.count ?? 3;
  const interval = opts.interval ?? 0.2;
  const argv = ['ping', '-n', '-c', String(count), '-i', String(interval), '-W', '1'];
  if (opts.size !== undefined) argv.push('-s', String(opts.size));
  if (opts.dontFragment) argv.push('-M', 'do');
  const r = await ns.exec([...argv, dst], {
    allowFailure: true,
    // Three times the nominal run: on a loaded machine ping's own wake-ups come late, and 1,000
    // pings at 10 ms were seen to take over 25 s.
    timeoutMs: Math.ceil(count * interval * 3000) + 15_000,
  });
  const res = parsePing(r.stdout);
  if (res.transmitted === 0) throw new Error(`ping ${dst} in ${ns.name} failed: ${r.stderr.trim() || r.stdout}`);
  return res;
}

/** waitForPing pings once a second until one reply arrives or timeoutMs passes. */
export async function waitForPing(ns: Namespace, dst: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await ping(ns, dst, { count: 1 });
    if (r.received > 0) return;
    if (Date.now() > deadline) throw new Error(`no ping reply from ${dst} in ${ns.name} within ${timeoutMs} ms`);
    await sleep(200);
  }
}

/** parsePing reads iputils ping output. */
export function parsePing(text: string): PingResult {
  const rtts = [...text.matchAll(/time[=<]([\d.]+) ms/g)].map((m) => Number(m[1]));
  const sum = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(text);
  const transmitted = Number(sum?.[1] ?? 0);
  const received = Number(sum?.[2] ?? 0);
  const loss = /([\d.]+)% packet loss/.exec(text);
  const stats = /= ([\d.]+)\/([\d.]+)\/([\d.]+)\/[\d.]+ ms/.exec(text);
  return {
    transmitted,
    received,
    lossPct: loss ? Number(loss[1]) : transmitted === 0 ? 100 : (100 * (transmitted - received)) / transmitted,
    min: stats ? Number(stats[1]) : NaN,
    avg: stats ? Number(stats[2]) : NaN,
    max: stats ? Number(stats[3]) : NaN,
    rtts,
  };
}

/** percentile returns the p-th percentile (0..100, nearest rank) of values, NaN if empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] ?? NaN;
}
