// The coordinator bench's settle step (scripts/bench/coordinator.ts): before the policy change
// is timed, wait until the fleet is quiet, so the change is not measured on top of leftover
// work. Quiet is, for one second together: every watcher holds a map and none took an event;
// each coordinator's passes have caught up with its changes (GET /v1/admin/stats: no pass is
// due and none ended in the window), nothing sent is still waiting for
// its reader (push.backlog), and the coordinator process spent under 5% of a core (/proc).
import type { CoordinatorStats } from '../../coordinator/src/api/admin-types.js';
import { clock } from './coordinator-watch.js';
import { procStatus } from './coordinator-memory.js';

/** Stats reads one coordinator's GET /v1/admin/stats. */
export type Stats = () => Promise<CoordinatorStats>;

const QUIET_MS = 1000;
const POLL_MS = 100;
const LIMIT_MS = 120_000;
/** QUIET_CPU: the share of one core a quiet coordinator may use (keepalive pings, timers). */
const QUIET_CPU = 0.05;
const TICKS = 100; // USER_HZ on Linux

/** SettleInstance is one coordinator: its stats and its process. */
export interface SettleInstance {
  stats: Stats;
  pid: number;
}

/** Sample is one coordinator at one poll: when, its CPU ticks so far, its passes so far. */
export interface Sample {
  at: number;
  ticks: number;
  passes: number;
}

/** busyReason says why one coordinator is not quiet now; with then, a sample at least a second
 * old, also whether a pass ended or it used more than QUIET_CPU of a core since. */
export function busyReason(st: CoordinatorStats, now: Sample, then: Sample | null): string | null {
  if (st.lastPass.due) return `a pass is due (version ${st.mapVersion}, passed ${st.lastPass.version})`;
  const { streams, bytes } = st.push.backlog;
  if (streams > 0) return `streams whose readers have not taken all (${streams}, ${bytes} bytes)`;
  if (then === null) return null;
  if (now.passes !== then.passes) return `passes ended in the last second (${now.passes - then.passes})`;
  const share = (now.ticks - then.ticks) / TICKS / ((now.at - then.at) / 1000);
  if (share > QUIET_CPU) return `the coordinator was busy (${(share * 100).toFixed(0)}% of a core)`;
  return null;
}

/** Fleet is what settling asks of the agents (agent-shards.ts): how many watchers have no map
 * yet, and when any of them last took an event (coordinator-watch.ts clock). */
export interface Fleet {
  status(): Promise<{ without: number; lastEventAt: number }>;
}

/** reasonNow is why the fleet is not quiet at this poll, or null; window holds each
 * coordinator's sample from up to a second ago and is renewed once a second old. */
async function reasonNow(fleet: Fleet, instances: SettleInstance[], window: Sample[]): Promise<string | null> {
  const at = performance.now();
  const [{ without, lastEventAt }, stats] = await Promise.all([
    fleet.status(),
    Promise.all(instances.map((i) => i.stats())),
  ]);
  let reason: string | null = null;
  if (without > 0) reason = `watchers without a map (${without})`;
  else if (clock() - lastEventAt < QUIET_MS) reason = 'the watchers took events in the last second';
  for (const [i, inst] of instances.entries()) {
    const now = { at, ticks: procStatus(inst.pid).cpuTicks, passes: stats[i]!.lastPass.passes };
    const then = window[i];
    const old = then !== undefined && at - then.at >= QUIET_MS;
    reason ??= busyReason(stats[i]!, now, old ? then : null);
    if (then === undefined || old) window[i] = now;
  }
  return reason;
}

/** settle waits until the watchers and the coordinators are quiet (above) and prints what it
 * waited for, and how long; it throws when a watcher has no map after LIMIT_MS, and goes on,
 * saying so, when only the coordinators are still busy then. */
export async function settle(fleet: Fleet, instances: SettleInstance[], progress: (s: string) => void): Promise<void> {
  const start = performance.now();
  const waited = new Map<string, number>(); // the kind of reason -> ms spent waiting on it
  const window: Sample[] = [];
  let quietSince = start;
  let last = start;
  let nextReport = start + 5000;
  for (;;) {
    await new Promise((r) => setTimeout(r, POLL_MS));
    const reason = await reasonNow(fleet, instances, window);
    const at = performance.now();
    if (reason !== null) {
      const kind = reason.replace(/ \(.*\)$/, ''); // the figures vary; what is waited for does not
      waited.set(kind, (waited.get(kind) ?? 0) + (at - last));
      quietSince = at;
    }
    last = at;
    if (reason === null && at - quietSince >= QUIET_MS) break;
    if (at > nextReport) {
      nextReport = at + 5000;
      progress(`settling: ${reason ?? 'quiet'}`);
    }
    if (at - start > LIMIT_MS) {
      if ((await fleet.status()).without > 0)
        throw new Error(`the watch streams did not settle within ${LIMIT_MS / 1000} s`);
      progress(`settling: still not quiet after ${LIMIT_MS / 1000} s (${reason ?? 'quiet'}); going on`);
      break;
    }
  }
  const what = [...waited].map(([k, ms]) => `${k} ${(ms / 1000).toFixed(1)} s`).join('; ');
  progress(`settled in ${((performance.now() - start) / 1000).toFixed(1)} s, waited for: ${what || 'nothing'}`);
}
