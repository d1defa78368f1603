// Signing in (`warren login`, docs/coordinator.md "Signing in"): a system enrols as owned by a
// person who signs in with the organisation's identity provider, instead of with an enrolment
// key. The agent asks the coordinator to start a login, signed with its new machine key; the
// person opens the returned URL, signs in at the provider, and the provider redirects to the
// coordinator's callback, which checks the ID token and enrols the system; the agent long-polls
// with the login id (a secret only it holds) until then. Domain types only.
import type { EnrolResponse } from './control.js';

/** LOGIN_PATHS are the coordinator's sign-in routes. */
export const LOGIN_PATHS = {
  /** GET → LoginProvidersResponse: which providers a person can sign in with. */
  providers: '/v1/login/providers',
  /** POST LoginStartRequest → LoginStartResponse. */
  start: '/v1/login/start',
  /** POST LoginPollRequest → LoginPollResponse, after up to LOGIN_LIMITS.pollWaitMs. */
  poll: '/v1/login/poll',
  /** POST LoginCancelRequest → 204: the system that started a login cancels it (the login id
   * is the proof: only that system holds it); its URL then enrols nothing. */
  cancel: '/v1/login/cancel',
  /** GET from the person's browser, redirected by the provider (RFC 6749 §4.1.2): checks the
   * sign-in and shows the confirmation page. */
  callback: '/v1/oidc/callback',
  /** POST from the confirmation page (application/x-www-form-urlencoded: token, action
   * confirm|cancel): enrols the system, or cancels the login. */
  confirm: '/v1/oidc/confirm',
  /** POST, signed like every agent request (AGENT_AUTH) → 204: the user signs this system out,
   * and the coordinator revokes it. */
  logout: '/v1/agent/logout',
} as const;

/** LOGIN_LIMITS bound the exchange. */
export const LOGIN_LIMITS = {
  /** pendingMs: a login not completed within this is forgotten (its URL stops working). */
  pendingMs: 10 * 60_000,
  /** pollWaitMs: the longest a poll is held open before it answers "waiting". */
  pollWaitMs: 25_000,
  providerNameChars: 32,
} as const;

/** LOGIN_SIGNATURE_CONTEXT prefixes the proof that the agent holds its machine key:
 *   Ed25519(machineKey, UTF-8("warren-login-v1\n" + provider + "\n" + wireguardPublicKey + "\n" + ts)) */
export const LOGIN_SIGNATURE_CONTEXT = 'warren-login-v1\n';

/** loginProofText is the text the login proof covers. */
export function loginProofText(provider: string, wireguardPublicKey: string, ts: number): string {
  return `${LOGIN_SIGNATURE_CONTEXT}${provider}\n${wireguardPublicKey}\n${ts}`;
}

/** LoginProvidersResponse names the configured providers and whether each can be used now. */
export interface LoginProvidersResponse {
  providers: { name: string; available: boolean; problem?: string }[];
}

/** LoginStartRequest is EnrolRequest with a provider instead of an enrolment key. provider ""
 * means the coordinator's only (or first) provider. */
export interface LoginStartRequest {
  protocol: number;
  provider: string;
  wireguardPublicKey: string;
  machinePublicKey: string;
  hostname: string;
  ts: number;
  proof: string;
  endpoints: string[];
}

/** LoginStartResponse: open url in a browser; poll with loginId; code is what the coordinator's
 * page shows after signing in, so the person can tell it is this system they enrol. */
export interface LoginStartResponse {
  loginId: string;
  url: string;
  code: string;
  provider: string;
  expiresAt: number;
}

/** LoginPollRequest asks how a login went. */
export interface LoginPollRequest {
  loginId: string;
}

/** LoginCancelRequest cancels a login that has not enrolled yet. */
export interface LoginCancelRequest {
  loginId: string;
}

/** LoginPollResponse: still waiting, enrolled (with what enrolment returns, and who signed in),
 * or refused (the provider's or the coordinator's reason). */
export type LoginPollResponse =
  | { status: 'waiting' }
  | { status: 'enrolled'; user: string; enrol: EnrolResponse }
  | { status: 'refused'; code: string; message: string };
