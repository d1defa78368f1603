// The sign-in routes (login.ts LOGIN_PATHS, docs/coordinator.md "Signing in"): the providers,
// starting a login (an authorization request with PKCE, state and nonce: RFC 7636, OpenID
// Connect Core §3.1.2.1), the agent's long poll and its cancel, the provider's redirect
// (callback.ts) and the person's confirmation (confirm.ts).
import * as client from 'openid-client';
import { CONTROL_LIMITS } from '../../../src-shared/wire/control.js';
import {
  LOGIN_LIMITS,
  LOGIN_PATHS,
  type LoginProvidersResponse,
  type LoginStartResponse,
} from '../../../src-shared/wire/login.js';
import { parseJsonBody, readBody } from '../http/body.js';
import { ControlError } from '../http/errors.js';
import { sendJson, sendNoContent } from '../http/respond.js';
import type { RequestContext, Router } from '../http/router.js';
import { objectWithKeys, stringField } from '../http/validate.js';
import type { Services } from '../api/services.js';
import { handleCallback } from './callback.js';
import { handleConfirm } from './confirm.js';
import { addLogoutRoute } from './logout.js';
import { checkLoginProof, parseLoginStart } from './login-start.js';
import { TableFull } from './pending.js';
import { describe } from './providers.js';
import type { OidcService } from './service.js';

/** addLoginRoutes registers the sign-in routes; without --oidc they say how to configure it. */
export function addLoginRoutes(router: Router, sv: Services, oidc: OidcService | undefined): void {
  router.add('GET', LOGIN_PATHS.providers, ({ res }) => {
    const providers = (oidc?.providers.list ?? []).map((p) => ({
      name: p.cfg.name,
      available: p.client !== null,
      ...(p.problem ? { problem: p.problem } : {}),
    }));
    sendJson(res, 200, { providers } satisfies LoginProvidersResponse);
  });
  router.add('POST', LOGIN_PATHS.start, (ctx) => start(sv, needOidc(oidc), ctx));
  router.add('POST', LOGIN_PATHS.poll, (ctx) => poll(sv, needOidc(oidc), ctx));
  router.add('POST', LOGIN_PATHS.cancel, (ctx) => cancel(sv, needOidc(oidc), ctx));
  router.add('GET', LOGIN_PATHS.callback, (ctx) => handleCallback(sv, needOidc(oidc), ctx));
  router.add('POST', LOGIN_PATHS.confirm, (ctx) => handleConfirm(sv, needOidc(oidc), ctx));
  addLogoutRoute(router, sv);
}

function needOidc(oidc: OidcService | undefined): OidcService {
  if (!oidc)
    throw new ControlError(
      'not-found',
      'this coordinator has no identity provider configured (warren-coordinator serve --oidc FILE); enrol with an enrolment key instead',
    );
  return oidc;
}

/** start opens a login: rate-limited per source before any signature or provider work. */
async function start(sv: Services, oidc: OidcService, ctx: RequestContext): Promise<void> {
  const now = sv.now();
  const source = ctx.remoteIp;
  if (!oidc.allow(source, now))
    throw new ControlError('rate-limited', 'too many sign-in attempts from this address; wait a minute and try again');
  const body = await readBody(ctx.req, CONTROL_LIMITS.requestBodyBytes);
  const req = parseLoginStart(parseJsonBody(body));
  try {
    checkLoginProof(req, now);
    if (!oidc.firstUse(req.proof, now))
      throw new ControlError('replay', 'this login request was sent before; run warren login again');
  } catch (e) {
    if (e instanceof ControlError)
      sv.audit.refused({ actor: 'anonymous', source, action: 'login.start', target: req.provider || '-' }, e.code);
    throw e;
  }
  const p = oidc.providers.find(req.provider);
  const refused = (reason: string, detail: string): void =>
    sv.audit.refused(
      { actor: 'anonymous', source, action: 'login.start', target: req.provider || '-', detail },
      reason,
    );
  if (!p) {
    const names = oidc.providers.list.map((x) => x.cfg.name).join(', ');
    refused('unknown-provider', `no provider is named ${JSON.stringify(req.provider.slice(0, 64))}`);
    throw new ControlError(
      'not-found',
      `no identity provider is named ${JSON.stringify(req.provider)} here; use one of ${names}`,
    );
  }
  let config: client.Configuration;
  try {
    config = await oidc.providers.ready(p, now);
  } catch (e) {
    refused('provider-unavailable', describe(e).slice(0, 200));
    throw new ControlError('login-refused', `${describe(e)}; enrolment keys still work`, {}, 503);
  }
  const codeVerifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  let added;
  try {
    added = oidc.pending.add({ provider: p.cfg.name, state, nonce, codeVerifier, request: req, source }, now);
  } catch (e) {
    if (e instanceof TableFull) {
      refused('table-full', 'too many sign-ins in progress');
      throw new ControlError(
        'rate-limited',
        'too many sign-ins are in progress on this coordinator or from this address; try again in a few minutes',
      );
    }
    throw e;
  }
  const { login, loginId } = added;
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: oidc.providers.redirectUri,
    ...scopeParams(oidc.scopes(p, config)),
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  sv.log.info(`login started for ${req.hostname} with ${p.cfg.name} from ${source ?? '?'} (code ${login.code})`);
  const out: LoginStartResponse = {
    loginId,
    url: url.href,
    code: login.code,
    provider: p.cfg.name,
    expiresAt: login.expiresAt,
  };
  sendJson(ctx.res, 200, out);
}

