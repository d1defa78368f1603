// Logins between `warren login` asking to start one and the agent's poll collecting the
// outcome (docs/coordinator.md "Signing in"), kept in the store (store/pending-logins.ts) so
// that any coordinator on a shared database can serve any step. Each entry holds the PKCE
// verifier, state and nonce of one authorization request (RFC 7636, RFC 6749 §10.12, OpenID
// Connect Core §3.1.2.1) and expires after LOGIN_LIMITS.pendingMs. The state is taken out at its
// first use, so a replayed callback finds nothing, on this coordinator or another; the entry
// itself stays until the agent's poll has collected the outcome (or it expires). A verified
// sign-in waits for the person to confirm it on the coordinator's page (confirm.ts) with a
// single-use token bound to this entry. The table is bounded in total and per source address.
import { createHash, randomBytes } from 'node:crypto';
import type { LoginPollResponse, LoginStartRequest } from '../../../src-shared/wire/login.js';
import type { RawPending } from '../store/pending-logins.js';
import type { Store } from '../store/store.js';
import type { SignedIn } from './claims.js';
import { TokenSeal } from './token-seal.js';

/** Verified is a sign-in whose ID token was checked, waiting for the person's Confirm. */
export interface Verified {
  who: SignedIn;
  /** sealed is the refresh token, sealed (token-seal.ts), or null. */
  sealed: string | null;
}

/** Secrets are what the callback needs to check the provider's answer; sealed at rest. */
interface Secrets {
  state: string;
  nonce: string;
  codeVerifier: string;
}

/** PendingLogin is one login in progress, as read from the store. */
export interface PendingLogin extends Secrets {
  /** id is the SHA-256 of the login id (hex): the row's key; the login id itself is not kept. */
  id: string;
  provider: string;
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

/** TableFull refuses a new login while the table (or the source's share) is full. */
export class TableFull extends Error {}

/** PENDING_BOUNDS: unexpired logins in total and per source address; a poll checks the store
 * for outcomes other coordinators recorded every checkMs while it waits. */
export const PENDING_BOUNDS = { total: 1000, perSource: 20, checkMs: 500 } as const;

/** PendingLogins keeps logins in the store and wakes the polls waiting here. */
export class PendingLogins {
  private readonly waiters = new Map<string, Set<() => void>>();
  private waiting = 0;
  private ticker: NodeJS.Timeout | null = null;
  private readonly seal: TokenSeal;

  constructor(
    private readonly store: Store,
    adminToken: string,
    readonly ttlMs: number,
    readonly bounds: { total: number; perSource: number; checkMs: number } = PENDING_BOUNDS,
  ) {
    this.seal = new TokenSeal(adminToken, 'oidc pending login v1');
  }

  /** size counts the rows, expired ones not yet swept too. */
  get size(): number {
    return Number(this.store.pendingLogins('count', [])[0]!['n']);
  }

  /** add records a login and returns it with its id (given only to the system that started
   * it); it throws TableFull when the bounds are reached. */
  add(
    l: Secrets & { provider: string; request: LoginStartRequest; source: string | null },
    now: number,
  ): { login: PendingLogin; loginId: string } {
    this.sweep(now);
    const loginId = randomBytes(32).toString('base64url');
    const id = hash(loginId);
    const secrets = this.seal.seal(
      JSON.stringify({ state: l.state, nonce: l.nonce, codeVerifier: l.codeVerifier }),
      'pending',
      id,
    );
    const row = [id, hash(l.state), l.provider, secrets, JSON.stringify(l.request), l.source, now, now + this.ttlMs];
    if (this.store.pendingLogins('add', [...row, this.bounds.total, this.bounds.perSource]).length === 0)
      throw new TableFull();
    const login: PendingLogin = {
      ...l,
      id,
      code: codeOf(id),
      createdAt: now,
      expiresAt: now + this.ttlMs,
      outcome: null,
      verified: null,
      cancelled: false,
    };
    return { login, loginId };
  }

  /** takeState returns the unexpired login of state and forgets the state: a second callback
   * with it finds nothing, whichever coordinator it reaches. */
  takeState(state: string, now: number): PendingLogin | undefined {
    return this.row(this.store.pendingLogins('takeState', [hash(state), now])[0]);
  }

  /** get returns the unexpired login of loginId. */
  get(loginId: string, now: number): PendingLogin | undefined {
    return this.row(this.store.pendingLogins('get', [hash(loginId), now])[0]);
  }

  /** verify records a checked sign-in and returns the token its Confirm must carry, or null
   * when the login was cancelled or ended meanwhile. Only the token's hash is stored. */
  verify(l: PendingLogin, v: Verified): string | null {
    const token = randomBytes(32).toString('base64url');
    const done = this.store.pendingLogins('verify', [hash(token), JSON.stringify(v), l.id]);
    if (done.length === 0) return null;
    l.verified = v;
    return token;
  }

  /** takeToken returns the unexpired login of a confirmation token and forgets the token: it
   * is used once, whether to confirm or to cancel. */
  takeToken(token: string, now: number): PendingLogin | undefined {
    return this.row(this.store.pendingLogins('takeToken', [hash(token), now])[0]);
  }

