// The coordinator bench's simulated agents, split over worker threads (agent-shard.ts): agent i
// lives in shard i mod K. The main thread enrols them (coordinator.ts), hands each shard its
// agents, and asks the shards for what the measurements need: whether the fleet is quiet, who
// holds the new version and when, who lists a joining system. Times are on one clock for every
// thread (coordinator-watch.ts clock). WARREN_BENCH_AGENT_SHARDS sets K (default: one per CPU).
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { AgentKeys, SimAgent } from '../../coordinator/src/testing/agent-sim.js';

/** AgentInit is what a shard needs to act as an enrolled agent. */
export interface AgentInit {
  url: string;
  keys: AgentKeys;
  systemId: string;
  identity: string;
  coordinatorPublicKey: string;
}

/** ShardStatus is one shard's fleet now: its watchers without a map yet, when any of them last
 * took an event (clock), how many hold the target, and what taking events cost. */
export interface ShardStatus {
  without: number;
  lastEventAt: number;
  reached: number;
  refetched: number;
  taking: { events: number; timedEvents: number; cpuUs: number };
}

/** PushPart is one shard's share of the change: when each watcher that got it did (clock), each
 * watcher's full-map size of what it holds, the bytes the change cost, the timed takes of the
 * watchers that got it (µs, only with one shard: process.cpuUsage is the whole process's), and
 * the maps checked in full. */
export interface PushPart {
  reachedAt: number[];
  fullBytes: number[];
  sent: number;
  full: number;
  deltas: number;
  timedCpuUs: number[];
  verified: number;
}

/** JoinCount: of a joining system's peers, how many a shard watches and how many of those list
 * it, the last when (clock), and the bytes the events that brought it cost. */
export interface JoinCount {
  peers: number;
  have: number;
  lastAt: number;
  sent: number;
  full: number;
  deltas: number;
}

type Op =
  | { op: 'open'; agents: AgentInit[]; timeTakes: boolean }
  | {
      op:
        | 'status'
        | 'verifying'
        | 'reached'
        | 'join-arm'
        | 'join-count'
        | 'join-end'
        | 'memory'
        | 'collect'
        | 'profile-stop'
        | 'close';
    }
  | { op: 'profile-start'; phase: string }
  | { op: 'target'; version: number }
  | { op: 'push'; mapVersion: number }
  | { op: 'join-known'; identity: string; peers: string[] };

export type ShardRequest = Op & { id: number };
export type ShardReply = { id: number; value?: unknown; error?: string };

/** shardCount is WARREN_BENCH_AGENT_SHARDS (1 to 16), or one shard per CPU. */
export function shardCount(env = process.env.WARREN_BENCH_AGENT_SHARDS): number {
  if (env === undefined || env === '') return availableParallelism();
  const k = Number(env);
  if (!Number.isInteger(k) || k < 1 || k > 16)
    throw new Error(`WARREN_BENCH_AGENT_SHARDS must be a whole number from 1 to 16, not ${JSON.stringify(env)}`);
  return k;
}

/** Shard is one worker thread and its requests waiting for an answer. */
class Shard {
  private readonly worker = new Worker(new URL('./agent-shard.js', import.meta.url));
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private next = 0;
  /** dead is why the thread is gone, once it is: later calls fail at once rather than wait. */
  private dead: Error | null = null;

  constructor() {
    this.worker.on('message', (r: ShardReply) => {
      const w = this.waiting.get(r.id);
      this.waiting.delete(r.id);
      if (r.error !== undefined) w?.reject(new Error(`agent shard: ${r.error}`));
      else w?.resolve(r.value);
    });
    this.worker.on('error', (e) => this.failAll(e));
    this.worker.on('exit', (code) => this.failAll(new Error(`agent shard exited (${code})`)));
  }

  call<T>(op: Op): Promise<T> {
    if (this.dead !== null) return Promise.reject(this.dead);
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ ...op, id });
    });
  }

  private failAll(e: Error): void {
    this.dead ??= e;
    for (const w of this.waiting.values()) w.reject(e);
    this.waiting.clear();
  }

  async stop(): Promise<void> {
    await this.call({ op: 'close' }).catch(() => {});
    await this.worker.terminate();
  }
}

/** AgentShards holds the shards; each method asks all of them and merges the answers. */
export class AgentShards {
  private readonly shards: Shard[];

  constructor(readonly count = shardCount()) {
    this.shards = Array.from({ length: count }, () => new Shard());
  }

