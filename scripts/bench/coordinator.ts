// Coordinator bench: a real warren-coordinator process with N simulated agents (real
// HTTP, real signed requests and watch streams, no helpers), and the time from applying a new
// policy file until every watcher holds a verified map of that version (target: p99 under 1 s),
// how long the fleet took to enrol (64 at a time, like a roll-out; target at 10,000: 60 s), and
// how long one more system joining takes to reach every peer's watcher. The agents ask for map
// deltas and apply them as a helper does (coordinator/src/testing/sim-map.ts), in worker threads
// of this process (agent-shards.ts); the bytes each change cost on the streams are counted
// against what full maps of the same versions would.
// With --coordinator-store postgres the fleet is split over two coordinators sharing one
// PostgreSQL database (coordinator-pg.ts): a change through one must reach the other's watchers.
//
// The fleet is shaped like an organisation rather than a full mesh: 20 teams, each with its
// developers and servers (developers reach their team's servers), and a few shared services
// every developer reaches. So most maps are small and a handful are large (a shared service
// sees every developer), and the new policy changes every system's map.
import { fleet, policy, type Member } from './coordinator-fleet.js';
import type { CoordinatorStats, CreatedKey, PolicyInfo } from '../../coordinator/src/api/admin-types.js';
import { SimAgent } from '../../coordinator/src/testing/agent-sim.js';
import { clock, percentile, pool, takingCpuSeconds, targetCpu } from './coordinator-watch.js';
import { AgentShards, shardCount, type PushPart } from './agent-shards.js';
import { timeJoin, type JoinResult } from './coordinator-join.js';
import { adminCall, type CoordinatorProcess } from '../../coordinator/src/testing/testing.js';
import { startInstances, type CoordinatorStore } from './coordinator-pg.js';
import { agentsMemoryLine, memoryLine, procStatus, type ProcStatus } from './coordinator-memory.js';
import { settle } from './coordinator-settle.js';

/** CoordinatorBenchResult is what one run measured. */
export interface CoordinatorBenchResult {
  systems: number;
  /** store: SQLite (one coordinator) or PostgreSQL (two sharing the database, the agents split
   * between them, the policy applied through the first, the join through the second). */
  store: CoordinatorStore;
  /** instances: each coordinator's memory and CPU over the change (the figures below are the
   * highest memory and the sum of CPU over them). */
  instances: InstanceFigures[];
  /** propagationMs: from sending the new policy until each watcher had the new map. */
  propagationMs: { p50: number; p99: number; max: number };
  /** received is how many watchers got the new map (all of them, when the run is good). */
  received: number;
  /** targetMs is the p99 target; targetMet says every watcher got the map and p99 was within it. */
  targetMs: number;
  targetMet: boolean;
  /** rssMiB is the coordinator's memory after the run; peakRssMiB its high-water mark. */
  rssMiB: number;
  peakRssMiB: number;
  /** heapUsedMiB is the coordinator's live JavaScript heap after the run. */
  heapUsedMiB: number;
  /** cpuSeconds the coordinator spent from the policy change until the last watcher had it;
   * agentCpuSeconds the bench's agents (this process: its agent threads) spent meanwhile;
   * agentThreads how many threads they were split over; answeredMs until the
   * policy PUT answered. */
  cpuSeconds: number;
  agentCpuSeconds: number;
  agentThreads: number;
  /** agentTake: of that, the events the agents took and the CPU taking them cost (sim-map.ts),
   * and what taking the new version alone cost each watcher (µs: median, 99th percentile, sum);
   * timed on one watcher in TIMED_EVERY (coordinator-watch.ts), the sums scaled to all, and
   * only with one agent thread (NaN and 0 otherwise: process.cpuUsage is the whole process's). */
  agentTake: { events: number; cpuSeconds: number; target: { p50Us: number; p99Us: number; sumSeconds: number } };
  answeredMs: number;
  /** serverPassMs is the coordinator's own time to recompute, sign and queue every map. */
  serverPassMs: number;
  /** serverPushMs: the coordinator's own figure (stats `push`) for the policy change, from its
   * being recorded to the last delta frame written to a watch stream (on PostgreSQL the
   * coordinator it was applied through); serverJoinMs the same for the join, at the coordinator
   * it enrolled with (to the last peer's delta written). Null when none was written. */
  serverPushMs: number | null;
  serverJoinMs: number | null;
  mapBytes: { total: number; avg: number; max: number };
  /** changeBytes: what the policy change cost on the streams (all watchers), as sent and as full
   * maps of the same versions would have; deltas how many watchers got it as a delta. */
  changeBytes: { sent: number; full: number; deltas: number };
  /** refetched: deltas that did not fit the map held (a full map was fetched instead). */
  refetched: number;
  enrolSeconds: number;
  /** verified is how many sampled maps were checked in full (signature, recipient, content). */
  verified: number;
  /** join: one more system enrolling into the settled fleet, until each of its peers' watchers
   * has a map that lists it (joinMs), and how many peers that was. */
  join: JoinResult;
}

