// The coordinator bench's watch streams (coordinator.ts): one per simulated agent, asking for
// map deltas and applying them as a helper does (coordinator/src/testing/sim-map.ts); each
// records when the version a measurement waits for arrived and what that event cost. They run
// in the agents' worker threads (agent-shard.ts).
import { CONTROL_PATHS, type NetworkMap } from '../../src-shared/wire/control.js';
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

/** TIMED_EVERY: one watcher in this many has its takes timed (CPU, process.cpuUsage). A
 * getrusage call each side of every take cost 7 to 11% of the agents' process over the change
 * (profiled at 3,000 and 10,000); the performance clock is cheap but counts the time another
 * process ran meanwhile, which on a loaded machine is most of it. */
export const TIMED_EVERY = 8;

/** clock is milliseconds on one time line for every thread of the process (the epoch plus the
 * thread's monotonic clock): the agents' threads stamp arrivals, the main thread the change. */
export function clock(): number {
  return performance.timeOrigin + performance.now();
}

/** targetCpu is what taking the new version cost each timed watcher that got it (CPU, µs: the
 * median and 99th percentile of timedUs, and their sum scaled to the got watchers that got it). */
export function targetCpu(timedUs: number[], got: number): { p50Us: number; p99Us: number; sumSeconds: number } {
  const us = [...timedUs].sort((a, b) => a - b);
  const sum = us.reduce((a, b) => a + b, 0) * (us.length === 0 ? 0 : got / us.length);
  return { p50Us: percentile(us, 50), p99Us: percentile(us, 99), sumSeconds: sum / 1e6 };
}

/** takingCpuSeconds is the CPU taking events cost, scaled from the timed watchers' events. */
export function takingCpuSeconds(taking: WatchSet['taking']): number {
  return taking.timedEvents === 0 ? 0 : (taking.cpuUs * taking.events) / taking.timedEvents / 1e6;
}

/** Watcher tracks one agent's stream: the newest map it holds and when the target arrived. */
export interface Watcher {
  agent: SimAgent;
  handle: WatchHandle | null;
  /** latest is the highest map version that arrived on the stream. */
  latest: number;
  /** reachedAt is when a map of at least target arrived (clock()). */
  reachedAt: number | null;
  target: number;
  /** map is what the agent holds, kept from map and delta events; verifying: check signatures. */
  map: SimMap;
  verifying: boolean;
  /** timed: this watcher's takes are timed (TIMED_EVERY). */
  timed: boolean;
  /** taken is the event that brought the target version. */
  taken: Taken | null;
  /** last is the newest event that brought a map, and lastAt when it arrived: a map may arrive
   * before the measurement knows its version (the PUT's answer comes later). */
  last: Taken | null;
  lastAt: number;
  /** lastCpuUs is what taking last cost (CPU, µs); takenCpuUs what taking the target cost. */
  lastCpuUs: number;
  takenCpuUs: number;
  /** onMap, when set, sees the map after every event that changed it (the join). */
  onMap: ((map: SimMap, t: Taken) => void) | null;
}

/** WatchSet is every agent's watcher and when a map last arrived on any of them; it outlives
 * the phases that fill it so the cleanup can close every stream that was opened. */
export interface WatchSet {
  watchers: Watcher[];
  lastEventAt: number;
  refetched: number;
  /** reached: the watchers that have the version their target asks for. */
  reached: number;
  /** taking: the map and delta events the agents took, and of them the timed watchers' events
   * and the CPU (µs, the process's) they cost, from reading the event's data to holding the
   * checked map. */
  taking: { events: number; timedEvents: number; cpuUs: number };
  /** timeTakes: time one watcher's takes in TIMED_EVERY; only where this thread is the only one
   * taking events, since process.cpuUsage counts every thread of the process. */
  timeTakes: boolean;
}

/** openWatches opens every agent's watch stream into set, 64 at a time, asking for deltas;
 * each map or delta event updates the agent's map and, once the target is set and met, records
 * when it arrived. */
export async function openWatches(set: WatchSet, agents: SimAgent[], progress: (s: string) => void): Promise<void> {
  progress(`opening ${agents.length} watch streams`);
  set.lastEventAt = clock();
  for (const agent of agents) {
    const timed = set.timeTakes && set.watchers.length % TIMED_EVERY === 0;
    const w: Watcher = {
      agent,
      handle: null,
      latest: 0,
      reachedAt: null,
      target: Infinity,
      map: new SimMap(agent),
      verifying: false,
      timed,
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
  const cpu = w.timed ? process.cpuUsage() : null;
  const t = w.map.take(event, data, w.verifying);
  let spentUs = 0;
  if (cpu !== null) {
    const spent = process.cpuUsage(cpu);
    spentUs = spent.user + spent.system;
    set.taking.timedEvents++;
    set.taking.cpuUs += spentUs;
  }
  set.taking.events++;
  if (w.map.refused > refused) refetch(set, w);
  if (t === null) return;
  const now = clock();
  set.lastEventAt = now;
  w.last = t;
  w.lastAt = now;
  w.lastCpuUs = spentUs;
  w.latest = Math.max(w.latest, t.version);
  w.onMap?.(w.map, t);
  if (t.version >= w.target && w.reachedAt === null) {
    w.reachedAt = now;
    w.taken = t;
    w.takenCpuUs = w.lastCpuUs;
    set.reached++;
  }
}

/** verifySample checks about 50 of the new maps in full (signature, recipient, and the change
 * itself) and returns how many it checked. */
export function verifySample(watchers: Watcher[], mapVersion: number): number {
  let verified = 0;
  for (let i = 0; i < watchers.length; i += Math.max(1, Math.floor(watchers.length / 50))) {
    const w = watchers[i]!;
    if (w.reachedAt === null) continue;
    const map = JSON.parse(w.map.text) as NetworkMap;
    if (map.version < mapVersion) throw new Error(`watcher ${i} holds version ${map.version}`);
    if (!JSON.stringify(map.policies).includes('8080') && !JSON.stringify(map.policies).includes('8443')) {
      throw new Error(`watcher ${i}'s new map does not carry the new policy`);
    }
    verified++;
  }
  return verified;
}

/** refetch takes the full map after a delta that did not fit, as a helper does. */
function refetch(set: WatchSet, w: Watcher): void {
  set.refetched++;
  void w.agent.signed('GET', CONTROL_PATHS.map).then((r) => {
    if (r.status === 200) onEvent(set, w, 'map', `{"map":${r.body.toString('utf8')}}`);
  });
}
