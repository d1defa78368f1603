// The local API client (plain Node, no Electron): the one client that the CLI and the app's main
// process use to talk to the helper. Failures are typed so callers can say what to do next.
// Before it sends anything it checks that the socket belongs to root (or to this very user),
// so another local user cannot pose as the helper and collect, say, an enrolment key
// (DESIGN.md convention 6).
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { lstatSync } from 'node:fs';
import type { Status } from '../../wire/status.js';
import { ApiClientError, ApiError, HelperNotRunning, PermissionDenied, UntrustedSocket } from './errors.js';
import {
  API_LIMITS,
  PATHS,
  type CallerInfo,
  type EnrolRequest,
  type LoginAnswer,
  type LoginRequest,
  type ExitNodeState,
  type HttpMethod,
  type WhyAnswer,
} from '../../wire/helper-api.js';
import { subscribeEvents, type StatusEvent, type Subscription, type SubscribeOptions } from './subscribe.js';

export type { StatusEvent, Subscription, SubscribeOptions } from './subscribe.js';
export { ApiClientError, ApiError, HelperNotRunning, PermissionDenied, UntrustedSocket } from './errors.js';

/** ApiClientOptions: timeoutMs bounds each request (default 5 s). */
export interface ApiClientOptions {
  timeoutMs?: number;
  /**
   * trustedOwners are the uids the socket may belong to; default root and this process's own
   * uid (a socket of one's own is no impersonation). Tests may widen it; 'any' skips the check.
   */
  trustedOwners?: readonly number[] | 'any';
}

/** ApiClient talks HTTP/1.1 to the helper over its Unix socket. */
export class ApiClient {
  private readonly timeoutMs: number;
  private readonly trustedOwners: readonly number[] | 'any';

  constructor(
    readonly socketPath: string,
    opts: ApiClientOptions = {},
  ) {
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.trustedOwners = opts.trustedOwners ?? [0, ...(process.getuid ? [process.getuid()] : [])];
  }

  /** status returns the helper's current snapshot (GET /v1/status). */
  async status(): Promise<Status> {
    return checkStatus(await this.request<unknown>('GET', PATHS.status));
  }

  /** caller says who the helper thinks this process is and whether it may change things. */
  async caller(): Promise<CallerInfo> {
    const c = await this.request<Partial<CallerInfo> | null>('GET', PATHS.caller);
    if (typeof c?.privileged !== 'boolean' || typeof c.operatorGroup !== 'string') {
      throw new ApiError('bad-response', 'the helper sent a caller description without privileged/operatorGroup');
    }
    return c as CallerInfo;
  }

  /** why explains why traffic with a peer (identity, name, key or address) passes or not. */
  async why(peer: string): Promise<WhyAnswer> {
    const w = await this.request<Partial<WhyAnswer> | null>('GET', `${PATHS.why}?peer=${encodeURIComponent(peer)}`);
    if (typeof w?.text !== 'string') throw new ApiError('bad-response', 'the helper sent a why answer without text');
    return { text: w.text, detail: w.detail ?? null };
  }

  /** reload re-reads the profile (root or operator group). */
  async reload(): Promise<{ message: string }> {
    const r = await this.request<{ message?: unknown } | null>('POST', PATHS.reload);
    return { message: typeof r?.message === 'string' ? r.message : '' };
  }

  /** exitNodes lists the exit nodes this system may use. */
  async exitNodes(): Promise<ExitNodeState[]> {
    const list = await this.request<unknown>('GET', PATHS.exitNodes);
    if (!Array.isArray(list))
      throw new ApiError('bad-response', 'the helper sent an exit-node list that is not a list');
    return list.map(checkExitNode);
  }

  /** useExitNode switches the routes through one exit node on or off (root or operator group). */
  async useExitNode(identity: string, use: boolean): Promise<ExitNodeState> {
    // identity may also be the exit node's name (the helper resolves it, or lists the nodes).
    return checkExitNode(await this.request<unknown>('POST', PATHS.exitNodes, { identity, use }));
  }