/** InstanceFigures are one coordinator's memory after the run (and its peak), its live heap,
 * the CPU it spent on the change and its own last map pass. */
export interface InstanceFigures {
  rssMiB: number;
  peakRssMiB: number;
  heapUsedMiB: number;
  cpuSeconds: number;
  serverPassMs: number;
}

const TARGET_MS = 1000;

/** Admin calls the coordinator's admin API and throws on any answer but a success. */
type Admin = <T>(method: string, path: string, body?: unknown) => Promise<T>;

/** PushTiming is what the policy change measured: each watcher's delay, and the coordinator's
 * counters around it. */
interface PushTiming {
  /** times are the delays (ms) of the watchers that got the new map, sorted. */
  times: number[];
  mapVersion: number;
  before: ProcStatus[];
  after: ProcStatus[];
  /** answeredMs: until the policy PUT answered; benchCpu: this process's CPU ticks meanwhile
   * (the agents' own work: receiving, checking and applying the maps). */
  answeredMs: number;
  benchCpu: number;
  taking: { events: number; timedEvents: number; cpuUs: number };
  /** parts are each agent thread's figures for the change. */
  parts: PushPart[];
}

/** runCoordinatorBench runs the whole bench; progress gets one line per phase. */
export async function runCoordinatorBench(opts: {
  systems: number;
  progress: (s: string) => void;
  /** nodeArgs go to the coordinator's node, e.g. ['--cpu-prof', '--cpu-prof-dir', DIR]. */
  nodeArgs?: string[];
  /** store: 'sqlite' (the default) or 'postgres' (coordinator-pg.ts). */
  store?: CoordinatorStore;
  /** agentThreads: how many threads the agents run in (default agent-shards.ts shardCount). */
  agentThreads?: number;
}): Promise<CoordinatorBenchResult> {
  const n = opts.systems;
  // A bad WARREN_BENCH_AGENT_SHARDS stops the run before anything starts.
  const threads = opts.agentThreads ?? shardCount();
  const inst = await startInstances(opts.store ?? 'sqlite', opts.nodeArgs ?? [], opts.progress);
  const { procs } = inst;
  let shards: AgentShards | null = null;
  try {
    const sim = (shards = new AgentShards(threads));
    const admin = adminOf(procs[0]!);
    await admin('PUT', '/v1/admin/policy', policy(false));
    const members = fleet(n);
    const keys = await enrolmentKeys(admin, members);
    const urls = procs.map((p) => p.url);
    const memory = async (phase: string): Promise<void> => {
      for (const [i, p] of procs.entries()) {
        const st = await adminOf(p)<CoordinatorStats>('GET', '/v1/admin/stats');
        opts.progress(`memory ${String.fromCharCode(65 + i)} after ${phase}: ${memoryLine(p.pid, st)}`);
      }
      opts.progress(`memory of the agents after ${phase}: ${agentsMemoryLine(await sim.heap())}`);
    };
    const { agents, enrolSeconds } = await enrol(urls, members, keys, opts.progress);
    await memory('enrolment');
    await sim.open(agents, opts.progress);
    await memory('opening the watches');
    const instances = procs.map((p) => ({
      stats: () => adminOf(p)<CoordinatorStats>('GET', '/v1/admin/stats'),
      pid: p.pid,
    }));
    await settle(sim, instances, opts.progress);
    await memory('settling');
    await collectAgents(sim, opts.progress);
    const pids = procs.map((p) => p.pid);
    const push = await timePolicyPush(sim, n, admin, pids, opts.progress);
    const stats = await Promise.all(procs.map((p) => adminOf(p)<CoordinatorStats>('GET', '/v1/admin/stats')));
    await memory('the policy change');
    await collectAgents(sim, opts.progress);
    const join = await timeJoin(urls.at(-1)!, keys.get('t0-dev')!, sim, opts.progress);
    const joinStats = await adminOf(procs.at(-1)!)<CoordinatorStats>('GET', '/v1/admin/stats');
    await memory('the join');
    return {
      ...summarize(n, push, stats, { enrolSeconds, agentThreads: sim.count }),
      serverJoinMs: joinStats.push.lastWriteMs,
      store: inst.store,
      refetched: (await sim.status()).refetched,
      join,
    };
  } finally {
    await shards?.stop();
    await inst.stop();
  }
}

