// The coordinator bench's watch streams (coordinator.ts): one per simulated agent, asking for
// map deltas and applying them as a helper does (coordinator/src/testing/sim-map.ts); each
// records when the version a measurement waits for arrived and what that event cost.
import { CONTROL_PATHS } from '../../src-shared/wire/control.js';
import type { SimAgent, WatchHandle } from '../../coordinator/src/testing/agent-sim.js';
import { SimMap, type Taken } from '../../coordinator/src/testing/sim-map.js';

/** pool runs fn over items, concurrency at a time. */
export async function pool<T>(
  items: T[],
  concurrency: number,
  fn: (item: T, i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i]!, i);
      }
    }),
  );
}

/** percentile is the p-th percentile of sorted values (nearest rank), NaN for none. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** targetCpu is what taking the new version cost each watcher that got it (CPU, µs). */
export function targetCpu(watchers: Watcher[]): { p50Us: number; p99Us: number; sumSeconds: number } {
  const us = watchers
    .filter((w) => w.reachedAt !== null)
    .map((w) => w.takenCpuUs)
    .sort((a, b) => a - b);
  return { p50Us: percentile(us, 50), p99Us: percentile(us, 99), sumSeconds: us.reduce((a, b) => a + b, 0) / 1e6 };
}

/** Watcher tracks one agent's stream: the newest map it holds and when the target arrived. */
export interface Watcher {
  agent: SimAgent;
  handle: WatchHandle | null;
  /** latest is the highest map version that arrived on the stream. */
  latest: number;
  /** reachedAt is when a map of at least target arrived (performance.now()). */
  reachedAt: number | null;
  target: number;
  /** map is what the agent holds, kept from map and delta events; verifying: check signatures. */
  map: SimMap;
  verifying: boolean;
  /** taken is the event that brought the target version. */
  taken: Taken | null;
  /** last is the newest event that brought a map, and lastAt when it arrived: a map may arrive
   * before the measurement knows its version (the PUT's answer comes later). */
  last: Taken | null;
  lastAt: number;
  /** lastCpuUs is what taking last cost (CPU, µs); takenCpuUs what taking the target cost. */
  lastCpuUs: number;
  takenCpuUs: number;
  /** onMap, when set, sees the map text after every event that changed it (the join). */
  onMap: ((text: string, t: Taken) => void) | null;
}

/** WatchSet is every agent's watcher and when a map last arrived on any of them; it outlives
 * the phases that fill it so the cleanup can close every stream that was opened. */
export interface WatchSet {
  watchers: Watcher[];
  lastEventAt: number;
  refetched: number;
  /** reached: the watchers that have the version their target asks for. */
  reached: number;
  /** taking: the map and delta events the agents took and the CPU (µs, the process's) it cost
   * them, from reading the event's data to holding the checked map. */
  taking: { events: number; cpuUs: number };
}

/** openWatches opens every agent's watch stream into set, 64 at a time, asking for deltas;
 * each map or delta event updates the agent's map and, once the target is set and met, records
 * when it arrived. */
export async function openWatches(set: WatchSet, agents: SimAgent[], progress: (s: string) => void): Promise<void> {
  progress(`opening ${agents.length} watch streams`);
  set.lastEventAt = performance.now();
  for (const agent of agents) {
    const w: Watcher = {
      agent,
      handle: null,
      latest: 0,
      reachedAt: null,
      target: Infinity,
      map: new SimMap(agent),
      verifying: false,
      taken: null,
      last: null,
      lastAt: 0,
      lastCpuUs: 0,
      takenCpuUs: 0,
      onMap: null,
    };
    set.watchers.push(w);
  }
  await pool(set.watchers, 64, async (w) => {
    w.handle = await w.agent.watch((event, data) => onEvent(set, w, event, data), undefined, {
      deltas: true,
      batch: true,
    });
  });
}

// onEvent: a map the agent checks as a helper does (signature once measuring, recipient, and
// for a delta the digest of the result) counts when its version reaches the target.
function onEvent(set: WatchSet, w: Watcher, event: string, data: string): void {
  const refused = w.map.refused;
  // The take's time on the agents' one thread, not process.cpuUsage: that is a getrusage call
  // (two an event cost about a tenth of the agents' CPU over the change at 3,000). The take is
  // synchronous, so this is its CPU unless the kernel ran another process meanwhile.
  const started = performance.now();
  const t = w.map.take(event, data, w.verifying);
  const now = performance.now();
  const spentUs = (now - started) * 1000;
  set.taking.events++;
  set.taking.cpuUs += spentUs;
  if (w.map.refused > refused) refetch(set, w);
  if (t === null) return;
  set.lastEventAt = now;
  w.last = t;
  w.lastAt = now;
  w.lastCpuUs = spentUs;
  w.latest = Math.max(w.latest, t.version);
  w.onMap?.(w.map.text, t);
  if (t.version >= w.target && w.reachedAt === null) {
    w.reachedAt = now;
    w.taken = t;
    w.takenCpuUs = w.lastCpuUs;
    set.reached++;
  }
}

/** refetch takes the full map after a delta that did not fit, as a helper does. */
function refetch(set: WatchSet, w: Watcher): void {
  set.refetched++;
  void w.agent.signed('GET', CONTROL_PATHS.map).then((r) => {
    if (r.status === 200) onEvent(set, w, 'map', `{"map":${r.body.toString('utf8')}}`);
  });
}
