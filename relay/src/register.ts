// Checking a relayRegister (src-shared/wire/nat-relay.ts): the coordinator's token, the machine
// key's signature over the register, its timestamp and its nonce. Cheap checks run first and
// the per-source and global rate limits sit in front of the Ed25519 work, so garbage costs
// next to nothing and signature checks cannot be used to burn the relay's CPU.
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
import { RateLimiter } from '../../src-shared/lib/rate-limit.js';
import { idKey, type Session } from './sessions.js';
import { verifyRelayToken } from '../../src-shared/lib/relay-token.js';

/** RegisterLimits are the knobs of RegisterCheck (RelayLimits carries them). */
export interface RegisterLimits {
  registerPerIpPerSecond: number;
  registerBurstPerIp: number;
  registerPerSecond: number;
  maxRateSources: number;
  maxReplayEntries: number;
  maxNoncesPerKey: number;
}

/** Checked is a registration whose signatures hold; expired says the token has run out. */
export interface Checked {
  reg: RelayRegister;
  token: RelayToken;
  /** key: the session key (idKey of the token's WireGuard key) */
  key: string;
  machineKey: KeyObject;
  expired: boolean;
}

/** RegisterCheck verifies registrations and remembers nonces and per-source rates. */
export class RegisterCheck {
  private readonly nonces: NonceCache;
  private readonly perIp: RateLimiter;
  private readonly global: RateLimiter;

  // context binds registrations to this relay's name (relayRegisterContext).
  private readonly context: string;

  constructor(
    private readonly coordinatorKey: KeyObject,
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
    this.perIp = new RateLimiter(limits.registerPerIpPerSecond, limits.registerBurstPerIp, limits.maxRateSources);
    this.global = new RateLimiter(limits.registerPerSecond, limits.registerPerSecond, 1);
  }

  /**
   * check returns the verified registration or why it was dropped. `session` looks up the
   * live session of an id: a refresh that repeats its session's token skips the coordinator
   * signature (already checked) and reuses the imported machine key, halving its cost.
   */
  check(msg: Uint8Array, ip: string, now: number, session: (key: string) => Session | undefined): Checked | DropReason {
    const reg = parseRelayRegister(msg);
    if (reg === null) return 'malformed-register';
    if (Math.abs(reg.ts - now) > NAT_LIMITS.skewMs) return 'stale-register';
    const claimed = parseRelayToken(reg.token);
    if (claimed === null) return 'bad-token';
    if (!this.perIp.allow(ip, now) || !this.global.allow('', now)) return 'rate-limited';

    const key = idKey(peerId(claimed.wireguardKey), 0);
    const known = session(key);
    let machineKey: KeyObject;
    let expired: boolean;
    if (known !== undefined && known.token.equals(reg.token)) {
      machineKey = known.machineKey;
      expired = claimed.expires <= now;
    } else {
      const v = verifyRelayToken(reg.token, this.coordinatorKey, now);
      // verifyRelayToken checks the signature before the expiry, so "expired" means signed.
      if (!v.ok && v.reason !== 'token expired') return 'bad-token';
      expired = !v.ok;
      try {
        machineKey = publicKeyFromRaw(claimed.machineKey);
      } catch {
        return 'bad-token';
      }
    }
    if (!verifyEd25519(machineKey, signedBytes(this.context, reg.signed), reg.signature)) return 'bad-signature';
    // Recorded only once the signature holds: otherwise anyone could spend a client's nonces.
    const seen = this.nonces.admit(
      Buffer.from(claimed.machineKey).toString('hex'),
      Buffer.from(reg.nonce).toString('hex'),
      now,
    );
    if (seen === 'replay') return 'replay';
    if (seen !== 'ok') return 'replay-cache-full';
    return { reg, token: claimed, key, machineKey, expired };
  }

  /** sweep forgets rate buckets that have refilled (the nonce cache sweeps itself). */
  sweep(now: number): void {
    this.perIp.sweep(now);
  }

  clear(): void {
    this.perIp.clear();
    this.global.clear();
  }
}