/** adminOf is the admin API of the coordinator process. */
function adminOf(proc: CoordinatorProcess): Admin {
  return async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const r = await adminCall<T>(proc.url, proc.adminToken, method, path, body);
    if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
}

/** enrolmentKeys creates one key per tag, with as many uses as the fleet has members of it. */
async function enrolmentKeys(admin: Admin, members: Member[]): Promise<Map<string, string>> {
  const keys = new Map<string, string>();
  for (const tag of new Set(members.map((m) => m.tag))) {
    // One more t0-dev use: the system that joins the settled fleet (coordinator-join.ts).
    const count = members.filter((m) => m.tag === tag).length + (tag === 't0-dev' ? 1 : 0);
    const k = await admin<CreatedKey>('POST', '/v1/admin/keys', {
      tags: [tag],
      approval: 'automatic',
      uses: count,
      expiresInMs: 3_600_000,
      ephemeral: false,
    });
    keys.set(tag, k.key);
  }
  return keys;
}

/** enrol enrols one simulated agent per member, 64 at a time (a roll-out's bounded concurrency),
 * member i with coordinator i mod the number of them (and watching it), and times it. */
async function enrol(
  urls: string[],
  members: Member[],
  keys: Map<string, string>,
  progress: (s: string) => void,
): Promise<{ agents: SimAgent[]; enrolSeconds: number }> {
  const n = members.length;
  progress(`enrolling ${n} simulated systems`);
  const enrolStart = performance.now();
  const agents: SimAgent[] = new Array(n);
  let done = 0;
  await pool(members, 64, async (m, i) => {
    const a = new SimAgent(urls[i % urls.length]!);
    await a.enrol(keys.get(m.tag)!, m.hostname, [`10.${(i >> 8) & 255}.${i & 255}.${(i % 250) + 1}:51820`]);
    agents[i] = a;
    // A line a thousand, so a run stopped by an unanswered enrolment shows how far it got.
    if (++done % 1000 === 0 && done < n)
      progress(`${done} enrolled after ${((performance.now() - enrolStart) / 1000).toFixed(1)} s`);
  });
  const enrolSeconds = (performance.now() - enrolStart) / 1000;
  progress(`enrolled in ${enrolSeconds.toFixed(1)} s`);
  return { agents, enrolSeconds };
}

/** collectAgents collects the agents' threads' garbage before a measured phase (agent-shard.ts
 * collectGarbage says why). */
async function collectAgents(sim: AgentShards, progress: (s: string) => void): Promise<void> {
  const t0 = clock();
  await sim.collect();
  progress(
    `collected the agents' garbage in ${((clock() - t0) / 1000).toFixed(1)} s: ${agentsMemoryLine(await sim.heap())}`,
  );
}

/** timePolicyPush applies the new policy file and waits (up to 30 s) until every watcher holds
 * a map of the version it made, reading the coordinator's counters before and after. */
