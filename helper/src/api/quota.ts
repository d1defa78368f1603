// Per-user shares of the local API's connections and event streams. The socket is open to every
// local user (mode 0666, 'everyone-reads'), so a fixed pool alone lets one user, or a few
// together, take every place and leave root's `warren status` and the operator's app with
// nothing (EPIPE, 503). Each place is therefore held by a caller, known by the uid SO_PEERCRED
// gives (the kernel's, not the caller's word), in nested pools: one user holds at most perUser;
// callers outside root and the operator group together hold at most `unprivileged`; everyone but
// root at most `nonRoot`; all together at most `total`. Whatever strangers do, total -
// unprivileged places stay for root and the operators, and total - nonRoot for root alone (the
// same idea as the blocks ext4 reserves for root). Root is bounded by the total only.
import { checkAccess, type PeerCaller } from './auth.js';

/** CallerClass is what a caller's uid and groups make it, for the pools. */
export type CallerClass = 'root' | 'operator' | 'other';

/** Holder is who holds a place: uid -1 when the credentials could not be read. */
export interface Holder {
  uid: number;
  cls: CallerClass;
}

/** QuotaLimits are the nested pools (see the top of this file). */
export interface QuotaLimits {
  total: number;
  perUser: number;
  nonRoot: number;
  unprivileged: number;
}

/** classify decides a caller's class: root, a member of the operator group, or other. */
export function classify(caller: PeerCaller | null, group: string): Holder {
  if (caller === null) return { uid: -1, cls: 'other' };
  // Root needs no file read; the group check reads /etc/group and /proc/<pid>/status.
  if (caller.uid === 0) return { uid: 0, cls: 'root' };
  return { uid: caller.uid, cls: checkAccess(caller, group).privileged ? 'operator' : 'other' };
}

/** UidQuota counts the places of one kind (connections or event streams) by holder. */
export class UidQuota {
  // At most `total` entries: a uid is removed when it holds nothing.
  private readonly byUid = new Map<number, number>();
  private all = 0;
  private nonRoot = 0;
  private unprivileged = 0;

  constructor(
    private readonly what: string,
    private readonly limits: QuotaLimits,
    private readonly group: string,
  ) {}

  /** size is the number of places held. */
  get size(): number {
    return this.all;
  }

  /** take gives who a place and returns null, or returns why not (for the refusal). */
  take(who: Holder): string | null {
    const l = this.limits;
    const mine = this.byUid.get(who.uid) ?? 0;
    if (who.cls !== 'root') {
      if (mine >= l.perUser) {
        const user = who.uid < 0 ? 'a caller whose credentials cannot be read' : `uid ${who.uid}`;
        return `${user} already has ${mine} ${this.what} open, the most one user may hold; close one and try again`;
      }
      if (who.cls === 'other' && this.unprivileged >= l.unprivileged) {
        return (
          `users outside root and the "${this.group}" group together hold ${this.unprivileged} ${this.what}, ` +
          `all they may; the other ${l.total - this.unprivileged} are kept for root and that group. Try again ` +
          `later, or ask an administrator to add you to the group (\`usermod -aG ${this.group} YOUR_USER\`)`
        );
      }
      if (this.nonRoot >= l.nonRoot) {
        return `callers other than root hold ${this.nonRoot} ${this.what}, all they may; the rest are kept for root. Try again later`;
      }
    }
    if (this.all >= l.total) return `the helper has ${this.all} ${this.what} open, its limit; try again later`;
    this.byUid.set(who.uid, mine + 1);
    this.all++;
    if (who.cls !== 'root') this.nonRoot++;
    if (who.cls === 'other') this.unprivileged++;
    return null;
  }

  /** release gives back a place who took. */
  release(who: Holder): void {
    const mine = this.byUid.get(who.uid) ?? 0;
    if (mine <= 0) return;
    if (mine === 1) this.byUid.delete(who.uid);
    else this.byUid.set(who.uid, mine - 1);
    this.all--;
    if (who.cls !== 'root') this.nonRoot--;
    if (who.cls === 'other') this.unprivileged--;
  }
}
