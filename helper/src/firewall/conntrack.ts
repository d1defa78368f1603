// Connection tracking table: DESIGN.md convention 3. A flow's key is
// direction-normalised, (peer slot, local address, remote address, local port, remote port,
// protocol), so a packet and its reply find the same entry; which side started the flow is a
// value (initiator), so one lookup serves both directions. ICMP echo flows use the identifier as
// both ports. Flows of both families share the table (addresses as four words, IPv4 mapped:
// parsed.ts; how a slot stores them: flow-key.ts), so the per-peer shares count a peer's flows of
// both families together, and a flow of one family never matches a packet of the other.
//
// The table is open addressing over typed arrays (no object per flow, no allocation per packet)
// with a bounded probe window: a key lives within PROBE slots of its hash, so lookups cost at
// most PROBE reads even in a flood. The hash is seeded per table so that remote parties cannot
// aim collisions.
//
// Room is shared out by peer, so that no peer can push the others' flows out by opening many of
// its own. Each peer's flows are on a circular list (next/prev over the slots), and a peer may
// hold at most its share: SHARE_FACTOR times an even split of maxFlows between the configured
// peers, never less than SHARE_FLOOR (nor more than maxFlows). A peer at its share makes room by
// evicting one of its own flows. When the whole table is full, a peer that holds at least an even
// split evicts its own too; one that holds less evicts from the peer that holds the most, which
// then holds more than an even split. So a peer's flows up to an even split are never evicted by
// another peer, and a busy peer may still use what the others leave idle. A peer's flows whose
// responder never answered are on a list of their own and are evicted first, so a SYN flood
// evicts its own half-open flows before established ones; within a list an eviction takes the
// least recently seen of a few flows at the list's hand.
import { randomInt } from 'node:crypto';
import { FAMILY6, hash4, hash6, HIGH, isMapped, PROBE, probe, writeHigh } from './flow-key.js';

/** FLOW_STATE values; 0 and 1 mark empty and deleted slots. */
export const FLOW_STATE = {
  empty: 0,
  deleted: 1,
  tcpSynSent: 2,
  tcpSynReceived: 3,
  tcpEstablished: 4,
  tcpClosing: 5,
  udp: 6,
  icmpEcho: 7,
  other: 8,
} as const;

/** FLOW_FLAG bits. pickedUp marks a TCP flow first seen mid-stream, whose initiator is a guess. */
export const FLOW_FLAG = { finFromInitiator: 1, finFromResponder: 2, replied: 4, pickedUp: 8 } as const;

/** DIRECTION of the packet that started a flow. */
export const DIRECTION = { egress: 0, ingress: 1 } as const;

/** TIMEOUTS in ms. TCP established outlives Linux's default keepalive interval (2 h), so an
 * idle connection kept alive by the OS keeps its flow; TCP handshake and closing follow Linux's
 * conntrack defaults in spirit (short, since they are what floods create); UDP gets 30 s until
 * the responder answers, then 3 min, like Linux's unreplied/assured split; ICMP echo 30 s. */
export const TIMEOUTS = {
  tcpHandshake: 30_000,
  tcpEstablished: 2 * 3600_000 + 15 * 60_000,
  tcpClosing: 10_000,
  udpNew: 30_000,
  udpReplied: 180_000,
  icmpEcho: 30_000,
} as const;

export { PROBE };

/** SHARE_FACTOR and SHARE_FLOOR size a peer's share of the table (see the top of this file). */
export const SHARE_FACTOR = 4;
export const SHARE_FLOOR = 4096;

/** EVICT codes say why a flow was evicted; EVICTIONS holds their stable names. */
export const EVICT = { peerShare: 0, tableFull: 1, probeWindow: 2 } as const;
export const EVICTIONS: readonly string[] = ['peer-share', 'table-full', 'probe-window'];

// The high words an IPv4 lookup passes (never read: only IPv6 keys have high words).
const NO_HIGH = new Uint32Array(8);
// How many of a peer's flows one eviction looks at.
const EVICT_SAMPLE = 8;
// Peer slots are the device's, dense from 0; the per-peer arrays grow to the highest one seen.
const MAX_PEER_SLOTS = 1 << 20;

/** FlowTable is the bounded, allocation-free flow table. Slot arrays are public so the filter
 * can read and update a flow in place after one lookup. */
