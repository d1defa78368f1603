// POST /v1/oidc/confirm: the person's Confirm or Cancel on the page the callback showed
// (callback.ts). Only now is the user recorded and the system enrolled. The request must come
// from the coordinator's own page: its Origin must be PublicUrl's (RFC 6454 §7.3; browsers send
// Origin with every form POST) and it must carry the page's token, which belongs to that one
// pending login and is used up by the first request that names it (the synchronizer token
// pattern against cross-site request forgery). Every refusal is audited.
import { enrolResponse } from '../api/agent.js';
import type { Services } from '../api/services.js';
import { readBody } from '../http/body.js';
import { ControlError } from '../http/errors.js';
import type { RequestContext } from '../http/router.js';
import { cancelledPage, refuse } from './callback.js';
import { enrolForUser, saveUser } from './login-enrol.js';
import { retagUser } from '../store/follow-groups.js';
import { textPage } from './page.js';
import type { PendingLogin, Verified } from './pending.js';
import type { OidcService } from './service.js';

/** CONFIRM_BODY_BYTES bounds the form: a 43-character token and the action. */
const CONFIRM_BODY_BYTES = 1024;
const ACTION = 'login.confirm';

/** handleConfirm serves the confirmation form's POST. */
export async function handleConfirm(sv: Services, oidc: OidcService, ctx: RequestContext): Promise<void> {
  const now = sv.now();
  const source = ctx.remoteIp;
  if (!oidc.allow(source, now))
    throw new ControlError('rate-limited', 'too many sign-in attempts from this address; wait a minute and try again');
  const refused = (reason: string, detail: string, lines: string[]): void => {
    sv.audit.refused({ actor: 'anonymous', source, action: ACTION, target: '-', detail }, reason);
    textPage(ctx.res, 403, 'Confirmation refused', lines);
  };
  const problem = originProblem(ctx.req.headers.origin, new URL(oidc.providers.redirectUri).origin);
  if (problem !== null)
    return refused('csrf', problem, [
      `${problem}.`,
      'Confirm from the page the coordinator showed after you signed in, or run warren login again.',
    ]);
  const form = new URLSearchParams((await readBody(ctx.req, CONFIRM_BODY_BYTES)).toString('utf8'));
  const token = form.get('token') ?? '';
  const action = form.get('action');
  const login = /^[A-Za-z0-9_-]{43}$/.test(token) ? oidc.pending.takeToken(token, now) : undefined;
  if (!login || !login.verified)
    return refused('confirm-token', token === '' ? 'no token' : 'unknown token', [
      'This confirmation is unknown, expired or already used.',
      'Run warren login again on the system you want to enrol.',
    ]);
  if (login.cancelled) return cancelledPage(sv, ctx, login);
  if (action === 'cancel') {
    const message =
      'the person who signed in pressed Cancel on the confirmation page; nothing was enrolled. Run warren login again to enrol this system';
    if (!oidc.pending.cancel(login, message)) return cancelledPage(sv, ctx, login);
    sv.audit.refused(
      { actor: login.verified.who.email, source, action: 'login', target: login.provider, detail: 'Cancel pressed' },
      'cancelled',
    );
    return textPage(ctx.res, 200, 'Sign-in cancelled', [
      `Nothing was enrolled: the sign-in with code ${login.code} is cancelled.`,
      'You can close this window.',
    ]);
  }
  if (action !== 'confirm')
    return refused('bad-request', 'no action', ['The form named neither Confirm nor Cancel; press one of them.']);
  try {
    const done = await enrol(sv, oidc, login, login.verified, source);
    textPage(ctx.res, 200, 'Signed in', [
      `Signed in as ${done.email}.`,
      `The system ${done.name} (code ${login.code}) is enrolled as yours${done.pending ? ' and waits for an administrator to approve it' : ''}.`,
      'You can close this window.',
    ]);
  } catch (e) {
    refuse(sv, oidc, login, ctx, e);
  }
}

/** originProblem says why a confirmation's Origin is not the coordinator's own, or null. */
export function originProblem(origin: string | string[] | undefined, own: string): string | null {
  const o = Array.isArray(origin) ? origin[0] : origin;
  if (o === undefined) return 'the request has no Origin header, so it cannot be told from a forged one';
  if (o.toLowerCase() !== own.toLowerCase())
    return `the request's Origin ${JSON.stringify(o.slice(0, 100))} is not the coordinator's own (${own})`;
  return null;
}

/** enrol records the user and enrols the login's system as theirs. */
async function enrol(
  sv: Services,
  oidc: OidcService,
  login: PendingLogin,
  v: Verified,
  browser: string | null,
): Promise<{ email: string; name: string; pending: boolean }> {
  const p = oidc.providers.find(login.provider)!;
  const now = sv.now();
  const user = saveUser(sv.registry, v.who, p.cfg, now, v.sealed);
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
    source: browser,
    action: 'login',
    target: r.system.identity,
    detail: `${p.cfg.name}, groups ${user.groups.join(',') || '(none)'}${v.sealed ? ', token check on' : ''}${r.via.length ? `, AutoTags ${r.via.join(' ')}` : ''}${v.who.droppedGroups ? `, ${v.who.droppedGroups} unusable group names left out` : ''}`,
  });
  sv.log.info(
    `login: ${user.email} enrolled ${r.system.identity} (${r.system.name}) as ${r.system.state}${r.created ? '' : ' again'}, tags ${r.system.tags.join(',') || '(none)'}`,
  );
  oidc.pending.finish(login, { status: 'enrolled', user: user.email, enrol: await enrolResponse(sv, r.system) });
  return { email: user.email, name: r.system.name, pending: r.system.state === 'pending' };
}
