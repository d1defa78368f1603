// Per-peer protocol state: handshake, the previous/current/next keypairs (WireGuard
// whitepaper §5.4.6) and the timers of §6, driven the way wireguard-go drives them
// (SendHandshakeInitiation, BeginSymmetricSession, ReceivedWithKeypair, keepKeyFresh*).
import { inspect } from 'node:util';
import {
  KEEPALIVE_TIMEOUT,
  KEY_SIZE,
  LAST_MINUTE_REKEY_AGE,
  MAX_TIMER_HANDSHAKES,
  REKEY_AFTER_MESSAGES,
  REKEY_AFTER_TIME,
  REKEY_TIMEOUT,
  ZERO_KEYS_AFTER,
} from './constants.js';
import { CookieGenerator } from './cookie.js';
import { tai64n } from './crypto.js';
import {
  createInitiation,
  createResponse,
  deriveSession,
  Handshake,
  newEphemeral,
  nextTimestamp,
  type Identity,
} from './handshake.js';
import { Keypair } from './keypair.js';
import { due, PeerTimers, pooledJitter } from './timers.js';

/** TickAction is what a timer asks the device to do: 'send-initiation' sends `message` to the
 * peer's endpoint; 'send-keepalive' seals an empty payload with peer.sendKeypair(now) (only
 * emitted when there is one) and reports it with sentData(now, 1, true); 'handshake-failed'
 * means REKEY_ATTEMPT_TIME passed without an answer: drop the packets queued for the peer. */
export type TickAction =
  | { kind: 'send-initiation'; peer: NoisePeer; message: Buffer }
  | { kind: 'send-keepalive'; peer: NoisePeer }
  | { kind: 'handshake-failed'; peer: NoisePeer };

/** PeerContext is what a peer needs from its core: our identity, randomness, clocks and the
 * shared index table. */
export interface PeerContext {
  readonly identity: Identity;
  /** staticStatic is DH(our static, remote): null when the key is low-order or we have none. */
  staticStatic(remote: Buffer): Buffer | null;
  random(n: number): Buffer;
  wallClockNs(): bigint;
  allocateIndex(peer: NoisePeer): number;
  bindIndex(index: number, peer: NoisePeer, keypair: Keypair): void;
  freeIndex(index: number): void;
}

/** NoisePeer is the protocol state for one remote static key. */
export class NoisePeer {
  readonly publicKey: Buffer;
  /** lastHandshakeAt is the wall-clock time (ms since the epoch) of the last completed handshake. */
  lastHandshakeAt: number | null = null;
  /** handshakesCompleted counts completed handshakes, either side initiating (the metrics). */
  handshakesCompleted = 0;
  /** lastHandshakeNs is the same instant in ns since the epoch, as the UAPI reports it
   * (last_handshake_time_sec and _nsec). */
  lastHandshakeNs: bigint | null = null;
  /** handshake is the Noise state with this peer (core-internal, like every member below
   * that the public API in index.ts does not document). */
  readonly handshake: Handshake;
  /** cookies adds our macs and keeps this peer's cookie. */
  readonly cookies: CookieGenerator;
  /** timers holds the deadlines of §6. */
  readonly timers: PeerTimers;
  private previous: Keypair | null = null;
  private current: Keypair | null = null;
  private next: Keypair | null = null;
  private keepaliveSeconds = 0;
  private lastSentHandshakeAt: number | null = null;
  private pendingInitiation = false;
  private startupKeepalive = false;
  private removed = false;

  constructor(
    private readonly ctx: PeerContext,
    publicKey: Buffer,
    presharedKey: Buffer,
    persistentKeepalive: number,
  ) {
    this.publicKey = Buffer.from(publicKey);
    this.handshake = new Handshake(this.publicKey, Buffer.from(presharedKey), ctx.staticStatic(this.publicKey));
    this.cookies = new CookieGenerator(this.publicKey);
    this.timers = new PeerTimers(pooledJitter((n) => ctx.random(n)));
    this.persistentKeepalive = persistentKeepalive;
  }

