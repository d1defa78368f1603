// A map pass over every system (a policy file, a configuration change) run in slices. At
// 10,000 systems such a pass takes seconds of CPU; run in one go it would hold the event loop
// the whole time, so no watch, enrolment or health check would be answered and no signed delta
// would leave before the last map was computed. A Sweep instead computes systems for SLICE_MS,
// hands what the slice made to its streams (the caller's slice wrapper seals the slice's batch
// signature, delta-batch.ts), and yields with setImmediate, which lets pending I/O (new
// requests, socket writes) run before the next slice (Node's event loop runs the check phase
// after the poll phase). The first watchers then get their deltas within milliseconds, and the
// last as soon as the pass's CPU allows.

/** SLICE_MS is how long one slice computes before it yields: short enough that a request
 * arriving mid-pass waits about that long, long enough that yielding and signing a slice's
 * batch cost little beside it. */
export const SLICE_MS = 10;

/** SweepDone describes a finished sweep: how many items it stepped through (systems computed),
 * wall time from start to end, and the time spent in its own slices. */
export interface SweepDone {
  stepped: number;
  wallMs: number;
  busyMs: number;
  slices: number;
}

/** Sweep steps through items in slices, asynchronously, or all at once on drain(). */
export class Sweep<T> {
  private at = 0;
  private immediate: NodeJS.Immediate | null = null;
  private finished = false;
  private readonly started = performance.now();
  private busyMs = 0;
  private slices = 0;

  /** step computes one item; slice wraps each slice (one batch signature per slice); done hears
   * once, when the last item was stepped (not after cancel). */
  constructor(
    private readonly items: readonly T[],
    private readonly step: (item: T) => void,
    private readonly slice: (run: () => void) => void,
    private readonly done: (d: SweepDone) => void,
    private readonly sliceMs = SLICE_MS,
  ) {}

  get running(): boolean {
    return !this.finished;
  }

  /** start runs the first slice now and schedules the rest. */
  start(): void {
    this.runSlice(this.sliceMs);
  }

  /** drain steps through everything left, now (a caller that needs the pass done: flush). */
  drain(): void {
    this.runSlice(Infinity);
  }

  /** cancel stops the sweep where it is (a newer pass over everything replaces it). */
  cancel(): void {
    this.finished = true;
    if (this.immediate) clearImmediate(this.immediate);
    this.immediate = null;
  }

  private runSlice(budgetMs: number): void {
    if (this.finished) return;
    if (this.immediate) clearImmediate(this.immediate);
    this.immediate = null;
    const t0 = performance.now();
    this.slice(() => {
      // Checked after each item: one system's map (a shared service listing thousands) can
      // take milliseconds, so counting items would not bound the slice.
      while (this.at < this.items.length && !this.finished) {
        this.step(this.items[this.at++]!);
        if (performance.now() - t0 >= budgetMs) break;
      }
    });
    this.busyMs += performance.now() - t0;
    this.slices++;
    if (this.finished) return;
    if (this.at < this.items.length) {
      this.immediate = setImmediate(() => this.runSlice(this.sliceMs));
      return;
    }
    this.finished = true;
    this.done({
      stepped: this.at,
      wallMs: performance.now() - this.started,
      busyMs: this.busyMs,
      slices: this.slices,
    });
  }
}