export class FlowTable {
  readonly maxFlows: number;
  readonly capacity: number;
  count = 0;
  /** evicted counts evictions by EVICT code. */
  readonly evicted = new Float64Array(EVICTIONS.length);
  readonly kPeer: Uint32Array;
  /** kLocal and kRemote hold the last word of each slot's addresses; kHigh the rest, for IPv6
   * flows only (flow-key.ts). */
  readonly kLocal: Uint32Array;
  readonly kRemote: Uint32Array;
  readonly kHigh: Uint32Array;
  /** kPorts packs localPort << 16 | remotePort. */
  readonly kPorts: Uint32Array;
  /** kProto is the protocol, with FAMILY6 set for an IPv6 flow. */
  readonly kProto: Uint16Array;
  readonly state: Uint8Array;
  readonly initiator: Uint8Array;
  readonly flags: Uint8Array;
  readonly version: Uint32Array;
  readonly expires: Float64Array;
  readonly lastSeen: Float64Array;
  private readonly mask: number;
  private readonly seed: number;
  // Each peer's flows are on two circular doubly linked lists of slots, unanswered and answered;
  // head[peer * 2 + answered] is a list's eviction hand (-1: empty), onList[slot] says which list
  // a flow is on. next and head are read by liveFlows (sweep.ts); only this class writes them.
  readonly next: Int32Array;
  private readonly prev: Int32Array;
  private readonly onList: Uint8Array;
  head = new Int32Array(0);
  private peerCount = new Uint32Array(0);
  private share: number;
  private evenSplit: number;

  constructor(maxFlows = 65536) {
    if (!Number.isInteger(maxFlows) || maxFlows < 1 || maxFlows > 1 << 22)
      throw new RangeError(`maxFlows must be 1..${1 << 22}`);
    this.maxFlows = maxFlows;
    let cap = 32;
    // A quarter full at the bound keeps probe runs far shorter than PROBE (about 51 bytes a slot, and 24 more
    // in kHigh's pages that IPv6 flows touch).
    while (cap < maxFlows * 4) cap *= 2;
    this.capacity = cap;
    this.mask = cap - 1;
    this.seed = randomInt(0, 0x7fffffff);
    this.kPeer = new Uint32Array(cap);
    this.kLocal = new Uint32Array(cap);
    this.kRemote = new Uint32Array(cap);
    this.kHigh = new Uint32Array(cap * HIGH);
    this.kPorts = new Uint32Array(cap);
    this.kProto = new Uint16Array(cap);
    this.state = new Uint8Array(cap);
    this.initiator = new Uint8Array(cap);
    this.flags = new Uint8Array(cap);
    this.version = new Uint32Array(cap);
    this.expires = new Float64Array(cap);
    this.lastSeen = new Float64Array(cap);
    this.next = new Int32Array(cap);
    this.prev = new Int32Array(cap);
    this.onList = new Uint8Array(cap);
    this.share = this.evenSplit = maxFlows;
  }

  /** evictions is the number of flows pushed out to make room, for any reason. */
  get evictions(): number {
    let n = 0;
    for (let i = 0; i < this.evicted.length; i++) n += this.evicted[i]!;
    return n;
  }

  /** peerShare is the most flows one peer may hold. */
  get peerShare(): number {
    return this.share;
  }

  /** setPeers sizes the shares for `peers` configured peers whose slots are below `slots`. Called
   * when the rule set changes, never per packet. */
  setPeers(peers: number, slots = peers): void {
    const n = Math.max(1, peers);
    this.evenSplit = this.maxFlows / n;
    this.share = Math.min(this.maxFlows, Math.max(Math.ceil(this.evenSplit * SHARE_FACTOR), SHARE_FLOOR));
    if (slots > this.peerCount.length) this.growPeers(slots);
  }

  /** flowsOf is the number of flows peer holds. */
  flowsOf(peer: number): number {
    return peer < this.peerCount.length ? this.peerCount[peer]! : 0;
  }

  /** find returns the slot holding the key whose local address is at addr[lo] and remote
   * address at addr[ro] (four words each, of one family), or -1. */
  find(peer: number, addr: Uint32Array, lo: number, ro: number, ports: number, proto: number): number {
    return isMapped(addr, lo)
      ? this.find4(peer, addr[lo + 3]!, addr[ro + 3]!, ports, proto)
      : this.find6(peer, addr, lo, ro, ports, proto);
  }

