// One-time codes: how a browser gets the window's session cookie without the cookie's secret
// ever appearing on a command line or in a URL. A code is 32 random bytes, is good for one
// exchange only and for a short time, and is compared in constant time; the opener file
// (opener.ts) and the address `warren ui` prints carry one. A code that leaks after its use,
// or after it expired, opens nothing.
import { newSecret, secretMatches } from './guard.js';

/** CodeEnd is how a code ended: exchanged, expired unused, or dropped because the server
 * closed. */
export type CodeEnd = 'used' | 'expired' | 'closed';

interface Pending {
  code: string;
  expiresAt: number;
  timer: NodeJS.Timeout;
  onEnd: ((end: CodeEnd) => void) | undefined;
}

/** MAX_PENDING bounds the codes alive at once; minting one more ends the oldest. */
const MAX_PENDING = 8;

/** OneTimeCodes mints and redeems codes. now stands for the clock (tests). */
export class OneTimeCodes {
  private pending: Pending[] = [];

  constructor(private readonly now: () => number = Date.now) {}

  /** mint makes a code that redeem accepts once, within ttlMs; onEnd hears how it ended (at
   * once when it is used; when it expires; or at closeAll). */
  mint(ttlMs: number, onEnd?: (end: CodeEnd) => void): string {
    while (this.pending.length >= MAX_PENDING) this.end(this.pending[0]!, 'expired');
    const p: Pending = {
      code: newSecret(),
      expiresAt: this.now() + ttlMs,
      onEnd,
      // The timer only tells onEnd (the opener removes its file then); redeem checks the time
      // itself, so a late timer never lets an old code through.
      timer: setTimeout(() => this.end(p, 'expired'), ttlMs),
    };
    p.timer.unref();
    this.pending.push(p);
    return p.code;
  }

  /** redeem says whether given is a live code, and ends it: a second redeem of the same code
   * is refused. Every pending code is compared, so the time taken says nothing about which
   * matched or how much of one. */
  redeem(given: string): boolean {
    let hit: Pending | undefined;
    for (const p of this.pending) if (secretMatches(given, p.code) && hit === undefined) hit = p;
    if (hit === undefined) return false;
    const live = this.now() < hit.expiresAt;
    this.end(hit, live ? 'used' : 'expired');
    return live;
  }

  /** size is how many codes are still pending. */
  get size(): number {
    return this.pending.length;
  }

  /** closeAll ends every pending code (the server is stopping). */
  closeAll(): void {
    for (const p of [...this.pending]) this.end(p, 'closed');
  }

  private end(p: Pending, how: CodeEnd): void {
    const i = this.pending.indexOf(p);
    if (i < 0) return;
    this.pending.splice(i, 1);
    clearTimeout(p.timer);
    p.onEnd?.(how);
  }
}
