// HandshakeQueue: handshake and cookie messages (WireGuard whitepaper §5.4.2, §5.4.3, §5.4.7)
// wait here instead of being handled inside the receive batch that carried them. Each costs up
// to three X25519 operations (about 0.1 ms each on this JavaScript stack), which anyone who
// knows our public key can ask for, so handled inline a flood of them would hold up every data
// packet behind it. The receive path only checks the type and size and copies the message into
// a fixed set of slots. The slots are shared fairly between source networks (IPv4 /24, IPv6 /64): each
// network waits in its own FIFO, the drain takes one message from each in turn, and when every
// slot is taken a newcomer from a network holding at least two fewer than the fullest one takes
// that one's oldest message's place (counted as dropped). Otherwise a flood from many addresses
// would keep the queue full, a genuine peer's initiation would find room a few times in a
// hundred, and its sessions would expire (REJECT_AFTER_TIME, §6) while the flood lasts. The
// queue is drained after the data that is already waiting (setImmediate runs after the event loop's I/O callbacks), at most
// TURN_MS per turn, so a data batch never waits longer than that, and at most CPU_SHARE of the
// time overall, so a flood cannot take more than that from the data path however it is built.
// How full the queue is tells the protocol when it is under load (§5.3), as in wireguard-go.
import type { DropCounters } from './counters.js';
import { copyWords, sourceNetworkKey } from '../../../../src-shared/lib/ip/words.js';

/** HANDSHAKE_QUEUE_SIZE bounds the messages waiting (wireguard-go's QueueHandshakeSize). */
export const HANDSHAKE_QUEUE_SIZE = 1024;
/** UNDER_LOAD_FILL: from this many waiting messages on, cookies are demanded (wireguard-go: 1/8). */
export const UNDER_LOAD_FILL = HANDSHAKE_QUEUE_SIZE / 8;
/** UNDER_LOAD_AFTER_MS: the load state lasts this long after the queue was last that full, so it
 * does not flap while a flood goes on (wireguard-go's UnderLoadAfterTime). */
export const UNDER_LOAD_AFTER_MS = 1000;
/** TURN_MS is the longest one drain turn runs before it yields to waiting I/O. */
export const TURN_MS = 1;
/** CPU_SHARE is the fraction of the time the drain may use, averaged over CREDIT_MAX_MS / CPU_SHARE.
 * It is wall-clock time, and on a loaded machine the helper gets much less than a core, so the
 * drain's part of what the helper really gets is larger than this. In the e2e flood on a shared
 * 2-core machine, TCP through the tunnel kept 65 to 86% of its rate with a tenth, 81 to 88% with
 * a twentieth (the machine was busier during the first runs). A twentieth still answers a few
 * hundred handshakes a second (0.1 to 0.3 ms each), far more than a peer set needs. */
export const CPU_SHARE = 0.05;
/** CREDIT_MAX_MS: the drain saves up at most this much time, so a burst of genuine handshakes
 * (every peer at start) is answered at once. */
export const CREDIT_MAX_MS = 20;

/** MESSAGE_SIZES: the exact size of each handshake-path message type (§5.4.2, §5.4.3, §5.4.7). */
const MESSAGE_SIZES: readonly number[] = [0, 148, 92, 64];
const SLOT = 148;

/** HandshakeRunner handles one message from the address at words[at .. at+3] (lib/ip/words.ts)
 * that arrived on the local address at local[at .. at+3]; buf, words and local may be reused
 * once it returns. */
export type HandshakeRunner = (
  buf: Buffer,
  off: number,
  len: number,
  words: Uint32Array,
  at: number,
  port: number,
  local: Uint32Array,
  now: number,
) => void;

/** Network is one source network's FIFO of slots, linked into the drain's round. Networks are
 * keyed by sourceNetworkKey: an IPv4 /24 or an IPv6 /64, the unit an attacker with many
 * addresses usually holds (the relay's limits use the /24 too). */
interface Network {
  key: number | string;
  head: number;
  tail: number;
  count: number;
  prev: Network;
  next: Network;
}

