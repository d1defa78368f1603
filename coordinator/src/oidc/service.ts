// Sign-in state the routes share: the providers, the pending logins (in the store), the rate
// limits per source and the start proofs already used (a start request replayed within the clock skew window
// would otherwise open a second login for someone else's keys).
import { RateLimiter } from '../../../src-shared/lib/rate-limit.js';
import { LOGIN_LIMITS } from '../../../src-shared/wire/login.js';
import { CONTROL_LIMITS } from '../../../src-shared/wire/control.js';
import type { Logger } from '../../../src-shared/lib/log.js';
import type { OidcConfig } from './config.js';
import { PendingLogins } from './pending.js';
import type * as client from 'openid-client';
import { OidcProviders, type OidcSeams, type Provider } from './providers.js';
import { TokenSeal } from './token-seal.js';
import type { Store } from '../store/store.js';

/** OIDC_RATES: login starts, callbacks and confirmations per source address (each costs a
 * random draw and a signature check; a callback, a request to the provider). Polls and cancels
 * have their own, looser bucket: a waiting `warren login` polls again every pollWaitMs, and
 * each poll or cancel reads the store. */
export const OIDC_RATES = { perSecond: 0.5, burst: 10, sources: 10_000, proofs: 10_000 } as const;
export const POLL_RATES = { perSecond: 1, burst: 20, sources: 10_000 } as const;

/** OidcService is sign-in, when `serve --oidc` configured it. */
export class OidcService {
  readonly providers: OidcProviders;
  /** seal keeps refresh tokens unreadable in the database (token-seal.ts). */
  readonly seal: TokenSeal;
  /** recheckMs: RecheckSeconds (recheck.ts); 0 means no token check. */
  readonly recheckMs: number;
  readonly pending: PendingLogins;
  private readonly limiter = new RateLimiter(OIDC_RATES.perSecond, OIDC_RATES.burst, OIDC_RATES.sources);
  private readonly pollLimiter = new RateLimiter(POLL_RATES.perSecond, POLL_RATES.burst, POLL_RATES.sources);

  constructor(config: OidcConfig, log: Logger, adminToken: string, store: Store, seams: OidcSeams = {}) {
    this.providers = new OidcProviders(config, log, seams);
    this.pending = new PendingLogins(store, adminToken, LOGIN_LIMITS.pendingMs);
    this.seal = new TokenSeal(adminToken);
    this.recheckMs = config.recheckMs;
  }

  /** scopes are what a sign-in with p asks for: its Scopes, and offline_access (a refresh
   * token, OpenID Connect Core §11) when token checks are on and the provider says it offers
   * it (Discovery 1.0 §3 scopes_supported). */
  scopes(p: Provider, config: client.Configuration): string[] {
    const offered = config.serverMetadata().scopes_supported ?? [];
    if (this.recheckMs === 0 || p.cfg.scopes.includes('offline_access') || !offered.includes('offline_access'))
      return p.cfg.scopes;
    return [...p.cfg.scopes, 'offline_access'];
  }

  /** allow takes a token from the source's bucket. */
  allow(source: string | null, now: number): boolean {
    if (this.limiter.size > OIDC_RATES.sources / 2) this.limiter.sweep(now);
    return this.limiter.allow(source ?? '-', now);
  }

  /** allowPoll takes a token from the source's bucket for polls and cancels. */
  allowPoll(source: string | null, now: number): boolean {
    if (this.pollLimiter.size > POLL_RATES.sources / 2) this.pollLimiter.sweep(now);
    return this.pollLimiter.allow(source ?? '-', now);
  }

  /** firstUse records a start proof, in the store so that every coordinator on it knows it;
   * it returns false for one seen within twice the skew window. */
  firstUse(proof: string, now: number): boolean {
    return this.pending.firstStart(proof, now, 2 * CONTROL_LIMITS.signatureSkewMs, OIDC_RATES.proofs);
  }
}
