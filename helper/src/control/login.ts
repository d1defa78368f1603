// login: enrol by signing in with the organisation's identity provider (`warren login`,
// docs/coordinator.md "Signing in"). The agent asks the coordinator to start a login, signed
// with its machine key; the person opens the URL and signs in; the coordinator checks the ID
// token and enrols the system as that person's; the agent long-polls until then and writes the
// profile as `warren enrol` does (enrol.ts enrolVia).
import { CONTROL_PROTOCOL, type EnrolResponse } from '../../../src-shared/wire/control.js';
import {
  LOGIN_LIMITS,
  LOGIN_PATHS,
  loginProofText,
  type LoginPollResponse,
  type LoginStartRequest,
  type LoginStartResponse,
} from '../../../src-shared/wire/login.js';
import { isObject } from '../../../src-shared/lib/errors.js';
import { signEd25519 } from '../../../src-shared/lib/ed25519.js';
import { formatKey } from '../../../src-shared/lib/keys.js';
import { ControlHttpError, controlRequest } from './http.js';
import { enrolVia, type EnrolOptions, type EnrolOutcome } from './enrol.js';
import type { MachineKey } from './sign.js';

/** LoginOptions are `warren enrol`'s options without the key, plus the provider and what to do
 * with the URL the person must open. */
export interface LoginOptions extends Omit<EnrolOptions, 'key'> {
  provider?: string;
  onStart(r: LoginStartResponse): void;
  /** timeoutMs: how long to wait for the person (default: as long as the login lives). */
  timeoutMs?: number;
  /** signal cancels the wait, and the login at the coordinator (LoginCancelled). */
  signal?: AbortSignal;
}

/** LoginCancelled is a sign-in given up on this side; told says whether the coordinator
 * confirmed that its URL no longer enrols anything. */
export class LoginCancelled extends Error {
  override name = 'LoginCancelled';
  constructor(
    readonly told: boolean,
    message: string,
  ) {
    super(message);
  }
}

/** LoginOutcome is the enrolment, and who signed in. */
export interface LoginOutcome extends EnrolOutcome {
  user: string;
}

/** LoginBegun is a sign-in the person still has to complete: what to open and compare now, and
 * the outcome later (done rejects with a message for people). */
export interface LoginBegun {
  started: LoginStartResponse;
  done: Promise<LoginOutcome>;
}

/** beginLogin starts a sign-in and answers as soon as the coordinator has given the URL and the
 * code, finishing in the background (the helper's local API, daemon/login-runtime.ts); it
 * rejects when the login could not even start (inputs, coordinator key, coordinator refusal). */
export function beginLogin(o: Omit<LoginOptions, 'onStart'>): Promise<LoginBegun> {
  return new Promise((resolve, reject) => {
    let begun = false;
    const done: Promise<LoginOutcome> = login({
      ...o,
      onStart: (started) => {
        begun = true;
        resolve({ started, done });
      },
    });
    done.catch((e: unknown) => {
      if (!begun) reject(e as Error);
    });
  });
}

/** login runs the whole sign-in and writes the profile; it throws with a message for people. */
export async function login(o: LoginOptions): Promise<LoginOutcome> {
  let user = '';
  const outcome = await enrolVia(o, async ({ url, wgPublic, machine, hostname }) => {
    const started = await startLogin(url, o.provider ?? '', wgPublic, machine, hostname);
    o.onStart(started);
    const r = await waitForLogin(url, started.loginId, o.timeoutMs ?? LOGIN_LIMITS.pendingMs, o.signal);
    user = r.user;
    return r.enrol;
  });
  return { ...outcome, user };
}