/** HandshakeQueue holds waiting handshake messages, fair between source networks, and drains them on a budget. */
export class HandshakeQueue {
  private readonly slots = Buffer.alloc(HANDSHAKE_QUEUE_SIZE * SLOT);
  private readonly lengths = new Uint8Array(HANDSHAKE_QUEUE_SIZE);
  private readonly words = new Uint32Array(HANDSHAKE_QUEUE_SIZE * 4);
  private readonly ports = new Uint16Array(HANDSHAKE_QUEUE_SIZE);
  private readonly locals = new Uint32Array(HANDSHAKE_QUEUE_SIZE * 4);
  /** after[i] is the slot queued after slot i by the same network, or -1. */
  private readonly after = new Int32Array(HANDSHAKE_QUEUE_SIZE);
  private readonly free = new Int32Array(HANDSHAKE_QUEUE_SIZE);
  private freeCount = HANDSHAKE_QUEUE_SIZE;
  private readonly networks = new Map<number | string, Network>();
  /** turn is the network the drain serves next (the round is circular), null when empty. */
  private turn: Network | null = null;
  /** fullest is a network holding the most messages, or close to it: kept on push, found again
   * only when it empties, so a full queue costs O(1) per newcomer. */
  private fullest: Network | null = null;
  private count = 0;
  private credit = CREDIT_MAX_MS;
  private creditAt: number;
  private loadedAt = -Infinity;
  private immediate: NodeJS.Immediate | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly run: HandshakeRunner,
    private readonly drops: DropCounters,
    private readonly clock: () => number,
  ) {
    this.creditAt = clock();
    for (let i = 0; i < HANDSHAKE_QUEUE_SIZE; i++) this.free[i] = HANDSHAKE_QUEUE_SIZE - 1 - i;
  }

  /** length is the number of messages waiting. */
  get length(): number {
    return this.count;
  }

  /**
   * push copies message type 1, 2 or 3 at buf[off, off+len) from the address at words[at] and
   * port, received on the local address at local[at], into a slot and schedules the drain. A message of the wrong size is dropped as 'bad-length' (the protocol
   * would refuse it too). When every slot is taken, the newcomer takes the place of the fullest
   * network's oldest message if its own network holds at least two fewer, else it is dropped;
   * either way one message is counted as 'handshake-queue-full'.
   */
  push(
    type: number,
    buf: Buffer,
    off: number,
    len: number,
    words: Uint32Array,
    at: number,
    port: number,
    local: Uint32Array,
  ): void {
    if (len !== MESSAGE_SIZES[type]) {
      this.drops.add('bad-length');
      return;
    }
    const key = sourceNetworkKey(words, at);
    if (this.count === HANDSHAKE_QUEUE_SIZE) {
      this.drops.add('handshake-queue-full');
      const fullest = this.fullest!;
      // Only a network holding at least two more than the newcomer's gives up a slot: equal
      // shares stay as they are, and the fullest never empties here (forget's scan is then paid
      // only when the drain empties it, at the drain's pace, not at the flood's).
      if (fullest.count < (this.networks.get(key)?.count ?? 0) + 2) return;
      this.release(this.shift(fullest));
    }
    if (this.freeCount === 0) {
      // The message being run holds the last slot until its runner returns: a push from inside
      // the runner finds the queue full.
      this.drops.add('handshake-queue-full');
      return;
    }
    const i = this.free[--this.freeCount]!;
    buf.copy(this.slots, i * SLOT, off, off + len);
    this.lengths[i] = len;
    copyWords(words, at, this.words, 4 * i);
    copyWords(local, at, this.locals, 4 * i);
    this.ports[i] = port;
    this.append(this.network(key), i);
    if (this.count >= UNDER_LOAD_FILL) this.loadedAt = this.clock();
    if (this.immediate === null && this.timer === null) this.immediate = setImmediate(() => this.drain());
  }

  /** underLoad tells whether cookies should be demanded now (whitepaper §5.3). */
  underLoad(now: number): boolean {
    if (this.count >= UNDER_LOAD_FILL) this.loadedAt = now;
    return now - this.loadedAt < UNDER_LOAD_AFTER_MS;
  }

  /** clear forgets every waiting message (disconnect) and stops the drain. */
  clear(): void {
    for (const n of this.networks.values()) while (n.count > 0) this.release(this.shift(n));
    this.stop();
  }

  /** stop cancels a scheduled drain; push schedules the next one. */
  stop(): void {
    if (this.immediate !== null) clearImmediate(this.immediate);
    if (this.timer !== null) clearTimeout(this.timer);
    this.immediate = null;
    this.timer = null;
  }

  /** drain runs waiting messages until the queue is empty, the turn is over or the share is used. */
  drain(): void {
    this.immediate = null;
    this.timer = null;
    const start = this.clock();
    this.credit = Math.min(CREDIT_MAX_MS, this.credit + Math.max(0, start - this.creditAt) * CPU_SHARE);
    this.creditAt = start;
    let now = start;
    while (this.turn !== null && this.credit > 0 && now - start < TURN_MS) {
      const network = this.turn;
      this.turn = network.next;
      const i = this.shift(network);
      try {
        this.run(this.slots, i * SLOT, this.lengths[i]!, this.words, 4 * i, this.ports[i]!, this.locals, now);
      } finally {
        this.release(i);
      }
      const after = this.clock();
      this.credit -= after - now;
      now = after;
    }
    if (this.count === 0) return;
    if (this.credit > 0) this.immediate = setImmediate(() => this.drain());
    else this.timer = setTimeout(() => this.drain(), Math.ceil(-this.credit / CPU_SHARE) + 1);
  }

  /** network finds or makes the FIFO of a source network, new ones joining the round last. */
  private network(key: number | string): Network {
    let n = this.networks.get(key);
    if (n !== undefined) return n;
    n = { key, head: -1, tail: -1, count: 0 } as Network;
    if (this.turn === null) {
      n.prev = n;
      n.next = n;
      this.turn = n;
    } else {
      n.prev = this.turn.prev;
      n.next = this.turn;
      n.prev.next = n;
      this.turn.prev = n;
    }
    this.networks.set(key, n);
    return n;
  }

  /** append queues slot i at the tail of network n. */
  private append(n: Network, i: number): void {
    this.after[i] = -1;
    if (n.tail === -1) n.head = i;
    else this.after[n.tail] = i;
    n.tail = i;
    n.count++;
    this.count++;
    if (this.fullest === null || n.count > this.fullest.count) this.fullest = n;
  }

  /** shift takes network n's oldest slot out of the queue; an emptied network leaves the round. */
  private shift(n: Network): number {
    const i = n.head;
    n.head = this.after[i]!;
    if (n.head === -1) n.tail = -1;
    n.count--;
    this.count--;
    if (n.count === 0) this.forget(n);
    return i;
  }

  /** release gives slot i back once its message was run or dropped. */
  private release(i: number): void {
    this.free[this.freeCount++] = i;
  }

  /** forget takes an empty network out of the round and the table. */
  private forget(n: Network): void {
    this.networks.delete(n.key);
    if (n.next === n) this.turn = null;
    else {
      n.prev.next = n.next;
      n.next.prev = n.prev;
      if (this.turn === n) this.turn = n.next;
    }
    if (this.fullest === n) {
      this.fullest = null;
      for (const m of this.networks.values())
        if (this.fullest === null || m.count > this.fullest.count) this.fullest = m;
    }
  }
}
