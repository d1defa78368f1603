// The data path's own threads in the process (the addon keeps them per JS thread): the crypto
// workers, as many as WARREN_THREADS asks for (threadsWish), and the wake ticker when
// WARREN_WAKE_TICKER allows it (native/src/ticker.c). The first running device starts them and
// the last one to stop joins them, so that tests and warren-wg's several devices share them and
// a stopped helper leaves no thread behind.
import { availableParallelism } from 'node:os';
import * as native from '../../../../src-shared/lib/native/index.js';
import { MIN_SHARED_BYTES } from '../../../../src-shared/lib/native/threads.js';

let users = 0;

/** acquireDataPathThreads starts the threads for the first user and returns this user's
 * release, which joins them when the last user is gone (a second call does nothing). Both
 * switches are read first, so a bad WARREN_THREADS or WARREN_WAKE_TICKER throws before anything
 * starts. */
export function acquireDataPathThreads(env: NodeJS.ProcessEnv = process.env): () => void {
  const wish = native.threadsWish(env, availableParallelism());
  const ticker = native.wakeTickerWish(env);
  if (users === 0) {
    if (wish.threads > 1) native.aeadThreads(wish.threads - 1, MIN_SHARED_BYTES);
    if (ticker) native.wakeTicker(true);
  }
  users++;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--users > 0) return;
    native.aeadThreads(0, MIN_SHARED_BYTES);
    native.wakeTicker(false);
  };
}

/** dataPathThreads is what `warren status` shows of them: how many threads run the crypto now,
 * the JS thread included, how many packets the workers sealed or opened since they started,
 * and whether the wake ticker runs. */
export function dataPathThreads(): { cryptoThreads: number; cryptoWorkerPackets: number; wakeTicker: boolean } {
  const s = native.aeadThreadStats();
  return {
    cryptoThreads: s.workers + 1,
    cryptoWorkerPackets: s.workerPackets,
    wakeTicker: native.wakeTickerStats().running,
  };
}
