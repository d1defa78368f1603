// One system joining a settled fleet (scripts/bench/coordinator.ts): from its enrolment request
// until every peer's watcher holds a map that lists it. Its peers are the ones its own map (in
// the enrolment answer) lists: being peers is mutual (coordinator/src/maps/netmap.ts). The
// peers' agents apply deltas and check them as a helper does (coordinator/src/testing/sim-map.ts),
// so the bytes the join cost are counted as sent and as full maps would have.
import type { NetworkMap } from '../../src-shared/wire/control.js';
import { SimAgent } from '../../coordinator/src/testing/agent-sim.js';
import type { Taken } from '../../coordinator/src/testing/sim-map.js';

/** JoinResult: joinMs until the last peer had the new system (NaN if one never did within
 * 30 s), enrolMs until the enrolment answered, peers how many peers it has, reached how many got
 * it; bytes what the events that brought it cost (sent) and full maps would have (full). */
export interface JoinResult {
  joinMs: number;
  enrolMs: number;
  peers: number;
  reached: number;
  bytes: { sent: number; full: number; deltas: number };
}

/** JoinWatcher is what timeJoin needs of the bench's watchers: onMap sees the map text after
 * each event that changed it (already verified by the caller's SimMap). */
export interface JoinWatcher {
  agent: SimAgent;
  onMap: ((text: string, t: Taken) => void) | null;
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
  const bytes = { sent: 0, full: 0, deltas: 0 };
  let lastAt = 0;
  let identity = '';
  const pending: { w: JoinWatcher; text: string; t: Taken }[] = [];
  const check = (w: JoinWatcher, text: string, t: Taken): void => {
    if (have.has(w)) return;
    if (identity === '') pending.push({ w, text, t });
    else if (text.includes(`"identity":"${identity}"`)) {
      have.add(w);
      lastAt = performance.now();
      bytes.sent += t.bytes;
      bytes.full += t.fullBytes;
      if (t.delta) bytes.deltas++;
    }
  };
  for (const w of watchers) w.onMap = (text, t) => check(w, text, t);
  const t0 = performance.now();
  try {
    const res = await agent.enrol(key, 'joiner', ['192.0.2.1:51820']);
    const enrolMs = performance.now() - t0;
    identity = res.identity;
    for (const p of pending.splice(0)) check(p.w, p.text, p.t);
    const map: NetworkMap = agent.verify(res.map!);
    const peers = map.peers.map((p) => byIdentity.get(p.identity)).filter((w): w is JoinWatcher => w !== undefined);
    const deadline = t0 + 30_000;
    while (peers.some((w) => !have.has(w)) && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const reached = peers.filter((w) => have.has(w)).length;
    return { joinMs: reached === peers.length ? lastAt - t0 : NaN, enrolMs, peers: peers.length, reached, bytes };
  } finally {
    for (const w of watchers) w.onMap = null;
  }
}