  /** persistentKeepalive is the keepalive interval in seconds (0 = off). Turning it on sends a
   * keepalive (and so a handshake) at the next tick, as wireguard-go does, so a peer behind NAT
   * becomes reachable without first having traffic of its own. */
  get persistentKeepalive(): number {
    return this.keepaliveSeconds;
  }
  set persistentKeepalive(seconds: number) {
    const s = Number.isFinite(seconds) && seconds > 0 ? Math.min(Math.floor(seconds), 65535) : 0;
    if (this.keepaliveSeconds === 0 && s > 0) this.startupKeepalive = true;
    if (s === 0) this.timers.persistentKeepaliveAt = null;
    this.keepaliveSeconds = s;
  }

  /** setPresharedKey changes the preshared key in place and says whether it changed. A new key
   * erases the sessions and the handshake derived with the old one (zeroAll). What protects
   * the peer stays: the greatest timestamp accepted from it, so no initiation captured before
   * can be replayed (§5.1), the initiation flood limit, our own last timestamp and its cookie. */
  setPresharedKey(psk: Buffer): boolean {
    assertKey(psk, 'preshared key');
    if (psk.equals(this.handshake.presharedKey)) return false;
    psk.copy(this.handshake.presharedKey);
    this.zeroAll();
    return true;
  }

  /** usable says the peer's key allows handshakes (not low-order) and it was not removed. */
  get usable(): boolean {
    return !this.removed && this.handshake.staticStatic !== null;
  }

  /** sendKeypair returns the session to encrypt with now, or null (none, too old, or used up). */
  sendKeypair(now: number): Keypair | null {
    const kp = this.current;
    return kp && kp.canSend(now) ? kp : null;
  }

  /** initiate returns a new initiation to send, or null when one went out less than
   * REKEY_TIMEOUT ago (or the peer cannot handshake). It starts a fresh attempt count, so a
   * peer that gave up tries again once there is new data for it. */
  initiate(now: number): Buffer | null {
    return this.sendInitiation(now, false);
  }

  /** sentData records that the device sent `count` transport messages; it returns an
   * initiation when the current session should be renewed (REKEY_AFTER_MESSAGES, or we
   * initiated it more than REKEY_AFTER_TIME ago), else null. */
  sentData(now: number, count: number, isKeepalive: boolean): Buffer | null {
    if (count <= 0 || this.removed) return null;
    this.timers.anyAuthenticatedPacketTraversal(now, this.keepaliveSeconds);
    this.timers.anyAuthenticatedPacketSent();
    if (!isKeepalive) this.timers.dataSent(now);
    const kp = this.current;
    if (kp && (kp.sendCounter > REKEY_AFTER_MESSAGES || (kp.isInitiator && now - kp.createdAt > REKEY_AFTER_TIME))) {
      return this.sendInitiation(now, false);
    }
    return null;
  }

  /** Keys and handshake secrets never appear in logs or console output. */
  [inspect.custom](): string {
    return `NoisePeer(${this.publicKey.toString('base64')})`;
  }

  /** keypairs exposes the rotation slots for status and tests. */
  keypairs(): { previous: Keypair | null; current: Keypair | null; next: Keypair | null } {
    return { previous: this.previous, current: this.current, next: this.next };
  }

  /** sendInitiation is wireguard-go's SendHandshakeInitiation(isRetry). */
  sendInitiation(now: number, isRetry: boolean): Buffer | null {
    if (!isRetry) this.timers.handshakeAttempts = 0;
    if (!this.usable) return null;
    if (this.lastSentHandshakeAt !== null && now - this.lastSentHandshakeAt < REKEY_TIMEOUT) return null;
    const hs = this.handshake;
    if (hs.localIndex !== 0) this.ctx.freeIndex(hs.localIndex);
    hs.localIndex = 0;
    const index = this.ctx.allocateIndex(this);
    const stamp = nextTimestamp(tai64n(this.ctx.wallClockNs()), hs.lastSentTimestamp);
    const msg = createInitiation(
      this.ctx.identity,
      hs,
      newEphemeral((n) => this.ctx.random(n)),
      stamp,
      index,
    );
    if (!msg) {
      this.ctx.freeIndex(index);
      return null;
    }
    hs.lastSentTimestamp = stamp;
    this.lastSentHandshakeAt = now;
    this.pendingInitiation = false;
    this.cookies.addMacs(msg, now);
    this.timers.anyAuthenticatedPacketTraversal(now, this.keepaliveSeconds);
    this.timers.anyAuthenticatedPacketSent();
    this.timers.handshakeInitiated(now);
    return msg;
  }