  /** connect brings the tunnel up without restarting the helper (root or operator group). */
  async connect(): Promise<unknown> {
    return this.request<unknown>('POST', PATHS.connect);
  }

  /** disconnect brings the tunnel down, the helper keeps running (root or operator group). */
  async disconnect(): Promise<unknown> {
    return this.request<unknown>('POST', PATHS.disconnect);
  }

  /** enrol joins a coordinator with an enrolment key (root or operator group); coordinatorKey
   * and insecure are sent only when given. */
  async enrol(req: EnrolRequest): Promise<unknown> {
    const body: EnrolRequest = { coordinator: req.coordinator, key: req.key };
    if (req.coordinatorKey !== undefined) body.coordinatorKey = req.coordinatorKey;
    if (req.insecure !== undefined) body.insecure = req.insecure;
    return this.request<unknown>('POST', PATHS.enrol, body);
  }

  /** login starts signing in with the coordinator's identity provider (root or operator group):
   * the answer is the URL to open and the code to compare; Status.login tells how it goes. */
  async login(req: LoginRequest): Promise<LoginAnswer> {
    const body: LoginRequest = { coordinator: req.coordinator };
    if (req.provider !== undefined) body.provider = req.provider;
    if (req.coordinatorKey !== undefined) body.coordinatorKey = req.coordinatorKey;
    if (req.insecure !== undefined) body.insecure = req.insecure;
    return this.request<LoginAnswer>('POST', PATHS.login, body);
  }

  /** cancelLogin cancels the sign-in under way, at the coordinator too (root or operator group). */
  async cancelLogin(): Promise<{ message: string }> {
    return this.request<{ message: string }>('DELETE', PATHS.login);
  }

  /**
   * subscribe follows GET /v1/events: onEvent gets a snapshot first, then every status; after
   * a lost connection it reconnects with capped, jittered backoff and the helper sends a new
   * snapshot. onError hears every failure with the delay before the next attempt.
   */
  subscribe(
    onEvent: (e: StatusEvent) => void,
    onError: (e: ApiClientError, retryInMs: number) => void,
    opts: SubscribeOptions = {},
  ): Subscription {
    return subscribeEvents({
      open: (onResponse, onFail) => this.open('GET', PATHS.events, null, onResponse, onFail, 0),
      decodeError: (status, raw) => decodeError(status, raw),
      translate: (e) => this.translate(e),
      checkStatus,
      onEvent,
      onError,
      opts,
    });
  }

