// How long a map pass waits once scheduled (publisher.ts). A burst of changes (a fleet
// enrolling or coming online) must not make passes run back to back, so a pass waits as long
// as the last one of its kind took, measured from when that one ended: passes then take at most
// about half the thread while the burst lasts. A change after a quiet spell (one system joining
// a settled fleet) finds that time already gone and is passed within MIN_DELAY_MS, rather than
// waiting a duration set by the last burst's passes (up to a second at 10,000 systems).

/** MIN_DELAY_MS batches the changes of one moment; MAX_DELAY_MS caps the wait after a slow pass. */
export const MIN_DELAY_MS = 5;
export const MAX_DELAY_MS = 1000;

/** PassPacer times one kind of pass and says how long the next one waits. */
export class PassPacer {
  private lastMs = 0;
  private endedAt = -Infinity;

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** last is how long the last pass took (ms). */
  get last(): number {
    return this.lastMs;
  }

  /** delay is how long a pass scheduled now waits: what is left of the last pass's duration
   * since it ended, within MIN_DELAY_MS and MAX_DELAY_MS. */
  delay(): number {
    const left = this.lastMs - (this.now() - this.endedAt);
    return Math.min(MAX_DELAY_MS, Math.max(MIN_DELAY_MS, left));
  }

  /** timed runs a pass and notes how long it took and when it ended. */
  timed<T>(pass: () => T): T {
    const started = this.now();
    try {
      return pass();
    } finally {
      this.endedAt = this.now();
      this.lastMs = this.endedAt - started;
    }
  }
}
