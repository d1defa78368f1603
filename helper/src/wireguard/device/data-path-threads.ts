// The data path's own threads in the process (the addon keeps them per JS thread): the crypto
// workers, as many as WARREN_THREADS asks for (threadsWish), and the wake ticker when
// WARREN_WAKE_TICKER=on asks for it (native/src/ticker.c); and the JS thread's short scheduler
// slice when WARREN_JS_SLICE allows it (src-shared/lib/native/slice.ts). The first running
// device starts them and the last one to stop joins them, so that tests and warren-wg's
// several devices share them and a stopped helper leaves no thread behind.
import { availableParallelism } from 'node:os';
import * as native from '../../../../src-shared/lib/native/index.js';
import { MIN_SHARED_BYTES } from '../../../../src-shared/lib/native/threads.js';
import { JS_SLICE_NS, jsSliceWish, threadSlice } from '../../../../src-shared/lib/native/slice.js';

let users = 0;
/** slice is the JS thread's slice in ns as the kernel reported it when the data path started,
 * null while it keeps the default (switched off, or no data path running). */
let slice: number | null = null;

/** acquireDataPathThreads starts the threads (and asks for the slice) for the first user and
 * returns this user's release, which joins them (and gives the slice back) when the last user
 * is gone (a second call does nothing). All three switches are read first, so a bad
 * WARREN_THREADS, WARREN_WAKE_TICKER or WARREN_JS_SLICE throws before anything starts. It runs
 * on the JS thread that runs the data path: the slice is that thread's. */
export function acquireDataPathThreads(env: NodeJS.ProcessEnv = process.env): () => void {
  const wish = native.threadsWish(env, availableParallelism());
  const ticker = native.wakeTickerWish(env);
  const short = jsSliceWish(env);
  if (users === 0) {
    if (wish.threads > 1) native.aeadThreads(wish.threads - 1, MIN_SHARED_BYTES);
    if (ticker) native.wakeTicker(true);
    if (short) slice = askSlice(JS_SLICE_NS);
  }
  users++;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--users > 0) return;
    native.aeadThreads(0, MIN_SHARED_BYTES);
    native.wakeTicker(false);
    if (slice !== null) askSlice(0);
    slice = null;
  };
}

/** askSlice asks for a slice of ns (0: the default) and returns what the kernel reports; a
 * kernel that refuses leaves the slice as it was, and the data path works as before. */
function askSlice(ns: number): number | null {
  try {
    return threadSlice(ns);
  } catch {
    return null;
  }
}

/** dataPathThreads is what `warren status` shows of them: how many threads run the crypto now,
 * the JS thread included, how many packets the workers sealed or opened since they started,
 * whether the wake ticker runs, and the JS thread's slice in µs (0: the kernel's default). */
export function dataPathThreads(): {
  cryptoThreads: number;
  cryptoWorkerPackets: number;
  wakeTicker: boolean;
  jsSliceUs: number;
} {
  const s = native.aeadThreadStats();
  return {
    cryptoThreads: s.workers + 1,
    cryptoWorkerPackets: s.workerPackets,
    wakeTicker: native.wakeTickerStats().running,
    jsSliceUs: slice === null ? 0 : Math.round(slice / 1000),
  };
}
