// Whether the data path's JS thread asks the kernel for a short scheduler slice
// (native/src/sched.c, threadSlice). Every packet is handled on that thread, woken by epoll;
// when its core is running another thread, the kernel's fair scheduler (EEVDF) lets that one
// finish its slice first, and notices the end at the next tick (4 ms at HZ=250). A thread
// asking for a shorter slice than the running one may take the core at once (Linux 6.12 and
// later; older kernels ignore the request). WARREN_JS_SLICE says so for benchmarks and
// diagnosis; the default is what was measured better (docs/architecture.md, "A short slice").
import { loadAddon } from './load.js';
import { onOffSwitch } from './switch.js';

/** JS_SLICE_ENV: 'on' or 'off'; unset is JS_SLICE_DEFAULT. */
export const JS_SLICE_ENV = 'WARREN_JS_SLICE';
/** JS_SLICE_DEFAULT is the setting where WARREN_JS_SLICE is unset. */
export const JS_SLICE_DEFAULT = true;
/** JS_SLICE_NS is the slice asked for: the shortest the kernel grants (0.1 ms). */
export const JS_SLICE_NS = 100_000;

/**
 * jsSliceWish reads WARREN_JS_SLICE: 'on' (or 1/true), 'off' (or 0/false); unset, the default.
 * Anything else throws, so that a typo does not silently measure the default.
 */
export function jsSliceWish(env: NodeJS.ProcessEnv = process.env): boolean {
  return onOffSwitch(env, JS_SLICE_ENV) ?? JS_SLICE_DEFAULT;
}

/**
 * threadSlice asks the kernel for a slice of ns nanoseconds for the calling thread (0: the
 * default) and returns the slice the kernel then reports for it, 0 on kernels without custom
 * slices (before 6.12). The thread keeps its policy and nice value.
 */
export function threadSlice(ns: number): number {
  return loadAddon().threadSlice(ns);
}
