// Writes that may wait. Online flags and UDP mappings live in memory only (they are lost with
// the process), so their changes are not one synchronous transaction each: with
// synchronous=FULL that is an fsync apiece, and a fleet of 10,000 coming online would wait a
// minute on the disk. The map versions they bump and the last_seen values they set are written
// together with the next change, or SOFT_WRITE_MS later, or at once when SOFT_VERSIONS are
// unwritten; a start skips SOFT_VERSIONS versions, so no version sent before a crash is ever
// sent again with other content (registry.ts).

/** SOFT_VERSIONS bounds the map versions used in memory and not yet written. */
export const SOFT_VERSIONS = 10_000;
const SOFT_WRITE_MS = 1000;

/** SoftWrites counts unwritten versions and holds unwritten last_seen values by system id. */
export class SoftWrites {
  unwritten = 0;
  readonly seen = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;

  /** write writes everything (in a transaction of its own) and calls written. */
  constructor(private readonly write: () => void) {}

  /** bump records one more unwritten version; it writes at once when too many wait. */
  bump(): void {
    this.unwritten++;
    if (this.unwritten >= SOFT_VERSIONS) this.write();
    else this.schedule();
  }

  /** schedule writes within SOFT_WRITE_MS (for last_seen values set in seen). */
  schedule(): void {
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = null;
        try {
          this.write();
        } catch {
          // The disk refused; the next change (or the next bump's timer) writes them again.
        }
      }, SOFT_WRITE_MS);
      this.timer.unref();
    }
  }

  get pending(): boolean {
    return this.unwritten > 0 || this.seen.size > 0;
  }

  /** written forgets what a committed transaction wrote. */
  written(): void {
    this.unwritten = 0;
    this.seen.clear();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
