// An experiment for the packet path's tail latency, off by default. Every packet is handled on
// the JS thread, woken by epoll; when both cores are busy, the kernel's fair scheduler (EEVDF)
// lets the running thread finish its slice first, noticed at the next tick (4 ms at HZ=250).
// `perf sched timehist` of pinged helpers found the helpers' own V8 platform workers (TurboFan
// compiles, concurrent and parallel GC) holding the core in some of the JS thread's wake-ups
// that waited over 1 ms, other programs in the rest (docs/architecture.md, "Where a lone
// packet waits"). WARREN_BACKGROUND_THREADS=idle moves those workers to SCHED_IDLE, which any
// normal thread preempts at once. It is not the default: on a busy machine an idle-class
// thread can wait a long time for a core, and V8's main thread waits for the parallel GC tasks
// a worker has started; at load 9-12 the longest GC pause of a run grew (24-70 ms against
// 15-29 ms, three runs each), the ping tail did not shrink and iperf3 through the helpers lost
// a third in two of three rounds.
import { idleOtherThreads } from '../../../src-shared/lib/native/index.js';
import type { Logger } from '../../../src-shared/lib/log.js';

/** BACKGROUND_THREADS_ENV names the switch: "idle" moves the threads to SCHED_IDLE. */
export const BACKGROUND_THREADS_ENV = 'WARREN_BACKGROUND_THREADS';

/** backgroundThreadsIdle reads the switch: only "idle" turns it on; unset or anything else is off. */
export function backgroundThreadsIdle(env: Record<string, string | undefined>): boolean {
  return env[BACKGROUND_THREADS_ENV] === 'idle';
}

/** idleBackgroundThreads moves the process's other threads to SCHED_IDLE when switched on.
 * Call it from the main thread before the data plane starts threads of its own (crypto
 * workers, reader threads, the splice pump), which must keep the normal class. A failure is
 * logged, not fatal: the helper works as before without it. */
export function idleBackgroundThreads(
  env: Record<string, string | undefined>,
  log: Logger,
  idle: () => number = idleOtherThreads,
): void {
  if (!backgroundThreadsIdle(env)) return;
  try {
    log.info(`${idle()} background threads (V8, libuv) moved to SCHED_IDLE (${BACKGROUND_THREADS_ENV}=idle)`);
  } catch (e) {
    log.warn(`background threads keep the normal scheduling class: ${(e as Error).message}`);
  }
}