  /** respond: a valid initiation from this peer was consumed; answer it and
   * derive the responder's session, which waits in `next` until the peer uses it. */
  respond(now: number): Buffer | null {
    this.timers.anyAuthenticatedPacketTraversal(now, this.keepaliveSeconds);
    this.timers.anyAuthenticatedPacketReceived();
    const hs = this.handshake;
    if (hs.localIndex !== 0) this.ctx.freeIndex(hs.localIndex);
    hs.localIndex = 0;
    const index = this.ctx.allocateIndex(this);
    const msg = createResponse(
      hs,
      newEphemeral((n) => this.ctx.random(n)),
      index,
    );
    if (!msg) {
      this.ctx.freeIndex(index);
      hs.clear();
      return null;
    }
    this.cookies.addMacs(msg, now);
    this.lastSentHandshakeAt = now;
    this.beginSession(now);
    this.timers.sessionDerived(now);
    this.timers.anyAuthenticatedPacketTraversal(now, this.keepaliveSeconds);
    this.timers.anyAuthenticatedPacketSent();
    return msg;
  }

  /** responseConsumed: our initiation was answered; the new session is current. */
  responseConsumed(now: number): void {
    this.timers.anyAuthenticatedPacketTraversal(now, this.keepaliveSeconds);
    this.timers.anyAuthenticatedPacketReceived();
    this.beginSession(now);
    this.timers.sessionDerived(now);
    this.handshakeComplete();
  }

  /** receivedData is NoiseCore.receivedData for this peer. */
  receivedData(kp: Keypair, now: number, isKeepalive: boolean): void {
    if (this.removed) return;
    if (kp === this.next) {
      // wireguard-go's ReceivedWithKeypair: the initiator used the responder's new session, so
      // it is confirmed and becomes current; the old current stays as previous for stragglers.
      this.dropKeypair(this.previous);
      this.previous = this.current;
      this.current = this.next;
      this.next = null;
      this.handshakeComplete();
    }
    const cur = this.current;
    if (
      !this.timers.sentLastMinuteHandshake &&
      cur &&
      cur.isInitiator &&
      now - cur.createdAt >= LAST_MINUTE_REKEY_AGE
    ) {
      // keepKeyFreshReceiving: the device cannot send from here, so the next tick sends it.
      this.timers.sentLastMinuteHandshake = true;
      this.pendingInitiation = true;
    }
    this.timers.anyAuthenticatedPacketTraversal(now, this.keepaliveSeconds);
    this.timers.anyAuthenticatedPacketReceived();
    if (!isKeepalive) this.timers.dataReceived(now);
  }

