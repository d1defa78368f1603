// GET /v1/oidc/callback: the provider's redirect with the authorization response (RFC 6749
// §4.1.2). The state must belong to a pending login and is used up at once, so a replayed
// redirect is refused; openid-client then redeems the code with the PKCE verifier and checks the
// ID token (signature against the provider's keys, iss, aud, azp, exp, iat, nonce: OpenID
// Connect Core §3.1.3.7). Nothing is enrolled here: the person gets a page naming the system and
// its code with Confirm and Cancel (confirm.ts), so a login URL someone else sent them cannot
// enrol the sender's system as theirs by merely being opened. Every refusal is audited and shown
// to the person in the browser; the agent's poll gets it too.
import * as client from 'openid-client';
import { ControlError } from '../http/errors.js';
import type { RequestContext } from '../http/router.js';
import type { Services } from '../api/services.js';
import { ClaimRefusal, mapClaims, type SignedIn } from './claims.js';
import { confirmPage, textPage } from './page.js';
import type { PendingLogin } from './pending.js';
import { describe } from './providers.js';
import { MAX_TOKEN_CHARS } from './token-seal.js';
import type { OidcService } from './service.js';

/** Refusal is a refused sign-in: reason is the audit log's code, message the person's text. */
export class Refusal extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** handleCallback serves the redirect. */
export async function handleCallback(sv: Services, oidc: OidcService, ctx: RequestContext): Promise<void> {
  const now = sv.now();
  const source = ctx.remoteIp;
  if (!oidc.allow(source, now))
    throw new ControlError('rate-limited', 'too many sign-in attempts from this address; wait a minute and try again');
  const state = ctx.query.get('state') ?? '';
  const login = state.length > 0 && state.length <= 128 ? oidc.pending.takeState(state, now) : undefined;
  if (!login) {
    sv.audit.refused({ actor: 'anonymous', source, action: 'login', target: '-' }, 'state-unknown');
    return textPage(ctx.res, 400, 'Sign-in refused', [
      'This sign-in is unknown, expired or already used (its state was used once already).',
      'Run warren login again on the system you want to enrol.',
    ]);
  }
  if (login.cancelled) return cancelledPage(sv, ctx, login);
  try {
    const who = await verify(sv, oidc, login, ctx);
    const token = oidc.pending.verify(login, who);
    if (token === null) return cancelledPage(sv, ctx, login);
    sv.log.info(`login ${login.code}: ${who.who.email} signed in; waiting for the confirmation`);
    confirmPage(ctx.res, { email: who.who.email, hostname: login.request.hostname, code: login.code, token });
  } catch (e) {
    refuse(sv, oidc, login, ctx, e);
  }
}

/** cancelledPage answers a redirect or a confirmation for a login that was cancelled. */
export function cancelledPage(sv: Services, ctx: RequestContext, login: PendingLogin): void {
  sv.audit.refused(
    { actor: 'anonymous', source: ctx.remoteIp, action: 'login', target: login.provider, detail: 'cancelled before' },
    'cancelled',
  );
  textPage(ctx.res, 410, 'Sign-in cancelled', [
    `This sign-in (code ${login.code}) was cancelled, so it enrols nothing.`,
    'Run warren login again on the system you want to enrol.',
  ]);
}

/** refuse ends the login with e as a refusal: audited, told to the poll and to the person. */
export function refuse(sv: Services, oidc: OidcService, login: PendingLogin, ctx: RequestContext, e: unknown): void {
  const r =
    e instanceof Refusal
      ? e
      : e instanceof ControlError
        ? new Refusal(e.code, e.message)
        : new Refusal('internal', `the coordinator failed: ${describe(e)}`);
  if (r.reason === 'internal') sv.log.error(`login ${login.code}: ${r.message}`);
  sv.audit.refused(
    {
      actor: 'anonymous',
      source: ctx.remoteIp,
      action: 'login',
      target: login.provider,
      detail: r.message.slice(0, 200),
    },
    r.reason,
  );
  oidc.pending.finish(login, { status: 'refused', code: r.reason, message: r.message });
  textPage(ctx.res, 403, 'Sign-in refused', [r.message, 'Run warren login again on the system you want to enrol.']);
}

/** verify redeems the code and checks the ID token and its claims. */
async function verify(
  sv: Services,
  oidc: OidcService,
  login: PendingLogin,
  ctx: RequestContext,
): Promise<{ who: SignedIn; sealed: string | null }> {
  const p = oidc.providers.find(login.provider)!;
  const error = ctx.query.get('error');
  if (error !== null) {
    const text = `${error}${ctx.query.get('error_description') ? `: ${ctx.query.get('error_description')}` : ''}`;
    throw new Refusal(
      'provider-error',
      `the identity provider refused: ${text.replace(/[^\x20-\x7e]/g, '?').slice(0, 200)}`,
    );
  }
  let config: client.Configuration;
  try {
    config = await oidc.providers.ready(p, sv.now());
  } catch (e) {
    throw new Refusal('provider-unavailable', describe(e));
  }
  // The redirect URI the token request names must be the one registered (RFC 6749 §4.1.3), so
  // the URL is rebuilt from it with the response's parameters, not from the Host header.
  const current = new URL(oidc.providers.redirectUri);
  for (const [k, v] of ctx.query) current.searchParams.append(k, v);
  let claims: Record<string, unknown>;
  let refreshToken: string | undefined;
  try {
    const tokens = await client.authorizationCodeGrant(config, current, {
      pkceCodeVerifier: login.codeVerifier,
      expectedState: login.state,
      expectedNonce: login.nonce,
      idTokenExpected: true,
    });
    claims = { ...tokens.claims() };
    refreshToken = tokens.refresh_token;
  } catch (e) {
    throw new Refusal('id-token-refused', `the sign-in could not be verified: ${describe(e)}`);
  }
  let who;
  try {
    who = mapClaims(claims, p.cfg);
  } catch (e) {
    if (e instanceof ClaimRefusal) throw new Refusal('claims-refused', e.message);
    throw e;
  }
  // The refresh token stays in the coordinator's database, sealed, for the token check
  // (recheck.ts); one that is absurdly long is not kept rather than refusing the sign-in.
  const sealed =
    oidc.recheckMs > 0 && refreshToken && refreshToken.length <= MAX_TOKEN_CHARS
      ? oidc.seal.seal(refreshToken, who.issuer, who.subject)
      : null;
  return { who, sealed };
}