  /** request sends one JSON request and returns the parsed JSON answer of a 2xx response. */
  request<T>(method: HttpMethod, path: string, body?: unknown): Promise<T> {
    const payload = body === undefined ? null : Buffer.from(JSON.stringify(body));
    return new Promise<T>((resolve, reject) => {
      this.open(
        method,
        path,
        payload,
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > API_LIMITS.responseBytes) {
              res.destroy(
                new ApiError(
                  'response-too-large',
                  `the helper's answer is larger than ${API_LIMITS.responseBytes} bytes`,
                ),
              );
              return;
            }
            chunks.push(c);
          });
          res.on('error', (e) => reject(e instanceof ApiClientError ? e : this.translate(e)));
          res.on('end', () => {
            try {
              resolve(decode<T>(res.statusCode ?? 0, Buffer.concat(chunks)));
            } catch (e) {
              reject(e);
            }
          });
        },
        reject,
        this.timeoutMs,
      );
    });
  }

  /** assertTrustedSocket throws unless the socket is owned by a trusted uid. */
  assertTrustedSocket(): void {
    if (this.trustedOwners === 'any') return;
    let st;
    try {
      st = lstatSync(this.socketPath);
    } catch (e) {
      throw this.translate(e as NodeJS.ErrnoException);
    }
    if (!st.isSocket()) throw new UntrustedSocket(this.socketPath, null);
    if (!this.trustedOwners.includes(st.uid)) throw new UntrustedSocket(this.socketPath, st.uid);
  }

  // open checks the socket, sends one request and hands over the response; timeoutMs 0 means
  // no timeout (event streams watch for silence themselves).
  private open(
    method: HttpMethod,
    path: string,
    payload: Buffer | null,
    onResponse: (res: IncomingMessage) => void,
    onFail: (e: Error) => void,
    timeoutMs: number,
  ): ClientRequest | null {
    try {
      this.assertTrustedSocket();
    } catch (e) {
      onFail(e as Error);
      return null;
    }
    const req = httpRequest(
      {
        socketPath: this.socketPath,
        // A fresh connection per request: Node 20's default agent keeps sockets alive, and a
        // pooled socket to a helper that has since restarted fails with EPIPE.
        agent: false,
        path,
        method,
        headers: {
          Host: 'warren',
          Accept: path === PATHS.events ? 'text/event-stream' : 'application/json',
          ...(payload ? { 'Content-Type': 'application/json', 'Content-Length': payload.length } : {}),
        },
      },
      onResponse,
    );
    if (timeoutMs > 0) {
      req.setTimeout(timeoutMs, () => {
        req.destroy(new ApiError('timeout', `the helper did not answer within ${timeoutMs} ms`));
      });
    }
    req.on('error', (e: NodeJS.ErrnoException) => onFail(this.translate(e)));
    req.end(payload ?? undefined);
    return req;
  }

  private translate(e: NodeJS.ErrnoException): ApiClientError {
    switch (e.code) {
      case 'ENOENT':
        return new HelperNotRunning(this.socketPath, 'no-socket');
      case 'ECONNREFUSED':
        return new HelperNotRunning(this.socketPath, 'not-listening');
      case 'EACCES':
      case 'EPERM':
        return new PermissionDenied(this.socketPath);
      default:
        return e instanceof ApiClientError
          ? e
          : new ApiError('transport', `talking to ${this.socketPath}: ${e.message}`);
    }
  }
}

/** checkStatus accepts a value as a Status if it has the fields every reader relies on. */
function checkStatus(s: unknown): Status {
  const v = s as Partial<Status> | null;
  if (
    typeof v !== 'object' ||
    v === null ||
    !Array.isArray(v.peers) ||
    typeof v.state !== 'string' ||
    typeof v.identity !== 'string'
  ) {
    throw new ApiError('bad-response', 'the helper sent a status without identity, state or peer list');
  }
  return v as Status;
}

const ALLOWANCES = ['route-grant', 'policy', 'allow-all'] as const;

function checkExitNode(v: unknown): ExitNodeState {
  const e = v as Partial<ExitNodeState> | null;
  if (typeof e?.identity !== 'string' || !Array.isArray(e.routes) || typeof e.inUse !== 'boolean') {
    throw new ApiError('bad-response', 'the helper sent an exit node without identity, routes or inUse');
  }
  return {
    identity: e.identity,
    ...(e.name === undefined ? {} : { name: typeof e.name === 'string' ? e.name.slice(0, 64) : null }),
    routes: e.routes.map(String),
    inUse: e.inUse,
    conflicts: Array.isArray(e.conflicts) ? e.conflicts.map(String) : [],
    ...(e.allowedBy === undefined ? {} : { allowedBy: ALLOWANCES.find((a) => a === e.allowedBy) ?? null }),
  };
}

function decode<T>(status: number, raw: Buffer): T {
  if (status >= 200 && status < 300) {
    try {
      return JSON.parse(raw.toString('utf8')) as T;
    } catch {
      throw new ApiError('bad-response', `the helper answered HTTP ${status} with a body that is not JSON`, status);
    }
  }
  throw decodeError(status, raw);
}

function decodeError(status: number, raw: Buffer): ApiError {
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch {
    return new ApiError('bad-response', `the helper answered HTTP ${status} with a body that is not JSON`, status);
  }
  const err = (value as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  const code = typeof err?.code === 'string' ? err.code : 'http-' + status;
  const message = typeof err?.message === 'string' ? err.message : `HTTP ${status}`;
  return new ApiError(code, message, status);
}