/** scopeParams: asking for offline_access needs prompt=consent (OpenID Connect Core §11), so
 * the person agrees to the coordinator keeping access while they are away. */
function scopeParams(scopes: string[]): Record<string, string> {
  return { scope: scopes.join(' '), ...(scopes.includes('offline_access') ? { prompt: 'consent' } : {}) };
}

/** poll answers when the login has an outcome, or "waiting" after LOGIN_LIMITS.pollWaitMs.
 * Rate-limited per source before the body is read or the store asked. */
async function poll(sv: Services, oidc: OidcService, ctx: RequestContext): Promise<void> {
  pollAllowed(sv, oidc, ctx);
  const body = await readBody(ctx.req, 4096);
  const o = objectWithKeys(parseJsonBody(body), ['loginId'], [], 'the poll');
  const login = oidc.pending.get(stringField(o, 'loginId', 64), sv.now());
  if (!login)
    throw new ControlError('not-found', 'no such login (it expired or was collected); run warren login again');
  await oidc.pending.wait(login, LOGIN_LIMITS.pollWaitMs);
  if (ctx.res.destroyed) return;
  sendJson(ctx.res, 200, oidc.pending.collect(login, sv.now()) ?? { status: 'waiting' });
}

function pollAllowed(sv: Services, oidc: OidcService, ctx: RequestContext): void {
  if (!oidc.allowPoll(ctx.remoteIp, sv.now()))
    throw new ControlError('rate-limited', 'too many login polls or cancels from this address; wait a minute');
}

/** cancel ends a login its system gave up on (`warren login` interrupted, the app's Cancel). The
 * login id is the proof: only the system that started the login was given it. */
async function cancel(sv: Services, oidc: OidcService, ctx: RequestContext): Promise<void> {
  pollAllowed(sv, oidc, ctx);
  const body = await readBody(ctx.req, 4096);
  const o = objectWithKeys(parseJsonBody(body), ['loginId'], [], 'the cancel');
  const login = oidc.pending.get(stringField(o, 'loginId', 64), sv.now());
  if (!login) throw new ControlError('not-found', 'no such login (it expired or was collected); nothing to cancel');
  if (login.outcome?.status === 'enrolled')
    throw new ControlError(
      'conflict',
      'this sign-in has already enrolled the system; run warren logout to sign it out',
      {},
      409,
    );
  if (
    !login.outcome &&
    oidc.pending.cancel(login, 'the sign-in was cancelled on the system that started it; nothing was enrolled')
  ) {
    sv.audit.refused(
      {
        actor: 'anonymous',
        source: ctx.remoteIp,
        action: 'login',
        target: login.provider,
        detail: 'cancelled by the system',
      },
      'cancelled',
    );
    sv.log.info(`login ${login.code} cancelled by the system that started it`);
  }
  sendNoContent(ctx.res);
}
