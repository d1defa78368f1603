// Which coordinator the helper talks to. Several coordinators may serve one network from one
// database (docs/coordinator.md "Several coordinators"); every map they sign lists their URLs
// (control.ts NetworkMap.coordinators), and the helper takes that list from verified maps only
// (the one in force, which is also the stored map, so a restart knows it too). It dials the
// one it talked to last; when that one stops answering (SWITCH_AFTER dials in a row found
// nobody: refused, reset, timed out, a proxy's 502-504) it moves on to the next in the list.
// A coordinator that answers, even with a refusal, is kept: it is alive, and the others would
// say the same. Every coordinator signs with the key pinned at enrolment, so a map from any of
// them is verified exactly as one from the first.
import type { Logger } from '../../../src-shared/lib/log.js';
import type { Refusal } from './watch.js';

/** SWITCH_AFTER is how many dials in a row must find nobody before the next coordinator is tried. */
export const SWITCH_AFTER = 2;

/** CoordinatorChoice holds the list and the one in use. */
export class CoordinatorChoice {
  private list: string[];
  private index = 0;
  private misses = 0;

  /** enrolled is the URL the profile names (where the helper enrolled); it is always listed. */
  constructor(
    private readonly enrolled: string,
    private readonly log: Logger | null = null,
  ) {
    this.list = [enrolled];
  }

  /** url is the coordinator to talk to now. */
  url(): string {
    return this.list[this.index]!;
  }

  /** urls are every coordinator known, in the order they are tried. */
  urls(): readonly string[] {
    return this.list;
  }

  /** fromMap takes the list of a verified map in force; the coordinator in use stays in use
   * while listed, and the enrolled URL stays listed (last, when the map leaves it out). */
  fromMap(urls: readonly string[] | undefined): void {
    const current = this.url();
    this.list = [...new Set([...(urls ?? []).map((u) => u.replace(/\/+$/, '')), this.enrolled])];
    this.index = Math.max(0, this.list.indexOf(current));
  }

  /** failed records a dial that failed as how says; it returns true when it moved on to
   * another coordinator (dial that one at once). */
  failed(how: Refusal): boolean {
    if (how !== 'unreachable' || this.list.length < 2) {
      this.misses = 0;
      return false;
    }
    if (++this.misses < SWITCH_AFTER) return false;
    const from = this.url();
    this.misses = 0;
    this.index = (this.index + 1) % this.list.length;
    this.log?.warn(`coordinator ${from} does not answer; trying ${this.url()} (one of ${this.list.length})`);
    return true;
  }

  /** connected: the watch stream is open. */
  connected(): void {
    this.misses = 0;
  }
}
