// The wake ticker of the process (native/src/ticker.c; one per JS thread in the addon): started
// by the first running device when WARREN_WAKE_TICKER allows it, stopped and joined when the
// last one stops, as the crypto threads are (crypto-threads.ts).
import * as native from '../../../../src-shared/lib/native/index.js';

let users = 0;

/** acquireWakeTicker starts the ticker for the first user and returns this user's release,
 * which joins it when the last user is gone (a second call does nothing). It throws on a bad
 * WARREN_WAKE_TICKER. */
export function acquireWakeTicker(env: NodeJS.ProcessEnv = process.env): () => void {
  const on = native.wakeTickerWish(env);
  if (users === 0 && on) native.wakeTicker(true);
  users++;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--users === 0) native.wakeTicker(false);
  };
}

/** wakeTickerStatus is whether the wake ticker runs, for `warren status`. */
export function wakeTickerStatus(): { wakeTicker: boolean } {
  return { wakeTicker: native.wakeTickerStats().running };
}
