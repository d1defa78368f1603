// Loop statistics, a diagnostic for the packet path's tail latency: with WARREN_LOOP_STATS=N the
// helper writes, every N seconds, how late its event loop was (perf_hooks
// monitorEventLoopDelay: a 1 ms timer's lateness, so any callback, timer, sweep or pause that held
// the JS thread shows up in it) and the garbage collections V8 ran meanwhile, with their
// longest pause, and how long the JS thread ran and waited for a core meanwhile (Linux
// /proc/thread-self/schedstat: on a shared machine a late loop is often a thread that was ready
// but not running, which no change to the helper can fix). Every packet is handled on that thread, so a stall there is added to the
// round trip of every packet that arrives during it. Off unless asked for: the 1 ms timer is
// itself a wake-up per millisecond.
import { monitorEventLoopDelay, PerformanceObserver, type IntervalHistogram } from 'node:perf_hooks';
import { constants } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';

/** MAX_PERIOD_S bounds the period so that a typo cannot silence the report for days. */
const MAX_PERIOD_S = 3600;

/** loopStatsPeriodOf reads WARREN_LOOP_STATS: a whole number of seconds 1..3600, else off (null). */
export function loopStatsPeriodOf(env: NodeJS.ProcessEnv): number | null {
  const v = env.WARREN_LOOP_STATS;
  if (v === undefined || !/^\d{1,4}$/.test(v)) return null;
  const n = Number(v);
  return n >= 1 && n <= MAX_PERIOD_S ? n : null;
}

/** GcTally is what the collections of one period added up to. */
interface GcTally {
  minor: number;
  major: number;
  other: number;
  totalMs: number;
  maxMs: number;
  /** over1ms counts collections that paused longer than 1 ms. */
  over1ms: number;
}

const emptyTally = (): GcTally => ({ minor: 0, major: 0, other: 0, totalMs: 0, maxMs: 0, over1ms: 0 });

/** tallyGc adds one collection of kind (perf_hooks NODE_PERFORMANCE_GC_*) lasting ms to t. */
export function tallyGc(t: GcTally, kind: number | undefined, ms: number): void {
  if (kind === constants.NODE_PERFORMANCE_GC_MINOR) t.minor++;
  else if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) t.major++;
  else t.other++;
  t.totalMs += ms;
  if (ms > t.maxMs) t.maxMs = ms;
  if (ms > 1) t.over1ms++;
}

/** SchedStat is a thread's time on a core and waiting for one, in ns (sched-stats.rst). */
export interface SchedStat {
  runNs: number;
  waitNs: number;
}

/** parseSchedStat reads schedstat's first two fields; null for anything else. */
export function parseSchedStat(text: string): SchedStat | null {
  const m = /^(\d{1,20}) (\d{1,20}) \d{1,20}\n?$/.exec(text);
  return m ? { runNs: Number(m[1]), waitNs: Number(m[2]) } : null;
}

/** threadSchedStat is the calling thread's SchedStat, null where the kernel has none. */
function threadSchedStat(): SchedStat | null {
  try {
    return parseSchedStat(readFileSync('/proc/thread-self/schedstat', 'utf8'));
  } catch {
    return null;
  }
}

/** schedPart is the report's "ran / waited" part for the period from before to after. */
function schedPart(before: SchedStat | null, after: SchedStat | null): string {
  if (before === null || after === null) return '';
  const ms = (ns: number): string => (ns / 1e6).toFixed(1);
  return `; JS thread ran ${ms(after.runNs - before.runNs)} ms, waited for a core ${ms(after.waitNs - before.waitNs)} ms`;
}

/** formatLoopStats is one report line: the loop delay's percentiles beyond the 1 ms timer
 * period and the collections of the period. */
export function formatLoopStats(h: Pick<IntervalHistogram, 'percentile' | 'max' | 'count'>, gc: GcTally): string {
  // The histogram holds nanoseconds of each 1 ms timer's total wait, the period included.
  const late = (ns: number): string => Math.max(0, ns / 1e6 - 1).toFixed(3);
  return (
    `loop-stats: delay ms p50 ${late(h.percentile(50))} p99 ${late(h.percentile(99))} ` +
    `p99.9 ${late(h.percentile(99.9))} max ${late(h.max)} (${h.count} samples); ` +
    `gc ${gc.minor} minor ${gc.major} major ${gc.other} other, ${gc.totalMs.toFixed(2)} ms in all, ` +
    `longest ${gc.maxMs.toFixed(2)} ms, ${gc.over1ms} over 1 ms`
  );
}

/** LoopReport carries one period's figures from startLoopStats' timer. */
interface LoopReport {
  gc: GcTally;
  sched: SchedStat | null;
}

/** startLoopStats starts the diagnostic when env asks for it and returns its stop function. */
export function startLoopStats(env: NodeJS.ProcessEnv, write: (line: string) => void): () => void {
  const period = loopStatsPeriodOf(env);
  if (period === null) return () => {};
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  const r: LoopReport = { gc: emptyTally(), sched: threadSchedStat() };
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) tallyGc(r.gc, (e as { detail?: { kind?: number } }).detail?.kind, e.duration);
  });
  obs.observe({ entryTypes: ['gc'] });
  const timer = setInterval(() => {
    const sched = threadSchedStat();
    write(formatLoopStats(h, r.gc) + schedPart(r.sched, sched) + '\n');
    h.reset();
    r.gc = emptyTally();
    r.sched = sched;
  }, period * 1000);
  timer.unref();
  return () => {
    clearInterval(timer);
    obs.disconnect();
    h.disable();
  };
}
