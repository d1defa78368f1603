// The benchmark's table and JSON report. Targets: Warren's TCP throughput at least 3x
// wireguard-go's and at least a quarter of the raw veth's in the same run, and its ping RTT
// (p50 and p99) at most 1.1x wireguard-go's.
import type { Impl } from './options.js';
import type { Measurement } from './measure.js';
import { EXIT_IMPLS, type ExitResult } from './exit.js';
import { PROXY_PATHS, type ProxyResult } from './proxy.js';

export const TARGETS = { throughput: 3.0, ofVeth: 0.25, rtt: 1.1, policyCost: 0.05 } as const;

/** Ratios compare warren to wg-go; null when either is missing. */
export interface Ratios {
  throughput: number;
  throughputP4: number | null;
  rttAvg: number;
  rttP50: number;
  rttP99: number;
  /** rttP99Settled compares the p99s without the first second of pings (for information; the
   * target is judged on rttP99), null when either lacks one. */
  rttP99Settled: number | null;
  throughputMet: boolean;
  /** ofVeth is Warren's throughput over the raw veth's in the same run (null without one). */
  ofVeth: number | null;
  rttMet: boolean;
  /** policyCost is 1 - (policy-mode throughput / allow-all throughput), when both ran. */
  policyCost: number | null;
}

/** ratios computes warren/wg-go when both were measured. */
export function ratios(r: Partial<Record<Impl, Measurement>>, raw?: Measurement): Ratios | null {
  const w = r.warren;
  const g = r['wg-go'];
  if (!w || !g) return null;
  const throughput = w.throughputMbps / g.throughputMbps;
  const rttAvg = w.rttAvgMs / g.rttAvgMs;
  return {
    throughput,
    throughputP4:
      w.throughputP4Mbps !== null && g.throughputP4Mbps !== null ? w.throughputP4Mbps / g.throughputP4Mbps : null,
    rttAvg,
    rttP50: w.rttP50Ms / g.rttP50Ms,
    rttP99: w.rttP99Ms / g.rttP99Ms,
    rttP99Settled:
      w.rttP99SettledMs !== null && g.rttP99SettledMs !== null ? w.rttP99SettledMs / g.rttP99SettledMs : null,
    throughputMet: throughput >= TARGETS.throughput,
    ofVeth: raw && raw.throughputMbps > 0 ? w.throughputMbps / raw.throughputMbps : null,
    rttMet: w.rttP50Ms / g.rttP50Ms <= TARGETS.rtt && w.rttP99Ms / g.rttP99Ms <= TARGETS.rtt,
    policyCost: r['warren-policy'] ? 1 - r['warren-policy'].throughputMbps / w.throughputMbps : null,
  };
}

function fmt(v: number | null | undefined, digits = 1): string {
  return v === null || v === undefined || Number.isNaN(v) ? '-' : v.toFixed(digits);
}

/** align pads cells into columns: the first left-aligned (names), the rest right (numbers). */
function align(rows: string[][]): string[] {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  '));
}

/** table renders the measurements as aligned text. */
export function table(rows: [string, Measurement][]): string {
  const head = [
    '',
    'Mbit/s',
    'P4 Mbit/s',
    'retrans',
    'rtt avg ms',
    'rtt p50 ms',
    'rtt p99 ms',
    'p99 settled',
    'loss %',
    'cpu s (a/b)',
    'peak RSS MiB (a/b)',
  ];
  const body = rows.map(([name, m]) => [
    m.rounds > 1 ? `${name} (${m.rounds} rounds)` : name,
    m.rounds > 1
      ? `${fmt(m.throughputMbps, 0)} [${fmt(m.throughputRangeMbps.min, 0)}-${fmt(m.throughputRangeMbps.max, 0)}]`
      : fmt(m.throughputMbps, 0),
    fmt(m.throughputP4Mbps, 0),
    String(m.retransmits),
    fmt(m.rttAvgMs, 3),
    fmt(m.rttP50Ms, 3),
    fmt(m.rttP99Ms, 3),
    fmt(m.rttP99SettledMs, 3),
    fmt(m.pingLossPct, 1),
    m.cpuSeconds ? `${fmt(m.cpuSeconds.a, 2)}/${fmt(m.cpuSeconds.b, 2)}` : '-',
    m.peakRssKiB ? `${fmt(m.peakRssKiB.a / 1024, 1)}/${fmt(m.peakRssKiB.b / 1024, 1)}` : '-',
  ]);
  return align([head, ...body]).join('\n');
}

