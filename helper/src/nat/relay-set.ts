// RelaySet holds the relays the map lists (one RelayClient each, registered with all of them)
// and which one new relayed sessions use: the nearest live one by measured round trip, kept
// until another is clearly nearer or it stops answering (relay-choice.ts).
//
// Both ends of a relayed pair must meet at the same relay, and each measures its own round
// trips, so the two may prefer different relays. The side with the lower peer id leads: it
// sends through its own choice. The other follows: it keeps sending through the relay the
// leader's packets last came through (WireGuard roaming points its endpoint there, whitepaper
// §2.1), and uses its own choice only when that relay is not usable (not registered, or dead
// by its probes). When a relay goes away both sides see it stop answering probes within a few
// seconds, the leader moves to its next-nearest relay, and the follower moves with the leader's
// first packet through it (or to its own next-nearest, if it noticed first).
import type { Logger } from '../../../src-shared/lib/log.js';
import { chooseRelay, leads } from './relay-choice.js';
import type { RelayClient } from './relay-client.js';

export class RelaySet {
  list: RelayClient[] = [];
  /** inUse: the relay new relayed sessions go through, null when none is usable */
  inUse: RelayClient | null = null;

  constructor(
    private readonly log: Logger,
    private readonly changed: () => void,
  ) {}

  /** set replaces the relays (a new map), keeping the one in use if it is still listed. */
  set(list: RelayClient[]): void {
    const was = this.inUse?.name;
    this.list = list;
    this.inUse = list.find((r) => r.name === was) ?? null;
    for (const r of list) r.probe?.remeasure();
    this.choose();
  }

  /** tick drives registrations and probes, then revisits the choice. */
  tick(now: number): void {
    for (const r of this.list) {
      try {
        r.tick(now);
      } catch (e) {
        this.log.rateLimited('relay-tick', 10_000).warn(`relay ${r.name}: ${(e as Error).message}`);
      }
    }
    this.choose();
  }

  /** choose picks the relay to use (chooseRelay: nearest live, with hysteresis). */
  choose(): void {
    const cur = this.inUse === null ? -1 : this.list.indexOf(this.inUse);
    const i = chooseRelay(
      this.list.map((r) => ({ usable: r.usable, srtt: r.probe?.rtt.srtt ?? null })),
      cur,
    );
    const next = i < 0 ? null : this.list[i]!;
    if (next === this.inUse) return;
    const ms = (r: RelayClient | null): string => {
      const s = r?.probe?.rtt.srtt;
      return s === null || s === undefined ? '' : ` (${Math.round(s)} ms)`;
    };
    this.log.info(
      next === null
        ? `relays: none usable${this.inUse ? ` (${this.inUse.name} stopped)` : ''}`
        : `relays: using ${next.name}${ms(next)}${this.inUse ? ` instead of ${this.inUse.name}${ms(this.inUse)}` : ''}`,
    );
    if (this.inUse?.probe) this.inUse.probe.inUse = false;
    if (next?.probe) next.probe.inUse = true;
    this.inUse = next;
    this.changed();
  }

  /** indexFor returns the relay (index) to reach a peer through, or -1: see the file comment.
   * current is the relay index the peer's endpoint points at now, or -1. */
  indexFor(ownId: Uint8Array, peerId: Uint8Array, current: number): number {
    const cur = current >= 0 ? this.list[current] : undefined;
    if (cur !== undefined && cur.usable && !leads(ownId, peerId)) return current;
    return this.inUse === null ? -1 : this.list.indexOf(this.inUse);
  }

  close(): void {
    for (const r of this.list) r.close();
  }
}
