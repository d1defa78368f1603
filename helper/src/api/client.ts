// The local API client (plain Node, no Electron): the one client that the CLI and the app's main
// process use to talk to the helper. Failures are typed so callers can say what to do next.
import { request as httpRequest } from 'node:http';
import type { Status } from '../../../src-shared/status.js';
import { API_LIMITS, PATHS, type HttpMethod } from './protocol.js';

/** ApiClientError is the base of every error the client throws. */
export class ApiClientError extends Error {
  override name = 'ApiClientError';
}

/** HelperNotRunning: no socket file (ENOENT) or nobody listening on it (ECONNREFUSED). */
export class HelperNotRunning extends ApiClientError {
  override name = 'HelperNotRunning';
  constructor(
    readonly socketPath: string,
    readonly reason: 'no-socket' | 'not-listening',
  ) {
    super(
      reason === 'no-socket'
        ? `the helper is not running (no socket at ${socketPath})`
        : `the helper is not running (nothing is listening on ${socketPath})`,
    );
  }
}

/** PermissionDenied: the socket exists but this user may not connect to it (EACCES). */
export class PermissionDenied extends ApiClientError {
  override name = 'PermissionDenied';
  constructor(readonly socketPath: string) {
    super(`permission denied connecting to ${socketPath}`);
  }
}

/** ApiError is an error the helper answered with, or a response the client could not use. */
export class ApiError extends ApiClientError {
  override name = 'ApiError';
  constructor(
    readonly code: string,
    message: string,
    readonly httpStatus: number | null = null,
  ) {
    super(message);
  }
}

/** ApiClientOptions: timeoutMs bounds each request (default 5 s). */
export interface ApiClientOptions {
  timeoutMs?: number;
}

/** ApiClient talks HTTP/1.1 to the helper over its Unix socket. */
export class ApiClient {
  private readonly timeoutMs: number;

  constructor(
    readonly socketPath: string,
    opts: ApiClientOptions = {},
  ) {
    this.timeoutMs = opts.timeoutMs ?? 5000;
  }

  /** status returns the helper's current snapshot (GET /v1/status). */
  async status(): Promise<Status> {
    const s = await this.request<Status>('GET', PATHS.status);
    if (typeof s !== 'object' || s === null || !Array.isArray((s as Partial<Status>).peers)) {
      throw new ApiError('bad-response', 'the helper sent a status without a peer list');
    }
    return s;
  }

  /** request sends one JSON request and returns the parsed JSON answer of a 2xx response. */
  request<T>(method: HttpMethod, path: string, body?: unknown): Promise<T> {
    const payload = body === undefined ? null : Buffer.from(JSON.stringify(body));
    return new Promise<T>((resolve, reject) => {
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
            Accept: 'application/json',
            ...(payload ? { 'Content-Type': 'application/json', 'Content-Length': payload.length } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > API_LIMITS.responseBytes) {
              req.destroy(new ApiError('response-too-large', `the helper's answer is larger than ${API_LIMITS.responseBytes} bytes`));
              return;
            }
            chunks.push(c);
          });
          res.on('error', (e) => reject(e));
          res.on('end', () => {
            try {
              resolve(decode<T>(res.statusCode ?? 0, Buffer.concat(chunks)));
            } catch (e) {
              reject(e);
            }
          });
        },
      );
      req.setTimeout(this.timeoutMs, () => {
        req.destroy(new ApiError('timeout', `the helper did not answer within ${this.timeoutMs} ms`));
      });
      req.on('error', (e: NodeJS.ErrnoException) => reject(this.translate(e)));
      req.end(payload ?? undefined);
    });
  }

  private translate(e: NodeJS.ErrnoException): Error {
    switch (e.code) {
      case 'ENOENT':
        return new HelperNotRunning(this.socketPath, 'no-socket');
      case 'ECONNREFUSED':
        return new HelperNotRunning(this.socketPath, 'not-listening');
      case 'EACCES':
      case 'EPERM':
        return new PermissionDenied(this.socketPath);
      default:
        return e instanceof ApiClientError ? e : new ApiError('transport', `talking to ${this.socketPath}: ${e.message}`);
    }
  }
}

function decode<T>(status: number, raw: Buffer): T {
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new ApiError('bad-response', `the helper answered HTTP ${status} with a body that is not JSON`, status);
  }
  if (status >= 200 && status < 300) return value as T;
  const err = (value as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  const code = typeof err?.code === 'string' ? err.code : 'http-' + status;
  const message = typeof err?.message === 'string' ? err.message : `HTTP ${status}`;
  throw new ApiError(code, message, status);
}
