// One system joining a settled fleet (scripts/bench/coordinator.ts): from its enrolment request
// until every peer's watcher holds a map that lists it. Its peers are the ones its own map (in
// the enrolment answer) lists: being peers is mutual (coordinator/src/maps/netmap.ts).
import type { NetworkMap, SignedMap } from '../../src-shared/wire/control.js';
import { SimAgent } from '../../coordinator/src/testing/agent-sim.js';

/** JoinResult: joinMs until the last peer had the new system (NaN if one never did within
 * 30 s), enrolMs until the enrolment answered, peers how many peers it has, reached how many got it. */
export interface JoinResult {
  joinMs: number;
  enrolMs: number;
  peers: number;
  reached: number;
}

/** JoinWatcher is what timeJoin needs of the bench's watchers. */
export interface JoinWatcher {
  agent: SimAgent;
  onMap: ((data: string) => void) | null;
}

/** payloadText decodes a map event's payload (the NetworkMap's JSON) without verifying it. */
function payloadText(data: string): string {
  const signed = (JSON.parse(data) as { map: SignedMap }).map;
  return Buffer.from(signed.payload, 'base64').toString('utf8');
}

/** timeJoin enrols one system with key and waits until its peers' watchers list it. */
export async function timeJoin(
  url: string,
  key: string,
  watchers: JoinWatcher[],
  progress: (s: string) => void,
): Promise<JoinResult> {
  progress('one more system joins; timing until every peer has it');
  const agent = new SimAgent(url);
  const byIdentity = new Map(watchers.map((w) => [w.agent.identity, w]));
  const have = new Set<JoinWatcher>();
  let lastAt = 0;
  let identity = '';
  const pending: { w: JoinWatcher; data: string }[] = [];
  const check = (w: JoinWatcher, data: string): void => {
    if (have.has(w)) return;
    if (identity === '') pending.push({ w, data });
    else if (payloadText(data).includes(`"identity":"${identity}"`)) {
      // Only what verifies counts, as for the policy change.
      w.agent.verify((JSON.parse(data) as { map: SignedMap }).map);
      have.add(w);
      lastAt = performance.now();
    }
  };
  for (const w of watchers) w.onMap = (data) => check(w, data);
  const t0 = performance.now();
  try {
    const res = await agent.enrol(key, 'joiner', ['192.0.2.1:51820']);
    const enrolMs = performance.now() - t0;
    identity = res.identity;
    for (const p of pending.splice(0)) check(p.w, p.data);
    const map: NetworkMap = agent.verify(res.map!);
    const peers = map.peers.map((p) => byIdentity.get(p.identity)).filter((w): w is JoinWatcher => w !== undefined);
    const deadline = t0 + 30_000;
    while (peers.some((w) => !have.has(w)) && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const reached = peers.filter((w) => have.has(w)).length;
    return { joinMs: reached === peers.length ? lastAt - t0 : NaN, enrolMs, peers: peers.length, reached };
  } finally {
    for (const w of watchers) w.onMap = null;
  }
}
