// The token check (docs/coordinator.md "Group changes follow the person"): group membership is
// what the provider said at sign-in, so without this a person removed from a group keeps what
// the group grants until they sign in again. Every RecheckSeconds each signed-in user's groups
// are asked for again with the refresh token of their sign-in (RFC 6749 §6; OpenID Connect
// Core §12: the new ID token is checked like the first). Changed groups update the user's row
// and recompute every map, as disabling does, so a group: grant or a UserAuthentication Groups
// requirement the person no longer meets stops within one map pass. A refresh the provider
// refuses (revoked, expired, the person deleted) lapses the sign-in: groups cleared, every
// UserAuthentication requirement unmet, until the person signs in again. A provider that cannot
// be reached changes nothing; the check is tried again one interval later. A check that changes
// the groups or lapses the sign-in also brings the tags AutoTags gave the user's systems up to
// date (store/follow-groups.ts).
//
// Several coordinators on one database (docs/coordinator.md "Several coordinators") each run
// this loop, but each user is checked once per interval in all: a coordinator claims a check in
// the database before asking the provider (Store.claimUserCheck moves users.next_check_at on
// one interval in the claiming statement), and stores its outcome only if the sign-in it checked
// is still the user's (Store.userChecked), so the outcome and its audit entry are written once.
import * as client from 'openid-client';
import type { Services } from '../api/services.js';
import { usersOf, type UserRow } from '../store/users.js';
import { ClaimRefusal, mapClaims } from './claims.js';
import { retagUser } from '../store/follow-groups.js';
import { describe, type Provider } from './providers.js';
import type { OidcService } from './service.js';
import { MAX_TOKEN_CHARS } from './token-seal.js';

/** TICK_MS: how often due checks are looked for (a check runs at most this late). */
const TICK_MS = 1000;

/** Outcome is one check's result. */
type Outcome =
  | { kind: 'groups'; groups: string[]; refreshToken: string }
  | { kind: 'refused'; why: string }
  | { kind: 'later'; why: string };

/** TokenRecheck runs the checks one user at a time (a pass never overlaps the next). */
export class TokenRecheck {
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private stopped = false;
  /** notBefore holds, by user id, when the next check is due as far as this coordinator knows
   * (its own claim, or another coordinator's as the database said), for the sign-in
   * (lastAuthAt) it was made for: a new sign-in is checked on its own schedule. */
  private readonly notBefore = new Map<string, { at: number; signIn: number }>();

  constructor(
    private readonly sv: Services,
    private readonly oidc: OidcService,
  ) {}

  start(): void {
    if (this.oidc.recheckMs === 0 || this.timer) return;
    this.timer = setInterval(
      () => void this.pass().catch((e: unknown) => this.sv.log.error(`token check failed: ${describe(e)}`)),
      Math.min(TICK_MS, this.oidc.recheckMs),
    );
    this.timer.unref();
  }