  /** tick runs the expired timers of §6 and appends what the device must do. */
  tick(now: number, out: TickAction[]): void {
    if (this.removed) return;
    const t = this.timers;
    if (due(t.zeroKeysAt, now)) {
      t.zeroKeysAt = null;
      this.zeroAll();
    }
    if (due(t.retransmitAt, now)) {
      t.retransmitAt = null;
      // The first initiation was attempt 1, so after MAX_TIMER_HANDSHAKES sends (about
      // REKEY_ATTEMPT_TIME) we give up until the device has new data for this peer.
      if (t.handshakeAttempts + 1 >= MAX_TIMER_HANDSHAKES) {
        t.sendKeepaliveAt = null;
        t.needAnotherKeepalive = false;
        this.pendingInitiation = false;
        if (t.zeroKeysAt === null) t.zeroKeysAt = now + ZERO_KEYS_AFTER;
        out.push({ kind: 'handshake-failed', peer: this });
      } else {
        t.handshakeAttempts++;
        this.pushInitiation(now, true, out);
      }
    }
    if (due(t.newHandshakeAt, now)) {
      t.newHandshakeAt = null;
      this.pushInitiation(now, false, out);
    }
    let keepalive = false;
    if (due(t.sendKeepaliveAt, now)) {
      t.sendKeepaliveAt = null;
      keepalive = true;
      if (t.needAnotherKeepalive) {
        t.needAnotherKeepalive = false;
        t.sendKeepaliveAt = now + KEEPALIVE_TIMEOUT;
      }
    }
    if (due(t.persistentKeepaliveAt, now)) {
      t.persistentKeepaliveAt = null;
      if (this.keepaliveSeconds > 0) keepalive = true;
    }
    if (this.startupKeepalive) {
      this.startupKeepalive = false;
      if (this.keepaliveSeconds > 0) keepalive = true;
    }
    if (keepalive) {
      // wireguard-go's SendKeepalive queues an empty packet, and a packet with no usable
      // session starts a handshake instead.
      if (this.sendKeypair(now)) out.push({ kind: 'send-keepalive', peer: this });
      else this.pushInitiation(now, false, out);
    }
    if (this.pendingInitiation) {
      this.pendingInitiation = false;
      this.pushInitiation(now, false, out);
    }
  }

  /** zeroAll erases every session and the handshake in progress (wireguard-go's
   * ZeroAndFlushAll); the replay-protection timestamps are kept. */
  zeroAll(): void {
    this.dropKeypair(this.previous);
    this.dropKeypair(this.current);
    this.dropKeypair(this.next);
    this.previous = this.current = this.next = null;
    if (this.handshake.localIndex !== 0) this.ctx.freeIndex(this.handshake.localIndex);
    this.handshake.clear();
  }

  /** restart lets the next initiation go out at once, as wireguard-go's peer.Start does when
   * a device comes up: the REKEY_TIMEOUT gap protects the peer from floods, not from a
   * reconnect. */
  restart(): void {
    this.lastSentHandshakeAt = null;
  }

  /** remove erases everything and makes the peer inert. */
  remove(): void {
    this.zeroAll();
    this.handshake.destroy();
    this.cookies.clear();
    this.timers.stopAll();
    this.removed = true;
  }

  private pushInitiation(now: number, isRetry: boolean, out: TickAction[]): void {
    const message = this.sendInitiation(now, isRetry);
    if (message) out.push({ kind: 'send-initiation', peer: this, message });
  }

  private handshakeComplete(): void {
    this.timers.handshakeComplete();
    const ns = this.ctx.wallClockNs();
    this.lastHandshakeNs = ns;
    this.lastHandshakeAt = Number(ns / 1_000_000n);
    this.handshakesCompleted++;
  }

  /** beginSession derives the keys of the finished handshake and rotates the slots as
   * wireguard-go's BeginSymmetricSession does. */
  private beginSession(now: number): void {
    const keys = deriveSession(this.handshake);
    if (!keys) return;
    const kp = new Keypair({ ...keys, createdAt: now });
    this.ctx.bindIndex(kp.localIndex, this, kp);
    if (keys.isInitiator) {
      if (this.next) {
        this.dropKeypair(this.previous);
        this.previous = this.next;
        this.next = null;
        this.dropKeypair(this.current);
      } else {
        this.dropKeypair(this.previous);
        this.previous = this.current;
      }
      this.current = kp;
    } else {
      this.dropKeypair(this.next);
      this.next = kp;
      this.dropKeypair(this.previous);
      this.previous = null;
    }
  }

  private dropKeypair(kp: Keypair | null): void {
    if (!kp) return;
    this.ctx.freeIndex(kp.localIndex);
    kp.zero();
  }
}

/** assertKey checks a key argument from the device (a programming error, so it throws). */
export function assertKey(k: Buffer, what: string): void {
  if (!Buffer.isBuffer(k) || k.length !== KEY_SIZE) throw new Error(`${what} must be 32 bytes`);
}
