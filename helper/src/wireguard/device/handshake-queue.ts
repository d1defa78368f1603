// HandshakeQueue: handshake and cookie messages (WireGuard whitepaper §5.4.2, §5.4.3, §5.4.7)
// wait here instead of being handled inside the receive batch that carried them. Each costs up
// to three X25519 operations (about 0.1 ms each on this JavaScript stack), which anyone who
// knows our public key can ask for, so handled inline a flood of them would hold up every data
// packet behind it. The receive path only checks the type and size and copies the message into
// a fixed ring; a full ring drops the newcomer, counted. The ring is drained after the data
// that is already waiting (setImmediate runs after the event loop's I/O callbacks), at most
// TURN_MS per turn, so a data batch never waits longer than that, and at most CPU_SHARE of the
// time overall, so a flood cannot take more than that from the data path however it is built.
// How full the ring is tells the protocol when it is under load (§5.3), as in wireguard-go.
import type { DropCounters } from './counters.js';

/** HANDSHAKE_QUEUE_SIZE bounds the messages waiting (wireguard-go's QueueHandshakeSize). */
export const HANDSHAKE_QUEUE_SIZE = 1024;
/** UNDER_LOAD_FILL: from this many waiting messages on, cookies are demanded (wireguard-go: 1/8). */
export const UNDER_LOAD_FILL = HANDSHAKE_QUEUE_SIZE / 8;
/** UNDER_LOAD_AFTER_MS: the load state lasts this long after the ring was last that full, so it
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

/** HandshakeRunner handles one message; buf may be reused once it returns. */
export type HandshakeRunner = (buf: Buffer, off: number, len: number, addr: number, port: number, now: number) => void;

/** HandshakeQueue is a bounded ring of handshake messages and its budgeted drain. */
export class HandshakeQueue {
  private readonly slots = Buffer.alloc(HANDSHAKE_QUEUE_SIZE * SLOT);
  private readonly lengths = new Uint8Array(HANDSHAKE_QUEUE_SIZE);
  private readonly addrs = new Uint32Array(HANDSHAKE_QUEUE_SIZE);
  private readonly ports = new Uint16Array(HANDSHAKE_QUEUE_SIZE);
  private head = 0;
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
  }

  /** length is the number of messages waiting. */
  get length(): number {
    return this.count;
  }

  /**
   * push copies message type 1, 2 or 3 at buf[off, off+len) from addr:port into the ring and
   * schedules the drain. A message of the wrong size is dropped as 'bad-length' (the protocol
   * would refuse it too), one that finds the ring full as 'handshake-queue-full'.
   */
  push(type: number, buf: Buffer, off: number, len: number, addr: number, port: number): void {
    if (len !== MESSAGE_SIZES[type]) {
      this.drops.add('bad-length');
      return;
    }
    if (this.count === HANDSHAKE_QUEUE_SIZE) {
      this.drops.add('handshake-queue-full');
      return;
    }
    const i = (this.head + this.count) % HANDSHAKE_QUEUE_SIZE;
    buf.copy(this.slots, i * SLOT, off, off + len);
    this.lengths[i] = len;
    this.addrs[i] = addr;
    this.ports[i] = port;
    this.count++;
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
    this.count = 0;
    this.head = 0;
    this.stop();
  }

  /** stop cancels a scheduled drain; push schedules the next one. */
  stop(): void {
    if (this.immediate !== null) clearImmediate(this.immediate);
    if (this.timer !== null) clearTimeout(this.timer);
    this.immediate = null;
    this.timer = null;
  }

  /** drain runs waiting messages until the ring is empty, the turn is over or the share is used. */
  drain(): void {
    this.immediate = null;
    this.timer = null;
    const start = this.clock();
    this.credit = Math.min(CREDIT_MAX_MS, this.credit + Math.max(0, start - this.creditAt) * CPU_SHARE);
    this.creditAt = start;
    let now = start;
    while (this.count > 0 && this.credit > 0 && now - start < TURN_MS) {
      const i = this.head;
      this.head = (this.head + 1) % HANDSHAKE_QUEUE_SIZE;
      this.count--;
      this.run(this.slots, i * SLOT, this.lengths[i]!, this.addrs[i]!, this.ports[i]!, now);
      const after = this.clock();
      this.credit -= after - now;
      now = after;
    }
    if (this.count === 0) return;
    if (this.credit > 0) this.immediate = setImmediate(() => this.drain());
    else this.timer = setTimeout(() => this.drain(), Math.ceil(-this.credit / CPU_SHARE) + 1);
  }
}