  /** find4 is find for an IPv4 key, its addresses as numbers: the filter knows the family from
   * the parser (reading it back from the address words cost a third of a lookup). */
  find4(peer: number, local: number, remote: number, ports: number, proto: number): number {
    const h = hash4(this.seed, peer, local, remote, ports, proto);
    return probe(this, h, peer, local, remote, ports, proto, NO_HIGH, 0, 0);
  }

  /** find6 is find for an IPv6 key (stored protocol with FAMILY6, high words compared too). */
  find6(peer: number, addr: Uint32Array, lo: number, ro: number, ports: number, proto: number): number {
    const h = hash6(this.seed, peer, addr, lo, ro, ports, proto);
    return probe(this, h, peer, addr[lo + 3]!, addr[ro + 3]!, ports, proto | FAMILY6, addr, lo, ro);
  }

  /** addresses writes slot s's local and remote addresses at out[at] and out[at + 4] (four words each, IPv4 mapped). */
  addresses(s: number, out: Uint32Array, at: number): void {
    const h = (this.kProto[s]! & FAMILY6) !== 0 ? s * HIGH : -1;
    for (let w = 0; w < 6; w++) out[at + w + (w < 3 ? 0 : 1)] = h < 0 ? (w % 3 === 2 ? 0xffff : 0) : this.kHigh[h + w]!;
    out[at + 3] = this.kLocal[s]!;
    out[at + 7] = this.kRemote[s]!;
  }

  /** insert adds a key (as find takes it) that find did not find and returns its slot (state set to `state`), or
   * -1 if no slot could be freed. Flows expired by `now` in the window are reclaimed first. */
  insert(
    peer: number,
    addr: Uint32Array,
    lo: number,
    ro: number,
    ports: number,
    proto: number,
    state: number,
    now: number,
  ): number {
    if (!this.makeRoom(peer, now)) return -1;
    const v6 = !isMapped(addr, lo);
    const local = addr[lo + 3]!;
    const remote = addr[ro + 3]!;
    const h = v6
      ? hash6(this.seed, peer, addr, lo, ro, ports, proto)
      : hash4(this.seed, peer, local, remote, ports, proto);
    const slot = this.claim(h, peer, now);
    if (slot < 0) return -1;
    this.kPeer[slot] = peer;
    this.kLocal[slot] = local;
    this.kRemote[slot] = remote;
    if (v6) writeHigh(this.kHigh, slot, addr, lo, ro);
    this.kPorts[slot] = ports;
    this.kProto[slot] = v6 ? proto | FAMILY6 : proto;
    this.state[slot] = state;
    this.flags[slot] = 0;
    this.initiator[slot] = 0;
    this.version[slot] = 0;
    this.expires[slot] = now;
    this.lastSeen[slot] = now;
    this.link(slot, peer << 1);
    this.peerCount[peer]!++;
    this.count++;
    return slot;
  }

  /** markReplied records that the responder of flow s answered (FLOW_FLAG.replied); such flows
   * are evicted only after all of their peer's unanswered ones. */
  markReplied(s: number): void {
    if (this.flags[s]! & FLOW_FLAG.replied || this.state[s]! < 2) return;
    this.flags[s]! |= FLOW_FLAG.replied;
    this.unlink(s);
    this.link(s, (this.kPeer[s]! << 1) | 1);
  }

  /** remove deletes the flow in slot s. A run of deleted slots that ends at an empty slot
   * becomes empty again, so lookups keep stopping early. */
  remove(s: number): void {
    if (!(s >= 0 && s < this.capacity) || this.state[s]! < 2) return;
    this.unlink(s);
    this.peerCount[this.kPeer[s]!]!--;
    this.count--;
    const mask = this.mask;
    if (this.state[(s + 1) & mask] !== FLOW_STATE.empty) {
      this.state[s] = FLOW_STATE.deleted;
      return;
    }
    this.state[s] = FLOW_STATE.empty;
    for (
      let i = (s - 1) & mask, n = 0;
      this.state[i] === FLOW_STATE.deleted && n < this.capacity;
      i = (i - 1) & mask, n++
    ) {
      this.state[i] = FLOW_STATE.empty;
    }
  }

  /** clear removes every flow. */
  clear(): void {
    this.state.fill(0);
    this.head.fill(-1);
    this.peerCount.fill(0);
    this.count = 0;
  }

