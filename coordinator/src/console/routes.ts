// The web console's routes: its files at /console/ and its login at /v1/admin/session
// (ADMIN_PATHS.session). Registered only with `serve --console`; without it neither the files
// nor sessions exist and the admin API takes the Bearer token alone.
import { ADMIN_PATHS, type ConsoleSessionInfo } from '../../../src-shared/wire/admin.js';
import { ControlError } from '../http/errors.js';
import { parseJsonBody, readBody } from '../http/body.js';
import { sendJson, sendNoContent } from '../http/respond.js';
import type { RequestContext, Router } from '../http/router.js';
import { objectWithKeys, stringField } from '../http/validate.js';
import type { AuditLog } from '../store/audit.js';
import { CONSOLE_PREFIX, type ConsoleBundle } from './static.js';
import {
  CONSOLE_HEADER,
  cookieValue,
  csrfProblem,
  LoginLimiter,
  SESSION_COOKIE,
  sessionCookie,
  SessionStore,
  tokenMatches,
} from './session.js';

/** LOGIN_BODY_BYTES bounds the login body: { "token": "wrn_..." } is well under it. */
const LOGIN_BODY_BYTES = 1024;
const ACTION = 'console.login';

/** ConsoleAuth is the console's side of the admin check: sessions and their CSRF rules. */
export class ConsoleAuth {
  readonly sessions: SessionStore;
  readonly limiter: LoginLimiter;

  constructor(
    readonly tls: boolean,
    readonly adminToken: string,
    private readonly audit: AuditLog,
    readonly now: () => number,
  ) {
    this.sessions = new SessionStore(now);
    this.limiter = new LoginLimiter(now);
  }

  /** admits tells whether ctx carries a live session cookie; a request with one that fails the
   * CSRF rules is refused (and audited as action's) rather than treated as anonymous. */
  admits(ctx: RequestContext, action: string): boolean {
    const id = cookieValue(ctx.req.headers.cookie, SESSION_COOKIE);
    if (id === null || this.sessions.use(id) === null) return false;
    const problem = csrfProblem(this.csrfRequest(ctx));
    if (problem !== null) {
      this.audit.refused(
        { actor: 'admin', source: ctx.remoteIp, action, target: ctx.params.id ?? '-', detail: problem },
        'csrf',
      );
      throw new ControlError('unauthorized', problem, {}, 403);
    }
    return true;
  }

  csrfRequest(ctx: RequestContext): Parameters<typeof csrfProblem>[0] {
    const h = ctx.req.headers;
    return {
      method: ctx.req.method ?? 'GET',
      consoleHeader: one(h[CONSOLE_HEADER]),
      origin: one(h.origin),
      host: h.host,
      tls: this.tls,
    };
  }
}

const one = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

/** addConsoleRoutes serves the bundle at /console/ and the session routes. */
export function addConsoleRoutes(router: Router, auth: ConsoleAuth, audit: AuditLog, bundle: ConsoleBundle): void {
  for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
    router.add(method, CONSOLE_PREFIX, ({ res }) => bundle.serve(res, method, ''));
    router.add(method, `${CONSOLE_PREFIX}:file`, ({ res, params }) => bundle.serve(res, method, params.file ?? ''));
  }
  router.add('GET', CONSOLE_PREFIX.slice(0, -1), ({ res }) => {
    res.writeHead(308, { location: CONSOLE_PREFIX, 'content-length': 0 });
    res.end();
  });

  router.add('POST', ADMIN_PATHS.session, (ctx) => login(ctx, auth, audit));
  router.add('GET', ADMIN_PATHS.session, (ctx) => {
    const id = cookieValue(ctx.req.headers.cookie, SESSION_COOKIE);
    const s = id === null ? null : auth.sessions.use(id);
    if (s === null) throw new ControlError('unauthorized', 'not logged in (or the session ended): log in again');
    const info: ConsoleSessionInfo = { expiresAt: s.expiresAt };
    sendJson(ctx.res, 200, info);
  });
  router.add('DELETE', ADMIN_PATHS.session, (ctx) => {
    const id = cookieValue(ctx.req.headers.cookie, SESSION_COOKIE);
    if (id !== null && auth.admits(ctx, 'console.logout')) {
      auth.sessions.end(id);
      audit.ok({ actor: 'admin', source: ctx.remoteIp, action: 'console.logout', target: 'session' });
    }
    ctx.res.setHeader('set-cookie', sessionCookie('', auth.tls, 0));
    sendNoContent(ctx.res);
  });
}

/** login exchanges the admin token for a session. The per-source limit is checked before the
 * body is read, so a guesser costs the coordinator next to nothing. */
async function login(ctx: RequestContext, auth: ConsoleAuth, audit: AuditLog): Promise<void> {
  const source = ctx.remoteIp ?? '-';
  const who = { actor: 'anonymous', source: ctx.remoteIp, action: ACTION, target: 'session' };
  if (auth.limiter.blocked(source)) {
    audit.refused(who, 'rate-limited');
    ctx.res.setHeader('retry-after', String(auth.limiter.retryAfterS()));
    throw new ControlError(
      'rate-limited',
      `too many failed logins from ${source}; wait ${auth.limiter.retryAfterS()} s and try again`,
    );
  }
  const problem = csrfProblem({ ...auth.csrfRequest(ctx), method: 'POST' });
  if (problem !== null) {
    audit.refused({ ...who, detail: problem }, 'csrf');
    throw new ControlError('unauthorized', problem, {}, 403);
  }
  const o = objectWithKeys(parseJsonBody(await readBody(ctx.req, LOGIN_BODY_BYTES)), ['token'], [], 'the login');
  const token = stringField(o, 'token', 128);
  if (!tokenMatches(token, auth.adminToken)) {
    auth.limiter.failed(source);
    audit.refused(who, 'bad-token');
    throw new ControlError(
      'unauthorized',
      "that is not the admin token; it is in the coordinator data dir's admin.token file",
    );
  }
  const s = auth.sessions.create();
  audit.ok({ ...who, actor: 'admin' });
  ctx.res.setHeader('set-cookie', sessionCookie(s.id, auth.tls, Math.floor((s.expiresAt - auth.now()) / 1000)));
  sendNoContent(ctx.res);
}
