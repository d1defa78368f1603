// The sweep's walk over the flow table. The table is four times its bound in slots (a quarter
// full keeps probe runs short), 262,144 for the default 65,536 flows: a scan of every slot took
// about 0.4 ms once a second on the event loop's thread, even with no flow at all, and a packet
// that arrived meanwhile waited for it. Every flow is on one of its peer's two lists
// (conntrack.ts), so walking the lists costs what the flows do.
import type { FlowTable } from './conntrack.js';

/** liveFlows writes the slot of every tracked flow into out, at most out.length of them, and
 * returns how many it wrote. The slots are collected before the caller removes any, since a
 * removal unlinks a slot from the list being walked. */
export function liveFlows(t: FlowTable, out: Int32Array): number {
  let n = 0;
  const head = t.head;
  for (let list = 0; list < head.length && n < out.length; list++) {
    const first = head[list]!;
    if (first < 0) continue;
    let s = first;
    do {
      out[n++] = s;
      s = t.next[s]!;
    } while (s !== first && n < out.length);
  }
  return n;
}

/** sweepFlows removes every flow that has expired by `now` or that `revoked(slot)` says policy
 * no longer allows, and returns how many it removed; live is scratch of at least t.count slots. */
export function sweepFlows(t: FlowTable, live: Int32Array, now: number, revoked: (s: number) => boolean): number {
  const n = liveFlows(t, live);
  let removed = 0;
  for (let i = 0; i < n; i++) {
    const s = live[i]!;
    if (t.expires[s]! <= now || revoked(s)) {
      t.remove(s);
      removed++;
    }
  }
  return removed;
}
