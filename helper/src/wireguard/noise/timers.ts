// Per-peer timer state of WireGuard, whitepaper §6.1-6.5, with the event hooks named and
// behaving as in wireguard-go's timers.go. Timers are deadlines (ms on the core's clock) that
// the peer's tick compares with `now`; a deadline fires once and is then cleared.
import { KEEPALIVE_TIMEOUT, REKEY_TIMEOUT, REKEY_TIMEOUT_JITTER_MAX, ZERO_KEYS_AFTER } from './constants.js';

/** PeerTimers holds the deadlines of one peer; null means not armed. */
export class PeerTimers {
  /** retransmitAt: resend the initiation (no response after REKEY_TIMEOUT + jitter). */
  retransmitAt: number | null = null;
  /** sendKeepaliveAt: we received data and have sent nothing since. */
  sendKeepaliveAt: number | null = null;
  needAnotherKeepalive = false;
  /** newHandshakeAt: we sent data and have heard nothing since. */
  newHandshakeAt: number | null = null;
  /** zeroKeysAt: erase all key material when no handshake happened for ZERO_KEYS_AFTER. */
  zeroKeysAt: number | null = null;
  /** persistentKeepaliveAt: the configured keepalive interval passed without traffic. */
  persistentKeepaliveAt: number | null = null;
  /** handshakeAttempts counts retransmissions of the current handshake attempt. */
  handshakeAttempts = 0;
  /** sentLastMinuteHandshake: the receive-side rekey near REJECT_AFTER_TIME already ran. */
  sentLastMinuteHandshake = false;

  constructor(private readonly jitterSource: () => number) {}

  /** jitter returns a random delay in [0, REKEY_TIMEOUT_JITTER_MAX). */
  jitter(): number {
    return Math.floor(this.jitterSource() * REKEY_TIMEOUT_JITTER_MAX);
  }

  /** dataSent: after an authenticated data (not keepalive) packet went out. */
  dataSent(now: number): void {
    if (this.newHandshakeAt === null) this.newHandshakeAt = now + KEEPALIVE_TIMEOUT + REKEY_TIMEOUT + this.jitter();
  }

  /** dataReceived: after an authenticated data (not keepalive) packet came in. */
  dataReceived(now: number): void {
    if (this.sendKeepaliveAt === null) this.sendKeepaliveAt = now + KEEPALIVE_TIMEOUT;
    else this.needAnotherKeepalive = true;
  }

  /** anyAuthenticatedPacketSent: anything we sent (data, keepalive, handshake) answers the peer. */
  anyAuthenticatedPacketSent(): void {
    this.sendKeepaliveAt = null;
  }

  /** anyAuthenticatedPacketReceived: the peer is alive, so no handshake for lack of replies. */
  anyAuthenticatedPacketReceived(): void {
    this.newHandshakeAt = null;
  }

  /** anyAuthenticatedPacketTraversal: restart the persistent keepalive interval. */
  anyAuthenticatedPacketTraversal(now: number, persistentKeepaliveSeconds: number): void {
    if (persistentKeepaliveSeconds > 0) this.persistentKeepaliveAt = now + persistentKeepaliveSeconds * 1000;
  }

  /** handshakeInitiated: an initiation went out; retransmit unless answered. */
  handshakeInitiated(now: number): void {
    this.retransmitAt = now + REKEY_TIMEOUT + this.jitter();
  }

  /** handshakeComplete: a session is confirmed; stop retrying. */
  handshakeComplete(): void {
    this.retransmitAt = null;
    this.handshakeAttempts = 0;
    this.sentLastMinuteHandshake = false;
  }

  /** sessionDerived: new keys exist; they are erased ZERO_KEYS_AFTER from now unless renewed. */
  sessionDerived(now: number): void {
    this.zeroKeysAt = now + ZERO_KEYS_AFTER;
  }

  /** stopAll disarms everything (peer removal). */
  stopAll(): void {
    this.retransmitAt = null;
    this.sendKeepaliveAt = null;
    this.newHandshakeAt = null;
    this.zeroKeysAt = null;
    this.persistentKeepaliveAt = null;
    this.needAnotherKeepalive = false;
  }
}

/** due says a deadline is armed and has passed. */
export function due(deadline: number | null, now: number): deadline is number {
  return deadline !== null && now >= deadline;
}

/** JITTER_POOL_BYTES is how much randomness pooledJitter fetches at once (64 draws). */
const JITTER_POOL_BYTES = 256;

/**
 * pooledJitter returns uniform draws in [0, 1) for PeerTimers, from a pool that random(n)
 * refills. The jitter is drawn again on the first data packet sent after every packet
 * received (whitepaper §6.5: the new-handshake timer is re-armed), so a two-way flow drew 4
 * random bytes per send batch, one randomBytes call and one Buffer each, on the packet path.
 */
export function pooledJitter(random: (n: number) => Buffer): () => number {
  let pool: Buffer | null = null;
  let at = 0;
  return () => {
    if (pool === null || at + 4 > pool.length) {
      pool = random(JITTER_POOL_BYTES);
      at = 0;
    }
    const v = pool.readUInt32LE(at);
    at += 4;
    return v / 0x1_0000_0000;
  };
}
