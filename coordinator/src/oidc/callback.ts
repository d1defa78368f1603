// GET /v1/oidc/callback: the provider's redirect with the authorization response (RFC 6749
// §4.1.2). The state must belong to a pending login and is used up at once, so a replayed
// redirect is refused; openid-client then redeems the code with the PKCE verifier and checks the
// ID token (signature against the provider's keys, iss, aud, azp, exp, iat, nonce: OpenID
// Connect Core §3.1.3.7). Only then is the user recorded and the system enrolled. Every outcome
// is audited and shown to the person in the browser; the agent's poll gets it too.
import * as client from 'openid-client';
import { ControlError } from '../http/errors.js';
import { sendText } from '../http/respond.js';
import type { RequestContext } from '../http/router.js';
import type { Services } from '../api/services.js';
import { enrolResponse } from '../api/agent.js';
import { ClaimRefusal, mapClaims } from './claims.js';
import { enrolForUser, saveUser } from './login-enrol.js';
import { retagUser } from '../store/follow-groups.js';
import type { PendingLogin } from './pending.js';
import { describe } from './providers.js';
import { MAX_TOKEN_CHARS } from './token-seal.js';
import type { OidcService } from './service.js';

/** Refusal is a refused sign-in: reason is the audit log's code, message the person's text. */
class Refusal extends Error {
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
    return page(ctx, 400, 'Sign-in refused', [
      'This sign-in is unknown, expired or already used (its state was used once already).',
      'Run warren login again on the system you want to enrol.',
    ]);
  }
  try {
    const done = await complete(sv, oidc, login, ctx);
    page(ctx, 200, 'Signed in', [
      `Signed in as ${done.email}.`,
      `The system ${done.name} (code ${login.code}) is enrolled as yours${done.pending ? ' and waits for an administrator to approve it' : ''}.`,
      'You can close this window.',
    ]);
  } catch (e) {
    const r =
      e instanceof Refusal
        ? e
        : e instanceof ControlError
          ? new Refusal(e.code, e.message)
          : new Refusal('internal', `the coordinator failed: ${describe(e)}`);
    if (r.reason === 'internal') sv.log.error(`login ${login.code}: ${r.message}`);
    sv.audit.refused(
      { actor: 'anonymous', source, action: 'login', target: login.provider, detail: r.message.slice(0, 200) },
      r.reason,
    );
    oidc.pending.finish(login, { status: 'refused', code: r.reason, message: r.message });
    page(ctx, 403, 'Sign-in refused', [r.message, 'Run warren login again on the system you want to enrol.']);
  }
}

/** complete redeems the code, checks the ID token and enrols the system. */
async function complete(
  sv: Services,
  oidc: OidcService,
  login: PendingLogin,
  ctx: RequestContext,
): Promise<{ email: string; name: string; pending: boolean }> {
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
  const now = sv.now();
  // The refresh token stays in the coordinator's database, sealed, for the token check
  // (recheck.ts); one that is absurdly long is not kept rather than refusing the sign-in.
  const sealed =
    oidc.recheckMs > 0 && refreshToken && refreshToken.length <= MAX_TOKEN_CHARS
      ? oidc.seal.seal(refreshToken, who.issuer, who.subject)
      : null;
  const user = saveUser(sv.registry, who, p.cfg, now, sealed);
  const source = login.source;
  const r = enrolForUser(sv.registry, login.request, user, p.cfg, source, now, (s) =>
    sv.audit.okWithin({
      actor: user.email,
      source,
      action: 'enrol',
      target: s.identity,
      detail: `${s.name}, ${s.state}, signed in with ${p.cfg.name}, tags ${s.tags.join(',') || '(none)'}`,
    }),
  );
  retagUser(sv, user, { actor: user.email, source, why: `signed in with ${p.cfg.name}` });
  sv.audit.ok({
    actor: user.email,
    source: ctx.remoteIp,
    action: 'login',
    target: r.system.identity,
    detail: `${p.cfg.name}, groups ${user.groups.join(',') || '(none)'}${sealed ? ', token check on' : ''}${r.via.length ? `, AutoTags ${r.via.join(' ')}` : ''}${who.droppedGroups ? `, ${who.droppedGroups} unusable group names left out` : ''}`,
  });
  sv.log.info(
    `login: ${user.email} enrolled ${r.system.identity} (${r.system.name}) as ${r.system.state}${r.created ? '' : ' again'}, tags ${r.system.tags.join(',') || '(none)'}`,
  );
  oidc.pending.finish(login, { status: 'enrolled', user: user.email, enrol: await enrolResponse(sv, r.system) });
  return { email: user.email, name: r.system.name, pending: r.system.state === 'pending' };
}

/** page answers the browser with a small page (text only, escaped). */
function page(ctx: RequestContext, status: number, title: string, lines: string[]): void {
  const esc = (s: string): string =>
    s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>Warren: ${esc(title)}</title></head><body><h1>${esc(title)}</h1>${lines.map((l) => `<p>${esc(l)}</p>`).join('')}</body></html>`;
  sendText(ctx.res, status, html, 'text/html; charset=utf-8');
}