  // makeRoom evicts a flow if peer is at its share or the table at its bound (top of this file).
  // It runs before a slot is chosen, so the removal cannot cut the probe run to that slot.
  private makeRoom(peer: number, now: number): boolean {
    if (peer >= this.peerCount.length) {
      if (peer >= MAX_PEER_SLOTS) return false;
      this.growPeers(peer + 1);
    }
    const own = this.peerCount[peer]!;
    if (own >= this.share) return this.evictFrom(peer, EVICT.peerShare, now);
    if (this.count < this.maxFlows) return true;
    return this.evictFrom(own >= this.evenSplit ? peer : this.largestPeer(), EVICT.tableFull, now);
  }

  // claim finds a slot for a new key in its probe window: a free one (reclaiming expired flows on
  // the way), else the window's best victim among peer's own flows; -1 if there is none.
  private claim(h: number, peer: number, now: number): number {
    const mask = this.mask;
    let victim = -1;
    let victimScore = Infinity;
    for (let i = 0; i < PROBE; i++) {
      const s = (h + i) & mask;
      if (this.state[s]! >= 2 && this.expires[s]! <= now) this.remove(s);
      if (this.state[s]! < 2) return s;
      if (this.kPeer[s] !== peer) continue;
      const score = this.lastSeen[s]! + (this.onList[s] === 1 ? 1e15 : 0);
      if (score < victimScore) {
        victimScore = score;
        victim = s;
      }
    }
    if (victim < 0) return -1;
    this.remove(victim);
    this.evicted[EVICT.probeWindow]!++;
    return victim;
  }

  // evictFrom removes a flow of peer. Unanswered flows go first, oldest first: their initiator's
  // next packet starts them again if policy still allows it. Among answered flows it takes the
  // least recently seen of the next EVICT_SAMPLE at the list's hand, and the hand moves past those
  // it looked at, so each is looked at again only after the others (a clock). An expired flow
  // does not count as an eviction.
  private evictFrom(peer: number, why: number, now: number): boolean {
    if (!(peer >= 0 && peer < this.peerCount.length)) return false;
    let victim = this.head[peer << 1]!;
    if (victim < 0) victim = this.sampleAnswered((peer << 1) | 1, now);
    if (victim < 0) return false;
    if (this.expires[victim]! > now) this.evicted[why]!++;
    this.remove(victim);
    return true;
  }

  // sampleAnswered picks a victim on an answered list (above), or -1 if it is empty.
  private sampleAnswered(list: number, now: number): number {
    const first = this.head[list]!;
    if (first < 0) return -1;
    let victim = first;
    let victimScore = Infinity;
    let s = first;
    for (let n = 0; n < EVICT_SAMPLE; n++) {
      const score = this.expires[s]! <= now ? -1 : this.lastSeen[s]!;
      if (score < victimScore) {
        victimScore = score;
        victim = s;
      }
      s = this.next[s]!;
      if (s === first) break;
    }
    this.head[list] = s;
    return victim;
  }

  // largestPeer is the peer slot holding the most flows (a scan of the peer slots, only when the
  // table is full and a peer below an even split needs room).
  private largestPeer(): number {
    let best = -1;
    let most = 0;
    for (let p = 0; p < this.peerCount.length; p++) {
      if (this.peerCount[p]! > most) {
        most = this.peerCount[p]!;
        best = p;
      }
    }
    return best;
  }

  // link appends slot s to list (peer * 2 + answered), just behind its hand.
  private link(s: number, list: number): void {
    this.onList[s] = list & 1;
    const h = this.head[list]!;
    if (h < 0) {
      this.next[s] = this.prev[s] = s;
      this.head[list] = s;
    } else {
      const t = this.prev[h]!;
      this.next[t] = s;
      this.prev[s] = t;
      this.next[s] = h;
      this.prev[h] = s;
    }
  }

  // unlink takes slot s off its list.
  private unlink(s: number): void {
    const list = (this.kPeer[s]! << 1) | this.onList[s]!;
    const n = this.next[s]!;
    if (n === s) {
      this.head[list] = -1;
    } else {
      const p = this.prev[s]!;
      this.next[p] = n;
      this.prev[n] = p;
      if (this.head[list] === s) this.head[list] = n;
    }
  }

  // growPeers widens the per-peer arrays (rare: a peer slot higher than any before).
  private growPeers(slots: number): void {
    const head = new Int32Array(slots * 2).fill(-1);
    head.set(this.head);
    const counts = new Uint32Array(slots);
    counts.set(this.peerCount);
    this.head = head;
    this.peerCount = counts;
  }
}
