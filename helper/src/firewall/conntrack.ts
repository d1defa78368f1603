// Connection tracking table: DESIGN.md convention 3. A flow's key is
// direction-normalised, (peer slot, local address, remote address, local port, remote port,
// protocol), so a packet and its reply find the same entry; which side started the flow is a
// value (initiator), so one lookup serves both directions. ICMP echo flows use the identifier as
// both ports.
//
// The table is open addressing over typed arrays (no object per flow, no allocation per packet)
// with a bounded probe window: a key lives within PROBE slots of its hash, so lookups cost at
// most PROBE reads even in a flood. When a window is full, an insert evicts the window's least
// recently seen flow; when the table holds maxFlows flows, it evicts the best of a few flows at a
// clock hand. Both prefer flows whose responder never answered, so a SYN flood evicts its own
// half-open flows before established ones. The hash is seeded per table so that remote parties
// cannot aim collisions.
import { randomInt } from 'node:crypto';

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

/** PROBE is the longest run of slots a key may be placed from its hash. */
export const PROBE = 32;

// How many flows one eviction looks at when the table is at its bound.
const EVICT_SAMPLE = 8;

/** FlowTable is the bounded, allocation-free flow table. Slot arrays are public so the filter
 * can read and update a flow in place after one lookup. */
export class FlowTable {
  readonly maxFlows: number;
  readonly capacity: number;
  count = 0;
  evictions = 0;
  readonly kPeer: Uint32Array;
  readonly kLocal: Uint32Array;
  readonly kRemote: Uint32Array;
  /** kPorts packs localPort << 16 | remotePort. */
  readonly kPorts: Uint32Array;
  readonly kProto: Uint8Array;
  readonly state: Uint8Array;
  readonly initiator: Uint8Array;
  readonly flags: Uint8Array;
  readonly version: Uint32Array;
  readonly expires: Float64Array;
  readonly lastSeen: Float64Array;
  private readonly mask: number;
  private readonly seed: number;
  private hand = 0;

  constructor(maxFlows = 65536) {
    if (!Number.isInteger(maxFlows) || maxFlows < 1 || maxFlows > 1 << 22)
      throw new RangeError(`maxFlows must be 1..${1 << 22}`);
    this.maxFlows = maxFlows;
    let cap = 32;
    // A quarter full at the bound keeps probe runs far shorter than PROBE (about 40 bytes a slot).
    while (cap < maxFlows * 4) cap *= 2;
    this.capacity = cap;
    this.mask = cap - 1;
    this.seed = randomInt(0, 0x7fffffff);
    this.kPeer = new Uint32Array(cap);
    this.kLocal = new Uint32Array(cap);
    this.kRemote = new Uint32Array(cap);
    this.kPorts = new Uint32Array(cap);
    this.kProto = new Uint8Array(cap);
    this.state = new Uint8Array(cap);
    this.initiator = new Uint8Array(cap);
    this.flags = new Uint8Array(cap);
    this.version = new Uint32Array(cap);
    this.expires = new Float64Array(cap);
    this.lastSeen = new Float64Array(cap);
  }

  /** find returns the slot holding the key, or -1. */
  find(peer: number, local: number, remote: number, ports: number, proto: number): number {
    const h = this.hash(peer, local, remote, ports, proto);
    const mask = this.mask;
    for (let i = 0; i < PROBE; i++) {
      const s = (h + i) & mask;
      const st = this.state[s]!;
      if (st === FLOW_STATE.empty) return -1;
      if (
        st !== FLOW_STATE.deleted &&
        this.kRemote[s] === remote &&
        this.kPorts[s] === ports &&
        this.kLocal[s] === local &&
        this.kPeer[s] === peer &&
        this.kProto[s] === proto
      )
        return s;
    }
    return -1;
  }

  /** insert adds a key that find did not find and returns its slot (state set to `state`), or
   * -1 if no slot could be freed. Flows expired by `now` in the window are reclaimed first. */
  insert(
    peer: number,
    local: number,
    remote: number,
    ports: number,
    proto: number,
    state: number,
    now: number,
  ): number {
    const h = this.hash(peer, local, remote, ports, proto);
    const mask = this.mask;
    let free = -1;
    let victim = -1;
    let victimScore = Infinity;
    for (let i = 0; i < PROBE; i++) {
      const s = (h + i) & mask;
      let st = this.state[s]!;
      if (st >= 2 && this.expires[s]! <= now) {
        this.remove(s);
        st = this.state[s]!;
      }
      if (st < 2) {
        if (free < 0) free = s;
        if (st === FLOW_STATE.empty) break;
        continue;
      }
      // Flows that never got an answer go first; among equals, the least recently seen.
      const score = this.lastSeen[s]! + (this.flags[s]! & FLOW_FLAG.replied ? 1e15 : 0);
      if (score < victimScore) {
        victimScore = score;
        victim = s;
      }
    }
    let slot = free;
    if (slot < 0) {
      if (victim < 0) return -1;
      this.remove(victim);
      this.evictions++;
      slot = victim;
    } else if (this.count >= this.maxFlows) {
      if (!this.evictSample()) return -1;
    }
    this.kPeer[slot] = peer;
    this.kLocal[slot] = local;
    this.kRemote[slot] = remote;
    this.kPorts[slot] = ports;
    this.kProto[slot] = proto;
    this.state[slot] = state;
    this.flags[slot] = 0;
    this.initiator[slot] = 0;
    this.version[slot] = 0;
    this.expires[slot] = now;
    this.lastSeen[slot] = now;
    this.count++;
    return slot;
  }

  /** remove deletes the flow in slot s. A run of deleted slots that ends at an empty slot
   * becomes empty again, so lookups keep stopping early. */
  remove(s: number): void {
    if (!(s >= 0 && s < this.capacity) || this.state[s]! < 2) return;
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

  // evictSample removes the best victim among the next EVICT_SAMPLE flows after the clock hand,
  // an approximation of "least recently seen, unanswered first" over the whole table.
  private evictSample(): boolean {
    const mask = this.mask;
    let victim = -1;
    let victimScore = Infinity;
    let seen = 0;
    let s = this.hand;
    for (let n = 0; n < this.capacity && seen < EVICT_SAMPLE; n++, s = (s + 1) & mask) {
      if (this.state[s]! < 2) continue;
      seen++;
      const score = this.lastSeen[s]! + (this.flags[s]! & FLOW_FLAG.replied ? 1e15 : 0);
      if (score < victimScore) {
        victimScore = score;
        victim = s;
      }
    }
    this.hand = s;
    if (victim < 0) return false;
    this.remove(victim);
    this.evictions++;
    return true;
  }

  /** clear removes every flow. */
  clear(): void {
    this.state.fill(0);
    this.count = 0;
  }

  // hash mixes the key with murmur3's constants and finaliser, seeded per table.
  private hash(peer: number, local: number, remote: number, ports: number, proto: number): number {
    let h = this.seed ^ proto;
    h = mix(h, peer);
    h = mix(h, local);
    h = mix(h, remote);
    h = mix(h, ports);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    return h >>> 0;
  }
}

function mix(h: number, w: number): number {
  let k = Math.imul(w, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}
