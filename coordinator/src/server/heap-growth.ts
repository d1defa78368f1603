// How far the coordinator's V8 heap may grow between full collections. After each one V8 lets
// the old generation grow to its live size times a factor it picks from the collector's speed,
// up to 4 (V8 heap-controller.cc, MemoryController::GrowingFactor). A coordinator of 10,000
// systems holds about 270 MiB live (its watch streams and their maps), and passes make
// short-lived garbage in bursts, so with the default the resident size swung hundreds of MiB
// above the live heap. `--heap-growing-percent` replaces the factor with 1 + percent/100; V8
// reads it at every full collection, so setting it at start (v8.setFlagsFromString) takes hold
// however node was started (the launcher, the bench, a test, a package).
import { setFlagsFromString } from 'node:v8';

/** HEAP_GROWING_PERCENT is the default: the heap may grow by a quarter of its live size. At
 * 10,000 systems (docs/coordinator.md, Performance) it kept the resident peak at 482 MiB against
 * 618 MiB with V8's factor, for the same enrolment time and CPU over a policy change. */
export const HEAP_GROWING_PERCENT = 25;

/** heapGrowingPercent reads WARREN_COORDINATOR_HEAP_GROWING: a whole percent from 10 to 400, or
 * `off` for V8's own factor (to compare); null means off. It throws on anything else. */
export function heapGrowingPercent(env: NodeJS.ProcessEnv = process.env): number | null {
  const v = env.WARREN_COORDINATOR_HEAP_GROWING;
  if (v === undefined || v === '') return HEAP_GROWING_PERCENT;
  if (v === 'off') return null;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 10 || n > 400)
    throw new Error(
      `WARREN_COORDINATOR_HEAP_GROWING must be a whole percent from 10 to 400, or off (got ${JSON.stringify(v)})`,
    );
  return n;
}

/** limitHeapGrowth applies heapGrowingPercent to this process and returns it. */
export function limitHeapGrowth(env: NodeJS.ProcessEnv = process.env): number | null {
  const p = heapGrowingPercent(env);
  if (p !== null) setFlagsFromString(`--heap-growing-percent=${p}`);
  return p;
}
