// Checking a relayRegister (src-shared/wire/nat-relay.ts) in two steps. screen runs where the
// datagram or frame arrives and costs microseconds: the format, the time, the token's MAC under
// the key this relay shares with its coordinator (one HMAC: a token the coordinator did not
// issue for this relay stops here), then the rate limits per peer id (first: a genuine token
// replayed with forged signatures then spends its own system's bucket, not its neighbours'), per
// source address, per source prefix and in total. verify runs later, on the admission queue's
// budget (admission.ts): the coordinator's signature on the token, the machine key's on the
// register, and the nonce.
// So forged registrations cost an HMAC, and what may reach the Ed25519 work is bounded by who
// holds genuine tokens and where they send from.
import type { KeyObject } from 'node:crypto';
import { NAT_LIMITS, peerId, signedBytes } from '../../src-shared/wire/nat-wire.js';
import {
  parseRelayRegister,
  parseRelayToken,
  relayRegisterContext,
  type RelayRegister,
  type RelayToken,
} from '../../src-shared/wire/nat-relay.js';
import { NonceCache } from '../../src-shared/lib/nonce-cache.js';
import { publicKeyFromRaw, verifyEd25519 } from '../../src-shared/lib/ed25519.js';
import type { DropReason } from './drops.js';
import { RateLimiter, SourceLimiter } from '../../src-shared/lib/rate-limit.js';
import { idKey, type Session } from './sessions.js';
import { relayTokenMacOk, verifyRelayToken } from '../../src-shared/lib/relay-token.js';

/** RegisterLimits are the knobs of RegisterCheck (RelayLimits carries them). */
export interface RegisterLimits {
  registerPerIpPerSecond: number;
  registerBurstPerIp: number;
  /** per source prefix (IPv4 /24, IPv6 /64) */
  registerPerPrefixPerSecond: number;
  registerBurstPerPrefix: number;
  /** per peer id: a genuine token replayed with forged signatures costs its holder, not the relay */
  registerPerIdPerSecond: number;
  registerBurstPerId: number;
  registerPerSecond: number;
  maxRateSources: number;
  maxReplayEntries: number;
  maxNoncesPerKey: number;
}

/** Screened is a registration that passed the cheap checks and waits for its signatures. */
export interface Screened {
  reg: RelayRegister;
  token: RelayToken;
  /** key: the session key (idKey of the token's WireGuard key) */
  key: string;
}

/** Checked is a registration whose signatures hold; expired says the token has run out. */
export interface Checked extends Screened {
  machineKey: KeyObject;
  expired: boolean;
}

/** RegisterCheck screens and verifies registrations and remembers nonces and rates. */
export class RegisterCheck {
  private readonly nonces: NonceCache;
  private readonly sources: SourceLimiter;
  private readonly perId: RateLimiter;
  private readonly global: RateLimiter;

  // context binds registrations to this relay's name (relayRegisterContext).
  private readonly context: string;

  constructor(
    private readonly coordinatorKey: KeyObject,
    /** relayKey: the key this relay shares with its coordinator (the tokens' MAC key) */
    private readonly relayKey: Uint8Array,
    limits: RegisterLimits,
    name: string,
  ) {
    this.context = relayRegisterContext(name);
    // A register is accepted while |ts - now| <= skew, a window 2*skew long: a nonce kept
    // that long from its first use cannot be replayed inside it.
    this.nonces = new NonceCache(2 * NAT_LIMITS.skewMs, {
      total: limits.maxReplayEntries,
      perSystem: limits.maxNoncesPerKey,
    });
    this.sources = new SourceLimiter({
      address: { perSecond: limits.registerPerIpPerSecond, burst: limits.registerBurstPerIp },
      prefix: { perSecond: limits.registerPerPrefixPerSecond, burst: limits.registerBurstPerPrefix },
      maxSources: limits.maxRateSources,
    });
    this.perId = new RateLimiter(limits.registerPerIdPerSecond, limits.registerBurstPerId, limits.maxRateSources);
    this.global = new RateLimiter(limits.registerPerSecond, limits.registerPerSecond, 1);
  }

  /** screen runs the cheap checks (see the file comment) and returns what verify needs, or why
   * the registration was dropped. */
  screen(msg: Uint8Array, ip: string, now: number): Screened | DropReason {
    const reg = parseRelayRegister(msg);
    if (reg === null) return 'malformed-register';
    if (Math.abs(reg.ts - now) > NAT_LIMITS.skewMs) return 'stale-register';
    if (!relayTokenMacOk(reg.token, this.relayKey)) return 'bad-mac';
    const token = parseRelayToken(reg.token);
    if (token === null) return 'bad-token';
    const key = idKey(peerId(token.wireguardKey), 0);
    if (!this.perId.allow(key, now) || !this.sources.allow(ip, now) || !this.global.allow('', now))
      return 'rate-limited';
    return { reg, token, key };
  }

  /**
   * verify checks the signatures and the nonce of a screened registration. `session` looks up
   * the live session of an id: a refresh that repeats its session's token skips the coordinator
   * signature (already checked) and reuses the imported machine key, halving its cost.
   */
  verify(s: Screened, now: number, session: (key: string) => Session | undefined): Checked | DropReason {
    const { reg, token } = s;
    const known = session(s.key);
    let machineKey: KeyObject;
    let expired: boolean;
    if (known !== undefined && known.token.equals(reg.token)) {
      machineKey = known.machineKey;
      expired = token.expires <= now;
    } else {
      const v = verifyRelayToken(reg.token, this.coordinatorKey, now);
      // verifyRelayToken checks the signature before the expiry, so "expired" means signed.
      if (!v.ok && v.reason !== 'token expired') return 'bad-token';
      expired = !v.ok;
      try {
        machineKey = publicKeyFromRaw(token.machineKey);
      } catch {
        return 'bad-token';
      }
    }
    if (!verifyEd25519(machineKey, signedBytes(this.context, reg.signed), reg.signature)) return 'bad-signature';
    // Recorded only once the signature holds: otherwise anyone could spend a client's nonces.
    const seen = this.nonces.admit(
      Buffer.from(token.machineKey).toString('hex'),
      Buffer.from(reg.nonce).toString('hex'),
      now,
    );
    if (seen === 'replay') return 'replay';
    if (seen !== 'ok') return 'replay-cache-full';
    return { ...s, machineKey, expired };
  }

  /** sweep forgets rate buckets that have refilled (the nonce cache sweeps itself). */
  sweep(now: number): void {
    this.sources.sweep(now);
    this.perId.sweep(now);
  }

  clear(): void {
    this.sources.clear();
    this.perId.clear();
    this.global.clear();
  }
}
