// One system joining a settled fleet (scripts/bench/coordinator.ts): from its enrolment request
// until every peer's watcher holds a map that lists it. Its peers are the ones its own map (in
// the enrolment answer) lists: being peers is mutual (coordinator/src/maps/netmap.ts). The
// peers' agents apply deltas and check them as a helper does (coordinator/src/testing/sim-map.ts),
// in their threads (agent-shard.ts), so the bytes the join cost are counted as sent and as full
// maps would have.
import type { NetworkMap } from '../../src-shared/wire/control.js';
import { SimAgent } from '../../coordinator/src/testing/agent-sim.js';
import type { AgentShards } from './agent-shards.js';
import { clock } from './coordinator-watch.js';

/** JoinResult: joinMs until the last peer had the new system (NaN if one never did within
 * 30 s; with no peers, enrolMs: nobody else waits for it), enrolMs until the enrolment
 * answered, peers how many peers it has, reached how many got it; bytes what the events that
 * brought it cost (sent) and full maps would have (full). */
export interface JoinResult {
  joinMs: number;
  enrolMs: number;
  peers: number;
  reached: number;
  bytes: { sent: number; full: number; deltas: number };
}

/** timeJoin enrols one system with key and waits until its peers' watchers list it. */
export async function timeJoin(
  url: string,
  key: string,
  shards: AgentShards,
  progress: (s: string) => void,
): Promise<JoinResult> {
  progress('one more system joins; timing until every peer has it');
  const agent = new SimAgent(url);
  // The shards keep what arrives from now on: a peer's delta may come before the answer does.
  await shards.joinArm();
  if (process.env.WARREN_BENCH_AGENTS_PROFILE) await shards.profileStart('join');
  const t0 = clock();
  try {
    const res = await agent.enrol(key, 'joiner', ['192.0.2.1:51820']);
    const enrolMs = clock() - t0;
    const map: NetworkMap = agent.verify(res.map!);
    // The peers the fleet watches (every one, as the fleet is every system but the joiner).
    let count = await shards.joinKnown(
      res.identity,
      map.peers.map((p) => p.identity),
    );
    const deadline = t0 + 30_000;
    while (count.have < count.peers && clock() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
      count = await shards.joinCount();
    }
    return {
      joinMs: count.peers === 0 ? enrolMs : count.have === count.peers ? count.lastAt - t0 : NaN,
      enrolMs,
      peers: count.peers,
      reached: count.have,
      bytes: { sent: count.sent, full: count.full, deltas: count.deltas },
    };
  } finally {
    const profiles = await shards.profileStop();
    if (profiles.length > 0) progress(`the agents' CPU profiles over the join: ${profiles.join(', ')}`);
    await shards.joinEnd();
  }
}
