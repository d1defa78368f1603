// Whether the data path runs the wake ticker (native/src/ticker.c): a SCHED_IDLE thread that
// sleeps in 50 µs ticks for 20 ms after the data path last woke, so that the answer to a lone
// packet finds a CPU awake. WARREN_WAKE_TICKER says so. It is off unless asked for: whether it
// pays depends on the hypervisor (faster answers on one, slower on another), and it keeps a
// CPU out of deep idle while traffic flows (docs/architecture.md, "The wake ticker").
import { loadAddon } from './load.js';
import { onOffSwitch } from './switch.js';
import type { WakeTickerStats } from './types.js';

/** WAKE_TICKER_ENV: 'on' or 'off'; unset is WAKE_TICKER_DEFAULT. */
export const WAKE_TICKER_ENV = 'WARREN_WAKE_TICKER';
/** WAKE_TICKER_DEFAULT is the setting where WARREN_WAKE_TICKER is unset. */
export const WAKE_TICKER_DEFAULT = false;

/**
 * wakeTickerWish reads WARREN_WAKE_TICKER: 'on' (or 1/true), 'off' (or 0/false); unset, the
 * default. Anything else throws, so that a typo does not silently measure the default.
 */
export function wakeTickerWish(env: NodeJS.ProcessEnv = process.env): boolean {
  return onOffSwitch(env, WAKE_TICKER_ENV) ?? WAKE_TICKER_DEFAULT;
}

/**
 * wakeTicker starts (true) or stops and joins (false) this thread's wake ticker
 * (native/src/ticker.c), which every reader wake-up then pokes; either is a no-op when it is so
 * already. Returns whether it runs.
 */
export function wakeTicker(on: boolean): boolean {
  return loadAddon().wakeTicker(on);
}

/** wakeTickerStats reports the wake ticker (see WakeTickerStats). */
export function wakeTickerStats(): WakeTickerStats {
  return loadAddon().wakeTickerStats();
}
