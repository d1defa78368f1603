// Admission: registrations from screening to a session. RegisterCheck.screen runs where a
// registration arrives; what passes waits in a bounded queue (TurnQueue) whose drain verifies
// signatures for at most registerTurnMs per event-loop turn, after the I/O of that turn. So
// forwarding for registered sessions goes first and is never starved by registration work: a
// burst of registrations (forged ones that carry genuine tokens, or every system at once after
// a restart) waits its turn instead of holding up relayed packets, and what does not fit in the
// queue is dropped at once (counted as register-queue-full; clients register again).
import type { KeyObject } from 'node:crypto';
import { peerId } from '../../src-shared/wire/nat-wire.js';
import { relayRefused, relayRegistered } from '../../src-shared/wire/nat-relay.js';
import type { Logger } from '../../src-shared/lib/log.js';
import { TurnQueue } from '../../src-shared/lib/turn-queue.js';
import type { DropReason } from './drops.js';
import { RegisterCheck, type Checked, type Screened } from './register.js';
import type { SessionTable, Session } from './sessions.js';
import type { RelayLimits } from './options.js';

/** Admitted is a verified registration's outcome: a session, or a refusal to send back. */
export type Admitted = { session: Session; fresh: boolean; reply: Uint8Array } | { refusal: Uint8Array };

/** Deliver hears the outcome: null when the registration was dropped (counted) in verification. */
export type Deliver = (a: Admitted | null) => void;

interface Waiting {
  screened: Screened;
  deliver: Deliver;
  /** alive: false once the registration no longer matters (its TCP connection closed) */
  alive: () => boolean;
}

/** AdmissionHost is what admission needs of the relay. */
export interface AdmissionHost {
  log: Logger;
  now(): number;
  drop(reason: DropReason): void;
  bug(e: unknown, where: string): void;
}

export class Admission {
  private readonly check: RegisterCheck;
  private readonly queue: TurnQueue<Waiting>;

  constructor(
    private readonly host: AdmissionHost,
    private readonly sessions: SessionTable,
    private readonly limits: RelayLimits,
    keys: { coordinatorKey: KeyObject; relayKey: Uint8Array },
    name: string,
  ) {
    this.check = new RegisterCheck(keys.coordinatorKey, keys.relayKey, limits, name);
    this.queue = new TurnQueue<Waiting>(
      (w) => this.run(w),
      { max: limits.registerQueue, turnMs: limits.registerTurnMs },
      (e) => host.bug(e, 'registration'),
    );
  }

  /** waiting is how many screened registrations wait for their signature checks. */
  get waiting(): number {
    return this.queue.size;
  }

  /** submit screens a registration and queues it; false when it was dropped at once (counted). */
  submit(msg: Uint8Array, ip: string, deliver: Deliver, alive: () => boolean = () => true): boolean {
    const s = this.check.screen(msg, ip, this.host.now());
    if (typeof s === 'string') {
      this.host.drop(s);
      return false;
    }
    if (!this.queue.push({ screened: s, deliver, alive })) {
      this.host.drop('register-queue-full');
      return false;
    }
    return true;
  }

  sweep(now: number): void {
    this.check.sweep(now);
  }

  clear(): void {
    this.queue.clear();
    this.check.clear();
  }

  private run(w: Waiting): void {
    if (!w.alive()) return;
    const now = this.host.now();
    const c = this.check.verify(w.screened, now, (key) => this.sessions.get(key, now));
    if (typeof c === 'string') {
      this.host.drop(c);
      w.deliver(null);
      return;
    }
    w.deliver(this.admit(c, now));
  }

  /**
   * admit creates or refreshes the session of a verified registration. Silence for everything
   * dropped before (malformed, unsigned, replayed, rate-limited: answering those would let anyone
   * reflect traffic off the relay); a refusal goes only to a fresh, well-signed register.
   */
  private admit(c: Checked, now: number): Admitted {
    if (c.expired) return this.refuse(c, 'refused-token-expired', 'token expired');
    let s = this.sessions.get(c.key, now);
    if (s !== undefined && !s.wireguardKey.equals(c.token.wireguardKey)) {
      return this.refuse(c, 'refused-id-held', 'peer id is registered with another key');
    }
    const fresh = s === undefined;
    if (s === undefined) {
      if (this.sessions.size >= this.limits.maxSessions) return this.refuse(c, 'refused-full', 'relay full');
      const id = Buffer.from(peerId(c.token.wireguardKey));
      s = {
        key: c.key,
        id,
        idHex: id.toString('hex'),
        systemId: c.token.systemId,
        wireguardKey: Buffer.from(c.token.wireguardKey),
        machineKey: c.machineKey,
        token: Buffer.from(c.reg.token),
        tokenExpires: c.token.expires,
        lastSeen: now,
        udp: null,
        tcp: null,
      };
      this.sessions.add(s);
    } else {
      s.systemId = c.token.systemId;
      s.machineKey = c.machineKey;
      s.token = Buffer.from(c.reg.token);
      s.tokenExpires = c.token.expires;
      s.lastSeen = now;
    }
    if (!fresh && this.host.log.enabled('debug')) this.host.log.debug(`relay: ${s.systemId} (${s.idHex}) refreshed`);
    return { session: s, fresh, reply: relayRegistered(c.reg.nonce, this.limits.refreshSeconds) };
  }

  private refuse(c: Checked, reason: DropReason, text: string): Admitted {
    this.host.drop(reason);
    this.host.log.rateLimited(`relay-refused:${reason}`, 10_000).verbose(`relay: refused ${c.token.systemId}: ${text}`);
    return { refusal: relayRefused(c.reg.nonce, text) };
  }
}