/** ratioLines renders the warren/wg-go ratios against their targets. */
export function ratioLines(r: Ratios): string {
  const mark = (ok: boolean): string => (ok ? 'met' : 'MISSED');
  return [
    `throughput warren/wg-go: ${fmt(r.throughput, 2)}x (target >= ${TARGETS.throughput}x: ${mark(r.throughputMet)})` +
      (r.throughputP4 !== null ? `; 4 streams ${fmt(r.throughputP4, 2)}x` : ''),
    ...(r.ofVeth !== null
      ? [
          `throughput warren/veth:  ${fmt(r.ofVeth * 100, 1)}% (target >= ${TARGETS.ofVeth * 100}%: ${mark(r.ofVeth >= TARGETS.ofVeth)})`,
        ]
      : []),
    `rtt warren/wg-go:        p50 ${fmt(r.rttP50, 2)}x, p99 ${fmt(r.rttP99, 2)}x (target <= ${TARGETS.rtt}x each: ${mark(r.rttMet)}); avg ${fmt(r.rttAvg, 2)}x` +
      (r.rttP99Settled !== null ? `; p99 after the first second ${fmt(r.rttP99Settled, 2)}x` : ''),
    ...(r.policyCost !== null
      ? [
          `policy mode cost:        ${fmt(r.policyCost * 100, 1)}% of allow-all throughput (target < ${TARGETS.policyCost * 100}%: ${mark(r.policyCost < TARGETS.policyCost)}; single runs on 2 shared cores vary by several %)`,
        ]
      : []),
  ].join('\n');
}

/** exitTable renders the exit-node runs (client → printer) and the warren/wg-go ratio. */
export function exitTable(x: ExitResult): string {
  const head = ['exit node (client → printer)', 'Mbit/s', 'retrans', 'cpu s (client/exit)'];
  const body = EXIT_IMPLS.map((impl) => {
    const m = x.results[impl];
    return m
      ? [
          impl,
          fmt(m.throughputMbps, 0),
          String(m.retransmits),
          `${fmt(m.cpuSeconds.client, 2)}/${fmt(m.cpuSeconds.exit, 2)}`,
        ]
      : [impl, 'failed', '-', '-'];
  });
  const lines = align([head, ...body]);
  lines.push(`throughput through the exit node warren/wg-go: ${x.ratio !== null ? `${fmt(x.ratio, 2)}x` : '-'}`);
  return lines.join('\n');
}

/** proxyTable renders the proxy runs (direct, egress CONNECT, ingress) and proxied/direct ratios. */
export function proxyTable(x: ProxyResult): string {
  const head = [
    'proxy path',
    'Mbit/s',
    'Mbit/s range',
    'conn/s',
    'conn p50 ms',
    'conn p99 ms',
    'conn errors',
    'helper cpu s/GiB',
    'all cpu s/GiB',
    'helper cpu s/1k conn',
  ];
  const body = PROXY_PATHS.map((p) => {
    const m = x.results[p];
    return m
      ? [
          p,
          fmt(m.throughputMbps, 0),
          `${fmt(m.throughputMinMbps, 0)}-${fmt(m.throughputMaxMbps, 0)}`,
          fmt(m.connectionsPerSec, 0),
          fmt(m.connectP50Ms, 2),
          fmt(m.connectP99Ms, 2),
          String(m.connectErrors),
          fmt(m.helperCpuSecPerGiB, 2),
          fmt(m.pathCpuSecPerGiB, 2),
          fmt(m.helperCpuSecPerKConn, 3),
        ]
      : [p, 'failed', ...head.slice(2).map(() => '-')];
  });
  const r = x.ratios;
  const range = (v: [number, number] | null): string =>
    v === null ? '' : ` (rounds ${fmt(v[0], 2)}-${fmt(v[1], 2)}x)`;
  return [
    `proxies measured in: ${x.proxyHost}; ${x.seconds} s per path and test in ${x.rounds} interleaved rounds (medians shown), ` +
      `${x.concurrency} connections in flight for conn/s`,
    ...align([head, ...body]),
    'all cpu: client, server and helper together, user and system',
    `egress/direct:  throughput ${r.egressThroughput !== null ? `${fmt(r.egressThroughput, 2)}x` : '-'}${range(r.egressThroughputRange)}, ` +
      `connection rate ${r.egressConnRate !== null ? `${fmt(r.egressConnRate, 2)}x` : '-'}`,
    `ingress/direct: throughput ${r.ingressThroughput !== null ? `${fmt(r.ingressThroughput, 2)}x` : '-'}${range(r.ingressThroughputRange)}, ` +
      `connection rate ${r.ingressConnRate !== null ? `${fmt(r.ingressConnRate, 2)}x` : '-'}`,
  ].join('\n');
}
