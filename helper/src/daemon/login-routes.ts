// POST, GET and DELETE /v1/login: signing in through the local API (login-runtime.ts), and
// cancelling it. All are for root
// and the operator group only: the URL enrols this system as whoever completes it, so it must not
// reach other local users (they see only Status.login, which has neither URL nor code).
import { ApiHttpError, requirePrivileged, type ApiRequest, type Handler } from '../api/server.js';
import { ENROL_LIMITS, LOGIN_API_LIMITS, type LoginRequest } from '../../../src-shared/wire/helper-api.js';
import type { HttpMethod } from '../../../src-shared/wire/helper-api.js';
import type { LoginRuntime } from './login-runtime.js';

/** loginBody checks POST /v1/login's body: its shape and bounds here, the values' meaning in
 * control/enrol.ts (the URL, the coordinator key, plain http://). */
export function loginBody(body: unknown): LoginRequest {
  const b = body as Partial<Record<keyof LoginRequest, unknown>> | null;
  const text = (v: unknown, max: number): v is string => typeof v === 'string' && v.length <= max;
  const known = new Set(['coordinator', 'provider', 'coordinatorKey', 'insecure']);
  if (
    typeof b !== 'object' ||
    b === null ||
    Array.isArray(b) ||
    Object.keys(b).some((k) => !known.has(k)) ||
    !text(b.coordinator, ENROL_LIMITS.coordinatorChars) ||
    (b.provider !== undefined &&
      (!text(b.provider, LOGIN_API_LIMITS.providerChars) || !/^[A-Za-z0-9._-]*$/.test(b.provider))) ||
    (b.coordinatorKey !== undefined && !text(b.coordinatorKey, ENROL_LIMITS.coordinatorKeyChars)) ||
    (b.insecure !== undefined && typeof b.insecure !== 'boolean')
  ) {
    throw new ApiHttpError(
      400,
      'bad-request',
      'expected {"coordinator": "https://...", "provider": "name" (optional), ' +
        '"coordinatorKey": "44 characters of base64" (optional), "insecure": true|false (optional)}, ' +
        `with the URL at most ${ENROL_LIMITS.coordinatorChars} characters`,
    );
  }
  return {
    coordinator: b.coordinator,
    ...(b.provider ? { provider: b.provider } : {}),
    ...(b.coordinatorKey !== undefined ? { coordinatorKey: b.coordinatorKey } : {}),
    ...(b.insecure === true ? { insecure: true } : {}),
  };
}

/** loginRoutes are /v1/login's handlers. */
export function loginRoutes(login: LoginRuntime): Partial<Record<HttpMethod, Handler>> {
  return {
    POST: (req: ApiRequest) => {
      requirePrivileged(req);
      return login.start(loginBody(req.body));
    },
    GET: (req: ApiRequest) => {
      requirePrivileged(req);
      const w = login.waiting();
      if (w === null) throw new ApiHttpError(404, 'not-found', 'no sign-in is under way on this system');
      return w;
    },
    DELETE: (req: ApiRequest) => {
      requirePrivileged(req);
      return login.cancel();
    },
  };
}
