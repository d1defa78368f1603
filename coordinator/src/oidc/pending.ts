// Logins between `warren login` asking to start one and the provider's redirect to the
// callback (docs/coordinator.md "Signing in"). A bounded table: each entry holds the PKCE
// verifier, state and nonce of one authorization request (RFC 7636, RFC 6749 §10.12, OpenID
// Connect Core §3.1.2.1) and expires after LOGIN_LIMITS.pendingMs. The state is taken out at
// its first use, so a replayed callback finds nothing; the entry itself stays until the agent's
// poll has collected the outcome (or it expires). A verified sign-in waits for the person to
// confirm it on the coordinator's page (confirm.ts) with a single-use token bound to this entry.
// The table lives in this coordinator's memory: docs/coordinator.md "Several coordinators" says
// what that means when several serve one database.
import { createHash, randomBytes } from 'node:crypto';
import type { LoginPollResponse, LoginStartRequest } from '../../../src-shared/wire/login.js';
import type { SignedIn } from './claims.js';

/** Verified is a sign-in whose ID token was checked, waiting for the person's Confirm. */
export interface Verified {
  who: SignedIn;
  /** sealed is the refresh token, sealed (token-seal.ts), or null. */
  sealed: string | null;
  /** token is the confirmation page's CSRF token: 32 random bytes, used once. */
  token: string;
}

/** PendingLogin is one login in progress. */
export interface PendingLogin {
  loginId: string;
  provider: string;
  state: string;
  nonce: string;
  codeVerifier: string;
  /** code is shown on the coordinator's page and printed by `warren login`, to compare. */
  code: string;
  request: LoginStartRequest;
  source: string | null;
  createdAt: number;
  expiresAt: number;
  outcome: LoginPollResponse | null;
  verified: Verified | null;
  /** cancelled: the system that started it, or the person on the confirmation page, cancelled
   * it; its URL then enrols nothing and says so. */
  cancelled: boolean;
}

/** TableFull refuses a new login while the table is full of unexpired ones. */
export class TableFull extends Error {}

/** PendingLogins keeps logins by id and by state. */
export class PendingLogins {
  private readonly byId = new Map<string, PendingLogin>();
  private readonly byState = new Map<string, PendingLogin>();
  private readonly byToken = new Map<string, PendingLogin>();
  private readonly waiters = new Map<string, Set<() => void>>();

  constructor(
    readonly capacity: number,
    readonly ttlMs: number,
  ) {}

  get size(): number {
    return this.byId.size;
  }

  /** add records a login; it throws TableFull when capacity unexpired logins are pending. */
  add(
    l: Omit<PendingLogin, 'loginId' | 'code' | 'createdAt' | 'expiresAt' | 'outcome' | 'verified' | 'cancelled'>,
    now: number,
  ): PendingLogin {
    this.sweep(now);
    if (this.byId.size >= this.capacity) throw new TableFull();
    const loginId = randomBytes(32).toString('base64url');
    const login: PendingLogin = {
      ...l,
      loginId,
      code: loginCode(loginId),
      createdAt: now,
      expiresAt: now + this.ttlMs,
      outcome: null,
      verified: null,
      cancelled: false,
    };
    this.byId.set(loginId, login);
    this.byState.set(l.state, login);
    return login;
  }

  /** takeState returns the unexpired login of state and forgets the state: a second callback
   * with it finds nothing. */
  takeState(state: string, now: number): PendingLogin | undefined {
    const l = this.byState.get(state);
    if (!l) return undefined;
    this.byState.delete(state);
    return l.expiresAt > now ? l : undefined;
  }

  /** get returns the unexpired login of loginId. */
  get(loginId: string, now: number): PendingLogin | undefined {
    const l = this.byId.get(loginId);
    return l && l.expiresAt > now ? l : undefined;
  }

  /** verify records a checked sign-in and returns the token its Confirm must carry. */
  verify(l: PendingLogin, v: Omit<Verified, 'token'>): string {
    const token = randomBytes(32).toString('base64url');
    l.verified = { ...v, token };
    this.byToken.set(token, l);
    return token;
  }

  /** takeToken returns the unexpired login of a confirmation token and forgets the token: it
   * is used once, whether to confirm or to cancel. */
  takeToken(token: string, now: number): PendingLogin | undefined {
    const l = this.byToken.get(token);
    if (!l) return undefined;
    this.byToken.delete(token);
    return l.expiresAt > now ? l : undefined;
  }

  /** finish records the outcome and wakes the polls waiting for it. */
  finish(l: PendingLogin, outcome: LoginPollResponse): void {
    l.outcome = outcome;
    this.byState.delete(l.state);
    this.wake(l);
  }

  /** cancel ends a login that has no outcome yet with a refusal saying why. Its state and
   * confirmation token stay known until it expires, so the provider's redirect and the
   * confirmation page can say it was cancelled. */
  cancel(l: PendingLogin, message: string): void {
    l.cancelled = true;
    l.outcome = { status: 'refused', code: 'cancelled', message };
    this.wake(l);
  }

  private wake(l: PendingLogin): void {
    for (const wake of this.waiters.get(l.loginId) ?? []) wake();
    this.waiters.delete(l.loginId);
  }

  /** collect hands the outcome to the poll and forgets the login. */
  collect(l: PendingLogin): LoginPollResponse | null {
    if (!l.outcome) return null;
    this.forget(l);
    return l.outcome;
  }

  private forget(l: PendingLogin): void {
    this.byId.delete(l.loginId);
    if (this.byState.get(l.state) === l) this.byState.delete(l.state);
    if (l.verified && this.byToken.get(l.verified.token) === l) this.byToken.delete(l.verified.token);
  }

  /** wait resolves when l has an outcome or after ms, whichever comes first. */
  wait(l: PendingLogin, ms: number): Promise<void> {
    if (l.outcome) return Promise.resolve();
    return new Promise((resolve) => {
      let set = this.waiters.get(l.loginId);
      if (!set) this.waiters.set(l.loginId, (set = new Set()));
      const done = (): void => {
        clearTimeout(timer);
        set.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      set.add(done);
    });
  }

  /** sweep forgets expired logins. */
  sweep(now: number): void {
    for (const l of this.byId.values()) if (l.expiresAt <= now) this.forget(l);
  }
}

/** loginCode is a short code derived from the login id: 8 characters of Crockford base32. */
export function loginCode(loginId: string): string {
  const digest = createHash('sha256').update(loginId).digest();
  const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  let out = '';
  for (let i = 0; i < 8; i++) out += alphabet[digest[i]! & 31];
  return `${out.slice(0, 4)}-${out.slice(4)}`;
}