  private all<T>(op: Op): Promise<T[]> {
    return Promise.all(this.shards.map((s) => s.call<T>(op)));
  }

  /** open hands agent i to shard i mod K, which opens its watch stream (64 at a time a shard). */
  async open(agents: SimAgent[], progress: (s: string) => void): Promise<void> {
    progress(`opening ${agents.length} watch streams in ${this.count} agent thread(s)`);
    const init = (a: SimAgent): AgentInit => ({
      url: a.url,
      keys: a.keys,
      systemId: a.systemId,
      identity: a.identity,
      coordinatorPublicKey: a.coordinatorPublicKey,
    });
    await Promise.all(
      this.shards.map((s, k) =>
        s.call({
          op: 'open',
          agents: agents.filter((_, i) => i % this.count === k).map(init),
          timeTakes: this.count === 1,
        }),
      ),
    );
  }

  /** status merges the shards' status: counts summed, the latest event the newest. */
  async status(): Promise<ShardStatus> {
    const parts = await this.all<ShardStatus>({ op: 'status' });
    const sum = (f: (s: ShardStatus) => number): number => parts.reduce((a, s) => a + f(s), 0);
    return {
      without: sum((s) => s.without),
      lastEventAt: Math.max(...parts.map((s) => s.lastEventAt)),
      reached: sum((s) => s.reached),
      refetched: sum((s) => s.refetched),
      taking: {
        events: sum((s) => s.taking.events),
        timedEvents: sum((s) => s.taking.timedEvents),
        cpuUs: sum((s) => s.taking.cpuUs),
      },
    };
  }

  async verifying(): Promise<void> {
    await this.all({ op: 'verifying' });
  }

  /** target sets the version every watcher waits for; it returns how many already hold it. */
  async target(version: number): Promise<number> {
    return (await this.all<number>({ op: 'target', version })).reduce((a, b) => a + b, 0);
  }

  async reached(): Promise<number> {
    return (await this.all<number>({ op: 'reached' })).reduce((a, b) => a + b, 0);
  }

  push(mapVersion: number): Promise<PushPart[]> {
    return this.all<PushPart>({ op: 'push', mapVersion });
  }

  /** joinArm starts recording, in every shard, the maps that arrive until the joiner is known. */
  async joinArm(): Promise<void> {
    await this.all({ op: 'join-arm' });
  }

  async joinKnown(identity: string, peers: string[]): Promise<JoinCount> {
    return mergeJoin(await this.all<JoinCount>({ op: 'join-known', identity, peers }));
  }

  async joinCount(): Promise<JoinCount> {
    return mergeJoin(await this.all<JoinCount>({ op: 'join-count' }));
  }

  async joinEnd(): Promise<void> {
    await this.all({ op: 'join-end' });
  }

  /** heap is the agents' threads' V8 heaps together: used and reserved bytes. */
  async heap(): Promise<{ heapUsed: number; heapTotal: number }> {
    const parts = await this.all<{ heapUsed: number; heapTotal: number }>({ op: 'memory' });
    return {
      heapUsed: parts.reduce((a, p) => a + p.heapUsed, 0),
      heapTotal: parts.reduce((a, p) => a + p.heapTotal, 0),
    };
  }

  /** collect runs a full garbage collection in every thread and waits for them (agent-shard.ts
   * collectGarbage). */
  async collect(): Promise<void> {
    await this.all({ op: 'collect' });
  }

  /** profileStart starts each thread's profile of phase (agents-profile.ts), if profiling. */
  async profileStart(phase: string): Promise<void> {
    await this.all({ op: 'profile-start', phase });
  }

  /** profileStop returns the profiles written (agents-profile.ts), if profiling. */
  async profileStop(): Promise<string[]> {
    return (await this.all<string | null>({ op: 'profile-stop' })).filter((p): p is string => p !== null);
  }

  async stop(): Promise<void> {
    await Promise.all(this.shards.map((s) => s.stop()));
  }
}

function mergeJoin(parts: JoinCount[]): JoinCount {
  const sum = (f: (c: JoinCount) => number): number => parts.reduce((a, c) => a + f(c), 0);
  return {
    peers: sum((c) => c.peers),
    have: sum((c) => c.have),
    lastAt: Math.max(0, ...parts.map((c) => c.lastAt)),
    sent: sum((c) => c.sent),
    full: sum((c) => c.full),
    deltas: sum((c) => c.deltas),
  };
}
