// RelaySet holds the relays the map lists (one RelayClient each, registered with all of them)
// and which one new relayed sessions use: the nearest live one by measured round trip, kept
// until another is clearly nearer or it stops answering (relay-choice.ts).
//
// Both ends of a relayed pair must meet at the same relay, and each measures its own round
// trips, so the two may prefer different relays. The side with the lower peer id leads: it
// sends through its own choice. The other follows: it keeps sending through the relay the
// leader's packets last came through (WireGuard roaming points its endpoint there, whitepaper
// §2.1; the leader's relayed pings do the same, paths.ts, so an idle tunnel follows too), and uses its own choice only when that relay is not usable (not registered, or dead
// by its probes). When a relay goes away both sides see it stop answering probes within a few
// seconds, the leader moves to its next-nearest relay, and the follower moves with the leader's
// first packet through it (or to its own next-nearest, if it noticed first).
//
// A relay can also keep answering probes and yet stop carrying one peer's packets (its session
// for the peer was lost, a filter on the way passes small datagrams only). The relayed pings
// to a peer (paths.ts, every heartbeat, every second while one is unanswered) show that: a peer
// that answered through a relay and then leaves three pings through it unanswered over at least
// RELAY_SILENCE.afterMs gives that relay up for RELAY_SILENCE.avoidMs (or until it restarts),
// and goes through the nearest other usable one. Both sides' pings go unanswered (a pong comes
// back the way its ping went), so both move. Only once per answer: a peer that went offline
// moves once and not round every relay.
import type { Logger } from '../../../src-shared/lib/log.js';
import { PATH_TIMING, type PeerState } from './path-state.js';
import { chooseRelay, leads, nearest } from './relay-choice.js';
import type { RelayClient } from './relay-client.js';

/** RELAY_SILENCE: how long a relayed peer may stay silent through a relay that answers probes
 * before that relay is avoided for it, how long, and how often it is pinged meanwhile. */
export const RELAY_SILENCE = {
  afterMs: 3000,
  unanswered: 3,
  /** unanswered pings enough when the peer's packets come through another relay: a ping is sent
   * every pingEvery while one is unanswered, so the first went a second without an answer */
  unansweredSeenElsewhere: 2,
  avoidMs: 60_000,
  pingEvery: 1000,
} as const;

/** relayPingEvery: a relayed peer is pinged every heartbeat, and every second while a ping
 * through its relay is unanswered (for ten pings: a peer that went offline is not pinged
 * faster for ever). */
export function relayPingEvery(st: PeerState): number {
  const n = st.relayUnanswered;
  return n > 0 && n < 10 ? RELAY_SILENCE.pingEvery : PATH_TIMING.heartbeat;
}

// avoided: the relay st avoids now, if any. Avoiding ends early when that relay was dead and
// came back since (RelayClient.life): a relay that restarted has lost what went wrong.
function avoided(st: PeerState, list: readonly RelayClient[], now: number): string | null {
  const a = st.relayAvoid;
  if (a === null || a.until <= now) return null;
  const r = list.find((x) => x.name === a.name);
  return r === undefined || r.life === a.life ? a.name : null;
}

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
      this.list.map((r) => ({ usable: r.usable, srtt: r.srtt })),
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
  indexFor(ownId: Uint8Array, st: PeerState, current: number): number {
    const avoid = avoided(st, this.list, Date.now());
    const cur = current >= 0 ? this.list[current] : undefined;
    if (cur !== undefined && cur.usable && cur.name !== avoid && !leads(ownId, st.id)) return current;
    const mine = this.inUse === null ? -1 : this.list.indexOf(this.inUse);
    if (avoid === null || this.inUse?.name !== avoid) return mine;
    // The relay in use is avoided for this peer: the nearest other, or it after all if none.
    const other = nearest(this.list.map((r) => ({ usable: r.usable && r.name !== avoid, srtt: r.srtt })));
    return other >= 0 ? other : mine;
  }

  /** follows tells whether this side follows st's relay choice and relay i is one to follow to
   * (usable, not avoided for st): the leader's relayed pings then move our endpoint to it. */
  follows(ownId: Uint8Array, st: PeerState, i: number): boolean {
    const r = this.list[i];
    return r !== undefined && r.usable && avoided(st, this.list, Date.now()) !== r.name && !leads(ownId, st.id);
  }

  /** mayRoamTo tells whether st's endpoint may move to relay i because an authenticated packet
   * of st's came through it (WireGuard roaming, whitepaper §2.1). The follower goes where the
   * leader's packets come from, as long as that relay is one to follow to. The leader moves
   * only to its own choice for st: were it to roam to the follower's relay and pull itself back
   * on its next tick, its endpoint (what the data uses, and what status shows) would flap
   * between the two relays. Its choice changes, and it then roams, when the peer's packets come
   * through another relay while two pings through its own went unanswered: the follower left
   * a relay that stopped carrying the pair, which the leader's probes cannot show. */
  mayRoamTo(ownId: Uint8Array, st: PeerState, i: number, now: number): boolean {
    if (!leads(ownId, st.id)) return this.follows(ownId, st, i);
    const mine = this.indexFor(ownId, st, -1);
    if (mine === i) return true;
    if (mine < 0 || this.list[i]?.usable !== true || !this.silent(st, mine, now, true)) return false;
    this.giveUp(st, mine, now, true);
    return this.indexFor(ownId, st, -1) === i;
  }

  /** silent tells whether st, relayed through relay r, stopped answering through it (see the
   * file comment). It changes nothing: giveUp is what acts on it. seenElsewhere: st's packets
   * come through another relay, so two unanswered pings are enough. */
  silent(st: PeerState, r: number, now: number, seenElsewhere = false): boolean {
    const relay = this.list[r];
    // Only pings that went through r count against it.
    if (relay === undefined || st.relayPingVia !== relay.name) return false;
    const p = st.relayPong?.via === relay.name ? st.relayPong : null;
    // Without an answer through r since the peer came to it, silence proves nothing about r (the
    // peer may have gone offline), unless the peer's packets come through another relay: then the
    // peer is there and r does not carry the pair, answered before or not. Requiring an earlier
    // answer there left a leader that never heard its peer through r stuck on it for good.
    return seenElsewhere
      ? st.relayUnanswered >= RELAY_SILENCE.unansweredSeenElsewhere
      : p !== null && st.relayUnanswered >= RELAY_SILENCE.unanswered && now - p.at >= RELAY_SILENCE.afterMs;
  }

  /** giveUp avoids relay r for st for RELAY_SILENCE.avoidMs (or until r restarts) and forgets
   * the last answer through it, once silent said so; seenElsewhere as for silent, for the log. */
  giveUp(st: PeerState, r: number, now: number, seenElsewhere = false): void {
    const relay = this.list[r];
    if (relay === undefined) return;
    const p = st.relayPong?.via === relay.name ? st.relayPong : null;
    st.relayPong = null;
    st.relayAvoid = { name: relay.name, until: now + RELAY_SILENCE.avoidMs, life: relay.life };
    const since =
      p === null ? `since it was chosen (${st.relayUnanswered} pings)` : `for ${Math.round((now - p.at) / 1000)} s`;
    this.log.info(
      `path to ${st.name} (${st.identity}): no answer through relay ${relay.name} ${since} though it answers probes${seenElsewhere ? ", and the peer's packets come through another relay" : ''}; trying another relay`,
    );
  }

  close(): void {
    for (const r of this.list) r.close();
  }
}