async function timePolicyPush(
  shards: AgentShards,
  n: number,
  admin: Admin,
  pids: number[],
  progress: (s: string) => void,
): Promise<PushTiming> {
  progress('applying a new policy file and timing the push to every watcher');
  await shards.verifying();
  const before = pids.map(procStatus);
  const benchBefore = procStatus(process.pid).cpuTicks;
  const takingBefore = (await shards.status()).taking;
  if (process.env.WARREN_BENCH_AGENTS_PROFILE) await shards.profileStart('change');
  const t0 = clock();
  const applied = await admin<PolicyInfo>('PUT', '/v1/admin/policy', policy(true));
  const answeredMs = clock() - t0;
  // A map of this version may already have arrived (verified) before the answer did.
  let reached = await shards.target(applied.mapVersion);
  const deadline = t0 + 30_000;
  while (reached < n && clock() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    reached = await shards.reached();
  }
  const after = pids.map(procStatus);
  const benchCpu = procStatus(process.pid).cpuTicks - benchBefore;
  const profiles = await shards.profileStop();
  if (profiles.length > 0) progress(`the agents' CPU profiles over the change: ${profiles.join(', ')}`);
  const now = (await shards.status()).taking;
  const taking = {
    events: now.events - takingBefore.events,
    timedEvents: now.timedEvents - takingBefore.timedEvents,
    cpuUs: now.cpuUs - takingBefore.cpuUs,
  };
  const parts = await shards.push(applied.mapVersion);
  const times = parts
    .flatMap((p) => p.reachedAt)
    .map((at) => at - t0)
    .sort((a, b) => a - b);
  return { times, mapVersion: applied.mapVersion, before, after, answeredMs, benchCpu, taking, parts };
}

/** instanceFigures are each coordinator's figures: its memory now and at its peak, its heap
 * and last pass (stats, in the same order), and its CPU over the change. */
function instanceFigures(push: PushTiming, stats: CoordinatorStats[]): InstanceFigures[] {
  const ticks = 100; // USER_HZ on Linux
  return push.after.map((after, i) => ({
    rssMiB: after.rssKiB / 1024,
    peakRssMiB: after.hwmKiB / 1024,
    heapUsedMiB: stats[i]!.heapUsedBytes / 1024 / 1024,
    cpuSeconds: (after.cpuTicks - push.before[i]!.cpuTicks) / ticks,
    serverPassMs: stats[i]!.lastPass.ms,
  }));
}

/** summarize turns the push's timings, the coordinators' stats and the map sizes into the
 * result: memory the highest of the coordinators', CPU their sum, the pass the first one's. */
function summarize(
  n: number,
  push: PushTiming,
  stats: CoordinatorStats[],
  run: { enrolSeconds: number; agentThreads: number },
): Omit<CoordinatorBenchResult, 'join' | 'refetched' | 'store' | 'serverJoinMs'> {
  const { times, parts } = push;
  const instances = instanceFigures(push, stats);
  const most = (f: (i: InstanceFigures) => number): number => Math.max(...instances.map(f));
  const sum = (f: (p: PushPart) => number): number => parts.reduce((a, p) => a + f(p), 0);
  const bytes = parts.flatMap((p) => p.fullBytes);
  const max = times.length > 0 ? times[times.length - 1]! : NaN;
  return {
    systems: n,
    instances,
    propagationMs: { p50: percentile(times, 50), p99: percentile(times, 99), max },
    received: times.length,
    targetMs: TARGET_MS,
    targetMet: times.length === n && percentile(times, 99) <= TARGET_MS,
    rssMiB: most((i) => i.rssMiB),
    peakRssMiB: most((i) => i.peakRssMiB),
    heapUsedMiB: most((i) => i.heapUsedMiB),
    cpuSeconds: instances.reduce((a, i) => a + i.cpuSeconds, 0),
    agentCpuSeconds: push.benchCpu / 100,
    agentThreads: run.agentThreads,
    agentTake: {
      events: push.taking.events,
      cpuSeconds: takingCpuSeconds(push.taking),
      target: targetCpu(
        parts.flatMap((p) => p.timedCpuUs),
        sum((p) => p.reachedAt.length),
      ),
    },
    answeredMs: push.answeredMs,
    serverPassMs: instances[0]!.serverPassMs,
    serverPushMs: stats[0]!.push.lastWriteMs,
    mapBytes: {
      total: bytes.reduce((a, b) => a + b, 0),
      avg: bytes.reduce((a, b) => a + b, 0) / n,
      max: Math.max(...bytes),
    },
    changeBytes: { sent: sum((p) => p.sent), full: sum((p) => p.full), deltas: sum((p) => p.deltas) },
    enrolSeconds: run.enrolSeconds,
    verified: sum((p) => p.verified),
  };
}