  /** stop ends the checks; one waiting for the provider writes nothing when it answers. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** pass checks every user whose check is due; it resolves when they are done. */
  async pass(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (const u of usersOf(this.sv.registry).all()) {
        if (this.stopped) return;
        const now = this.sv.now();
        if (this.due(u, now) && this.claim(u, now)) await this.check(u);
      }
    } finally {
      this.running = false;
    }
  }

  private due(u: UserRow, now: number): boolean {
    if (u.disabled || u.lapsedAt !== null) return false;
    const next = this.notBefore.get(u.id);
    if (next !== undefined && next.signIn === u.lastAuthAt) return now >= next.at;
    return now >= (u.checkedAt ?? u.lastAuthAt) + this.oidc.recheckMs;
  }

  /** claim takes the check in the database; false when it is not due there (another
   * coordinator checked or claimed it, or the row changed: memory is read again soon). */
  private claim(u: UserRow, now: number): boolean {
    const interval = this.oidc.recheckMs;
    const due = this.sv.registry.store.claimUserCheck(u.id, u.lastAuthAt, now, interval);
    const at = due === null || due <= now ? now + interval : due;
    this.notBefore.set(u.id, { at, signIn: u.lastAuthAt });
    return due === null;
  }

  private async check(u: UserRow): Promise<void> {
    const sealed = this.sv.registry.store.userRefreshToken(u.id);
    // No refresh token (the provider gave none, or RecheckSeconds was 0 at the sign-in): the
    // groups stay as the sign-in said; only the user's next sign-in or an admin changes them.
    if (sealed === null) {
      this.notBefore.set(u.id, { at: Number.MAX_SAFE_INTEGER, signIn: u.lastAuthAt });
      return;
    }
    const token = this.oidc.seal.open(sealed, u.issuer, u.subject);
    const p = this.oidc.providers.find(u.provider);
    const out: Outcome =
      token === null
        ? { kind: 'refused', why: 'its refresh token cannot be opened (was admin.token replaced?)' }
        : !p
          ? { kind: 'refused', why: `the provider ${u.provider} is no longer configured` }
          : await this.ask(p, u, token);
    const now = this.sv.now();
    if (this.stopped) return;
    // The claim moved the next check one interval on: a check that could not be made waits as long.
    if (out.kind === 'later') {
      this.sv.log.warn(`token check of ${u.email}: ${out.why}; trying again in ${this.oidc.recheckMs / 1000} s`);
      return;
    }
    // The row may have changed while the provider answered (a new sign-in, a disable).
    const current = usersOf(this.sv.registry).get(u.id);
    if (!current || current.lastAuthAt !== u.lastAuthAt || current.disabled || current.lapsedAt !== null) return;
    if (out.kind === 'refused') this.lapse(current, out.why, now);
    else this.update(current, out.groups, this.oidc.seal.seal(out.refreshToken, u.issuer, u.subject), now);
  }

  /** ask redeems the refresh token and reads the groups from the new ID token, or from the
   * userinfo endpoint when the provider sends none (OpenID Connect Core §12.2 allows that). */
  private async ask(p: Provider, u: UserRow, token: string): Promise<Outcome> {
    let config: client.Configuration;
    try {
      config = await this.oidc.providers.ready(p, this.sv.now());
    } catch (e) {
      return { kind: 'later', why: describe(e) };
    }
    let claims: Record<string, unknown>;
    let next = token;
    try {
      const tokens = await client.refreshTokenGrant(config, token);
      if (tokens.refresh_token && tokens.refresh_token.length <= MAX_TOKEN_CHARS) next = tokens.refresh_token;
      const id = tokens.claims();
      claims = id
        ? { ...id }
        : { iss: u.issuer, ...(await client.fetchUserInfo(config, tokens.access_token, u.subject)) };
    } catch (e) {
      // invalid_grant is the provider refusing the grant itself: revoked, expired, issued to a
      // person it no longer has (RFC 6749 §5.2). Any other answer (server_error, a timeout, a
      // client misconfiguration) says nothing about the person: tried again, and logged.
      if (e instanceof client.ResponseBodyError && e.error === 'invalid_grant')
        return { kind: 'refused', why: `the provider refused: ${describe(e)}` };
      return { kind: 'later', why: `the check failed: ${describe(e)}` };
    }
    if (claims.sub !== u.subject || claims.iss !== u.issuer)
      return { kind: 'refused', why: 'the provider answered for someone else (sub or iss differ)' };
    try {
      const who = mapClaims(claims, p.cfg);
      return { kind: 'groups', groups: who.groups, refreshToken: next };
    } catch (e) {
      if (e instanceof ClaimRefusal) return { kind: 'refused', why: e.message };
      throw e;
    }
  }

  private update(u: UserRow, groups: string[], sealed: string, now: number): void {
    const before = u.groups;
    const next = usersOf(this.sv.registry).checked(this.sv.registry, u, {
      signIn: u.lastAuthAt,
      groups,
      checkedAt: now,
      refreshToken: sealed,
      lapsedAt: null,
    });
    if (next === null || before.join(',') === groups.join(',')) return;
    const detail = `token check at ${u.provider}: groups ${before.join(',') || '(none)'} → ${groups.join(',') || '(none)'}`;
    this.sv.audit.ok({ actor: 'coordinator', source: null, action: 'user.groups-changed', target: u.email, detail });
    this.sv.log.info(`${u.email}: ${detail}`);
    retagUser(this.sv, next, { actor: 'coordinator', source: null, why: detail });
  }

  private lapse(u: UserRow, why: string, now: number): void {
    const next = usersOf(this.sv.registry).checked(this.sv.registry, u, {
      signIn: u.lastAuthAt,
      groups: [],
      checkedAt: now,
      refreshToken: null,
      lapsedAt: now,
    });
    if (next === null) return;
    const detail = `token check at ${u.provider}: ${why}; the sign-in no longer counts and the groups are cleared until ${u.email} signs in again`;
    this.sv.audit.ok({
      actor: 'coordinator',
      source: null,
      action: 'user.auth-lapsed',
      target: u.email,
      detail: detail.slice(0, 400),
    });
    this.sv.log.info(`${u.email}: ${detail}`);
    retagUser(this.sv, next, { actor: 'coordinator', source: null, why: `token check at ${u.provider}: lapsed` });
  }
}

/** startRecheck starts the token checks of `serve --oidc` (none when RecheckSeconds is 0). */
export function startRecheck(sv: Services, oidc: OidcService): TokenRecheck {
  const r = new TokenRecheck(sv, oidc);
  r.start();
  return r;
}