  /** finish records the outcome and wakes the polls waiting for it. */
  finish(l: PendingLogin, outcome: LoginPollResponse): void {
    this.store.pendingLogins('finish', [JSON.stringify(outcome), l.id]);
    l.outcome = outcome;
    this.wake(l.id);
  }

  /** cancel ends a login that has no outcome yet with a refusal saying why; false when it had
   * one already. Its state and confirmation token stay known until it expires, so the
   * provider's redirect and the confirmation page can say it was cancelled. */
  cancel(l: PendingLogin, message: string): boolean {
    const outcome: LoginPollResponse = { status: 'refused', code: 'cancelled', message };
    if (this.store.pendingLogins('cancel', [JSON.stringify(outcome), l.id]).length === 0) return false;
    l.cancelled = true;
    l.outcome = outcome;
    this.wake(l.id);
    return true;
  }

  /** collect hands the outcome to the poll and forgets the login; of two polls (on any
   * coordinators) one gets it. */
  collect(l: PendingLogin, now: number): LoginPollResponse | null {
    const r = this.store.pendingLogins('collect', [l.id, now])[0];
    return r ? (JSON.parse(String(r['outcome'])) as LoginPollResponse) : null;
  }

  /** wait resolves when l has an outcome, recorded here or by another coordinator, or after
   * ms, whichever comes first. At most bounds.total polls wait here; more answer at once. */
  wait(l: PendingLogin, ms: number): Promise<void> {
    if (l.outcome || this.waiting >= this.bounds.total) return Promise.resolve();
    return new Promise((resolve) => {
      let set = this.waiters.get(l.id);
      if (!set) this.waiters.set(l.id, (set = new Set()));
      const done = (): void => {
        clearTimeout(timer);
        if (set.delete(done)) this.waiting--;
        if (set.size === 0 && this.waiters.get(l.id) === set) this.waiters.delete(l.id);
        if (this.waiting === 0) this.stopTicker();
        resolve();
      };
      const timer = setTimeout(done, ms);
      set.add(done);
      this.waiting++;
      this.startTicker();
    });
  }

  /** firstStart records the hash of a start's proof; false when one of the coordinators saw
   * it within keepMs, or when max fresh proofs are kept (refused rather than forgetting one
   * that could then be replayed). */
  firstStart(proof: string, now: number, keepMs: number, max: number): boolean {
    this.store.pendingLogins('sweepProofs', [now - keepMs]);
    return this.store.pendingLogins('useProof', [hash(proof), now, max]).length > 0;
  }

  /** sweep deletes expired logins. */
  sweep(now: number): void {
    this.store.pendingLogins('sweep', [now]);
  }

  /** close stops the check for other coordinators' outcomes and answers the waiting polls. */
  close(): void {
    for (const id of [...this.waiters.keys()]) this.wake(id);
    this.stopTicker();
  }

  private wake(id: string): void {
    for (const wake of [...(this.waiters.get(id) ?? [])]) wake();
  }

  // One query per checkMs for all the polls waiting here, not one per poll: the ids of the
  // logins with an outcome (at most bounds.total rows).
  private startTicker(): void {
    if (this.ticker) return;
    this.ticker = setInterval(() => {
      try {
        for (const r of this.store.pendingLogins('finished', [Date.now()])) this.wake(String(r['id']));
      } catch {
        // The database is away for a moment: the polls answer "waiting" and are made again.
      }
    }, this.bounds.checkMs);
    this.ticker.unref();
  }

  private stopTicker(): void {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = null;
  }

  /** row reads a stored login; one whose secrets do not open (another admin token, a damaged
   * row) counts as unknown. */
  private row(r: Record<string, unknown> | undefined): PendingLogin | undefined {
    if (!r) return undefined;
    const raw = r as unknown as RawPending;
    const opened = this.seal.open(raw.secrets, 'pending', raw.id);
    if (opened === null) return undefined;
    return {
      ...(JSON.parse(opened) as Secrets),
      id: raw.id,
      provider: raw.provider,
      code: codeOf(raw.id),
      request: JSON.parse(raw.request) as LoginStartRequest,
      source: raw.source,
      createdAt: Number(raw.created_at),
      expiresAt: Number(raw.expires_at),
      outcome: raw.outcome === null ? null : (JSON.parse(raw.outcome) as LoginPollResponse),
      verified: raw.verified === null ? null : (JSON.parse(raw.verified) as Verified),
      cancelled: Number(raw.cancelled) === 1,
    };
  }
}

/** hash is what the store keeps of a login id, state or confirmation token: SHA-256, hex. */
function hash(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** codeOf is the short code of a login: 8 characters of Crockford base32 from the SHA-256 of
 * its id (the row's id). */
export function codeOf(id: string): string {
  const digest = Buffer.from(id, 'hex');
  const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  let out = '';
  for (let i = 0; i < 8; i++) out += alphabet[digest[i]! & 31];
  return `${out.slice(0, 4)}-${out.slice(4)}`;
}

/** loginCode is the short code of the login whose id is loginId. */
export function loginCode(loginId: string): string {
  return codeOf(hash(loginId));
}
