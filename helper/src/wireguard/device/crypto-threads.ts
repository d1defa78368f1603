// The crypto worker threads of the process (the addon keeps one pool per JS thread): started
// by the first running device with as many threads as WARREN_THREADS asks for (threadsWish),
// stopped and joined when the last one stops, so that tests and warren-wg's several devices
// share one pool and a stopped helper leaves no thread behind.
import { availableParallelism } from 'node:os';
import * as native from '../../../../src-shared/lib/native/index.js';
import { MIN_SHARED_BYTES } from '../../../../src-shared/lib/native/threads.js';

let users = 0;

/** acquireCryptoThreads starts the pool for the first user and returns this user's release,
 * which joins the workers when the last user is gone (a second call does nothing). It throws
 * on a bad WARREN_THREADS. */
export function acquireCryptoThreads(env: NodeJS.ProcessEnv = process.env): () => void {
  const wish = native.threadsWish(env, availableParallelism());
  if (users === 0 && wish.threads > 1) native.aeadThreads(wish.threads - 1, MIN_SHARED_BYTES);
  users++;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--users === 0) native.aeadThreads(0, MIN_SHARED_BYTES);
  };
}

/** cryptoThreads is how many threads run the data path's crypto now, the JS thread included,
 * and how many packets the workers sealed or opened since they started. */
export function cryptoThreads(): { cryptoThreads: number; cryptoWorkerPackets: number } {
  const s = native.aeadThreadStats();
  return { cryptoThreads: s.workers + 1, cryptoWorkerPackets: s.workerPackets };
}