async function startLogin(
  url: string,
  provider: string,
  wgPublic: string,
  machine: MachineKey,
  hostname: string,
): Promise<LoginStartResponse> {
  const ts = Date.now();
  const body: LoginStartRequest = {
    protocol: CONTROL_PROTOCOL,
    provider,
    wireguardPublicKey: wgPublic,
    machinePublicKey: formatKey(machine.publicKey),
    hostname,
    ts,
    proof: signEd25519(machine.privateKey, Buffer.from(loginProofText(provider, wgPublic, ts), 'utf8')).toString(
      'base64',
    ),
    endpoints: [],
  };
  const r = (await controlRequest({
    base: url,
    method: 'POST',
    path: LOGIN_PATHS.start,
    body,
    timeoutMs: 20_000,
    maxBytes: 16 * 1024,
  })) as LoginStartResponse;
  // The URL is printed and may be opened in a browser: only an http(s) URL of bounded length.
  if (
    !isObject(r) ||
    typeof r.loginId !== 'string' ||
    !/^[A-Za-z0-9_-]{16,64}$/.test(r.loginId) ||
    typeof r.url !== 'string' ||
    r.url.length > 4096 ||
    !/^https?:\/\/[\x21-\x7e]+$/.test(r.url) ||
    typeof r.code !== 'string' ||
    !/^[0-9A-Z]{4}-[0-9A-Z]{4}$/.test(r.code)
  )
    throw new Error('the coordinator answered the login request with something unexpected');
  return r;
}

/** POLL_RETRY_MS: the pause before polling again after a poll failed in passing. */
const POLL_RETRY_MS = 1000;

/** passing: a failure another poll may not meet: the coordinator unreachable, the connection
 * cut or timed out, or a gateway answering that none is reachable (RFC 9110 §15.6.3-5). */
function passing(e: unknown): boolean {
  if (!(e instanceof ControlHttpError)) return false;
  if (e.status === 0) return e.code === 'unreachable' || e.code === 'timeout';
  return e.status === 502 || e.status === 503 || e.status === 504;
}

/** waitForLogin long-polls until the login is done, refused or timeoutMs has passed. */
async function waitForLogin(
  url: string,
  loginId: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<{ user: string; enrol: EnrolResponse }> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (signal?.aborted) throw await cancelLogin(url, loginId);
    let r: LoginPollResponse;
    try {
      r = (await controlRequest({
        base: url,
        method: 'POST',
        path: LOGIN_PATHS.poll,
        body: { loginId },
        timeoutMs: LOGIN_LIMITS.pollWaitMs + 10_000,
        ...(signal ? { signal } : {}),
      })) as LoginPollResponse;
    } catch (e) {
      if (signal?.aborted) throw await cancelLogin(url, loginId);
      if (!passing(e)) throw e;
      // The coordinator that held the poll went away (restarted, or one of several behind a
      // load balancer died); the login is in the shared database, so ask again shortly.
      await new Promise((resolve) => setTimeout(resolve, POLL_RETRY_MS));
      continue;
    }
    if (!isObject(r)) throw new Error('the coordinator answered the poll with something unexpected');
    if (r.status === 'waiting') continue;
    if (r.status === 'refused')
      throw new Error(
        `the sign-in was refused: ${String(r.message)
          .replace(/[^\x20-\x7e]/g, '?')
          .slice(0, 400)}`,
      );
    if (r.status === 'enrolled' && isObject(r.enrol) && typeof r.user === 'string')
      return { user: r.user.replace(/[^\x20-\x7e]/g, '?').slice(0, 254), enrol: r.enrol };
    throw new Error('the coordinator answered the poll with something unexpected');
  }
  throw new Error(`nobody signed in within ${Math.round(timeoutMs / 1000)} s; run warren login again`);
}

/** cancelLogin asks the coordinator to cancel the login (the login id, which only this system
 * holds, is the proof) and returns the LoginCancelled to throw. */
async function cancelLogin(url: string, loginId: string): Promise<LoginCancelled> {
  try {
    await controlRequest({
      base: url,
      method: 'POST',
      path: LOGIN_PATHS.cancel,
      body: { loginId },
      timeoutMs: 5000,
      maxBytes: 4096,
    });
    return new LoginCancelled(true, 'the sign-in was cancelled: its URL no longer enrols anything');
  } catch (e) {
    const why = (e as Error).message.replace(/[^\x20-\x7e]/g, '?').slice(0, 300);
    return new LoginCancelled(
      false,
      `the sign-in was cancelled here, but the coordinator could not be told (${why}); its URL may still enrol this system until it expires: open it in no browser`,
    );
  }
}
