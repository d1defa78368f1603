// One shard of the coordinator bench's simulated agents (agent-shards.ts): a worker thread that
// holds its share of the agents' watch streams and maps, and answers the main thread's
// questions about them. A real fleet checks its maps on as many CPUs as it has systems; the
// bench's agents share this machine's, and split over threads they also split the heap, whose
// size every young-generation collection pays for (a scavenge took about 11 ms with almost
// nothing to copy at the 2.7 GiB that 10,000 agents hold in one heap: docs/coordinator.md).
import { parentPort } from 'node:worker_threads';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { SimAgent } from '../../coordinator/src/testing/agent-sim.js';
import type { SimMap, Taken } from '../../coordinator/src/testing/sim-map.js';
import { clock, openWatches, verifySample, type Watcher, type WatchSet } from './coordinator-watch.js';
import { startAgentsProfile } from './agents-profile.js';
import type { AgentInit, JoinCount, PushPart, ShardReply, ShardRequest, ShardStatus } from './agent-shards.js';

const port = parentPort;
if (port === null) throw new Error('agent-shard.js runs as a worker thread (agent-shards.ts)');

const set: WatchSet = {
  watchers: [],
  lastEventAt: 0,
  refetched: 0,
  reached: 0,
  taking: { events: 0, timedEvents: 0, cpuUs: 0 },
  timeTakes: false,
};
let stopProfile: (() => string | null) | null = null;
let join: JoinTracker | null = null;

/** collectGarbage runs a full collection of this thread's heap. Opening 10,000 watch streams
 * leaves the garbage of their full maps in the agents' heaps (a peak of 2.2 GiB of resident
 * memory), which a helper, holding one map, never has. Left there, V8 may collect it during the
 * measured change: with --trace-gc, a full collection in each agent thread amid the change
 * (about 170 ms each, marking included), and the agents' heaps after a run ranged from 0.6 to
 * 1.8 GiB. The bench collects it before each measured phase, so each starts from the heap a
 * settled fleet would have. V8 exposes gc() to a context made after --expose-gc is set. */
const collectGarbage: () => void = (() => {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

/** agentOf rebuilds an enrolled agent from what the main thread sent. */
function agentOf(a: AgentInit): SimAgent {
  const agent = new SimAgent(a.url, { keys: a.keys });
  agent.systemId = a.systemId;
  agent.identity = a.identity;
  agent.coordinatorPublicKey = a.coordinatorPublicKey;
  return agent;
}

function status(): ShardStatus {
  return {
    without: set.watchers.filter((w) => w.latest === 0).length,
    lastEventAt: set.lastEventAt,
    reached: set.reached,
    refetched: set.refetched,
    taking: { ...set.taking },
  };
}

/** target sets the version the change made; a map of it may have arrived before its number. */
function target(version: number): void {
  for (const w of set.watchers) {
    w.target = version;
    if (w.latest >= version && w.reachedAt === null) {
      w.reachedAt = w.lastAt;
      w.taken = w.last;
      w.takenCpuUs = w.lastCpuUs;
      set.reached++;
    }
  }
}

/** pushPart is this shard's share of the change's figures (coordinator.ts summarize). */
function pushPart(mapVersion: number): PushPart {
  const got = set.watchers.filter((w) => w.reachedAt !== null);
  const taken = got.map((w) => w.taken).filter((t): t is Taken => t !== null);
  const timed = got.filter((w) => w.timed).map((w) => w.takenCpuUs);
  return {
    reachedAt: got.map((w) => w.reachedAt!),
    fullBytes: set.watchers.map((w) => w.taken?.fullBytes ?? 0),
    sent: taken.reduce((a, t) => a + t.bytes, 0),
    full: taken.reduce((a, t) => a + t.fullBytes, 0),
    deltas: taken.filter((t) => t.delta).length,
    timedCpuUs: timed,
    verified: verifySample(set.watchers, mapVersion),
  };
}

/** JoinTracker watches for one system joining: which of its peers' watchers list it, when. */
class JoinTracker {
  private identity = '';
  private peers = new Set<Watcher>();
  private readonly have = new Set<Watcher>();
  private readonly pending: { w: Watcher; text: string; t: Taken; at: number }[] = [];
  private readonly count: JoinCount = { peers: 0, have: 0, lastAt: 0, sent: 0, full: 0, deltas: 0 };

  constructor(watchers: Watcher[]) {
    for (const w of watchers) w.onMap = (map, t) => this.seen(w, map, t, clock());
  }

  /** known: the joiner's identity, and the identities of its peers (any shard's). */
  known(identity: string, peers: string[]): void {
    this.identity = identity;
    const mine = new Set(peers);
    this.peers = new Set(set.watchers.filter((w) => mine.has(w.agent.identity)));
    this.count.peers = this.peers.size;
    const listed = `"identity":${JSON.stringify(identity)}`;
    for (const p of this.pending.splice(0))
      if (!this.have.has(p.w) && this.peers.has(p.w) && p.text.includes(listed)) this.got(p.w, p.t, p.at);
  }

  private seen(w: Watcher, map: SimMap, t: Taken, at: number): void {
    if (this.have.has(w)) return;
    // Before the joiner's identity is known, the map's text as it was is kept to be read then.
    if (this.identity === '') this.pending.push({ w, text: map.text, t, at });
    else if (this.peers.has(w) && map.lists(this.identity)) this.got(w, t, at);
  }

  private got(w: Watcher, t: Taken, at: number): void {
    this.have.add(w);
    const c = this.count;
    c.have++;
    c.lastAt = Math.max(c.lastAt, at);
    c.sent += t.bytes;
    c.full += t.fullBytes;
    if (t.delta) c.deltas++;
  }

  result(): JoinCount {
    return { ...this.count };
  }

  end(): void {
    for (const w of set.watchers) w.onMap = null;
  }
}

async function handle(req: ShardRequest): Promise<unknown> {
  switch (req.op) {
    case 'open':
      set.timeTakes = req.timeTakes;
      await openWatches(set, req.agents.map(agentOf), () => {});
      return null;
    case 'status':
      return status();
    case 'verifying':
      for (const w of set.watchers) w.verifying = true;
      return null;
    case 'target':
      target(req.version);
      return set.reached;
    case 'reached':
      return set.reached;
    case 'push':
      return pushPart(req.mapVersion);
    case 'join-arm':
      join = new JoinTracker(set.watchers);
      return null;
    case 'join-known':
      join?.known(req.identity, req.peers);
      return join?.result() ?? null;
    case 'join-count':
      return join?.result() ?? null;
    case 'join-end':
      join?.end();
      join = null;
      return null;
    case 'collect':
      collectGarbage();
      return null;
    case 'memory': {
      const h = getHeapStatistics();
      return { heapUsed: h.used_heap_size, heapTotal: h.total_heap_size };
    }
    case 'profile-start':
      stopProfile = startAgentsProfile(req.phase);
      return null;
    case 'profile-stop': {
      const out = stopProfile?.() ?? null;
      stopProfile = null;
      return out;
    }
    case 'close':
      for (const w of set.watchers) w.handle?.close();
      return null;
  }
}

port.on('message', (req: ShardRequest) => {
  handle(req).then(
    (value) => port.postMessage({ id: req.id, value } satisfies ShardReply),
    (e: unknown) => port.postMessage({ id: req.id, error: (e as Error).message ?? String(e) } satisfies ShardReply),
  );
});
