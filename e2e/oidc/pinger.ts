// Timing access on real traffic for the sign-in tests: a pinger every 20 ms from one namespace
// timestamps each echo reply (ping -D), so the time from an event (a disable, a lapse, a token
// check) to the last or the first reply is measured through the helpers' firewalls.
import assert from 'node:assert/strict';
import type { Namespace } from '../netns/index.js';
import type { TrackedProcess } from '../netns/process.js';

/** LIMIT_MS: the promise under test, a change reaches every affected firewall within 1 s. */
export const LIMIT_MS = 1000;

/** Pinger timestamps every echo reply from one namespace to one address. */
export class Pinger {
  readonly replies: number[] = [];
  private constructor(readonly proc: TrackedProcess) {
    proc.onLine((line) => {
      const m = /^\[(\d+\.\d+)\] \d+ bytes from/.exec(line);
      if (m) this.replies.push(Math.round(Number(m[1]) * 1000));
    });
  }
  static start(ns: Namespace, to: string, name = 'pinger'): Pinger {
    return new Pinger(ns.spawn(['ping', '-D', '-n', '-i', '0.02', '-W', '1', to], { name }));
  }
  lastBefore(t: number): number | null {
    return this.replies.filter((r) => r <= t).at(-1) ?? null;
  }
  firstAfter(t: number): number | null {
    return this.replies.find((r) => r > t) ?? null;
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** cutAfter waits until no reply came for 1.5 s after t, and returns how long replies went on. */
export async function cutAfter(p: Pinger, t: number, what: string): Promise<number> {
  await sleep(Math.max(0, t - Date.now()) + LIMIT_MS + 1500);
  const last = p.lastBefore(Date.now());
  assert.ok(last !== null && Date.now() - last >= 1500, `${what}: replies still arrive`);
  return Math.max(0, last - t);
}

/** restoredAfter waits for the first reply after t (up to 5 s), and returns how long it took. */
export async function restoredAfter(p: Pinger, t: number, what: string): Promise<number> {
  const deadline = Date.now() + 5000;
  while (p.firstAfter(t) === null && Date.now() < deadline) await sleep(50);
  const first = p.firstAfter(t);
  assert.ok(first !== null, `${what}: no reply within 5 s`);
  return first - t;
}
