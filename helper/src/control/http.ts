// controlRequest: one HTTP(S) request to the coordinator with a bounded response, a timeout and,
// after enrolment, the AGENT_AUTH signature. Plain node:http so limits are ours to set.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { CONTROL_LIMITS, type ControlErrorBody } from '../../../src-shared/wire/control.js';
import { transportProblem } from './http-errors.js';
import { agentAuthorization, type MachineKey } from './sign.js';

/** ControlHttpError is a non-2xx answer (code from the coordinator) or a transport failure (status 0). */
export class ControlHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** AgentAuth signs requests once the system is enrolled. */
export interface AgentAuth {
  key: MachineKey;
  systemId: string;
}

/** RequestOptions describe one call. */
export interface RequestOptions {
  base: string;
  method: 'GET' | 'POST';
  path: string;
  body?: unknown;
  auth?: AgentAuth;
  timeoutMs?: number;
  maxBytes?: number;
  /** signal aborts the request (a long poll the person gave up on). */
  signal?: AbortSignal;
}

/** openRequest starts a request and resolves with the response once headers arrive. */
export function openRequest(
  opts: RequestOptions,
  accept = 'application/json',
): Promise<{ res: IncomingMessage; abort: () => void }> {
  const url = new URL(opts.path, `${opts.base}/`);
  const body = opts.body === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(opts.body), 'utf8');
  const headers: Record<string, string> = { accept, 'content-length': String(body.length) };
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  if (opts.auth)
    headers.authorization = agentAuthorization(
      opts.auth.key,
      opts.auth.systemId,
      opts.method,
      url.pathname + url.search,
      body,
    );
  const make = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = make(url, { method: opts.method, headers, timeout: opts.timeoutMs ?? 10_000 });
    req.on('timeout', () =>
      req.destroy(new ControlHttpError(0, 'timeout', transportProblem({ code: 'timeout' }, url.origin))),
    );
    req.on('error', (e) =>
      reject(
        e instanceof ControlHttpError ? e : new ControlHttpError(0, 'unreachable', transportProblem(e, url.origin)),
      ),
    );
    req.on('response', (res) => resolve({ res, abort: () => req.destroy() }));
    const aborted = (): void => {
      req.destroy(new ControlHttpError(0, 'aborted', 'the request was cancelled'));
    };
    if (opts.signal?.aborted) aborted();
    opts.signal?.addEventListener('abort', aborted, { once: true });
    req.on('close', () => opts.signal?.removeEventListener('abort', aborted));
    req.end(body);
  });
}

/** readBody collects a response body up to max bytes. */
export function readBody(res: IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    res.on('data', (c: Buffer) => {
      n += c.length;
      if (n > max) {
        res.destroy();
        reject(new ControlHttpError(0, 'too-large', `the coordinator's answer is larger than ${max} bytes`));
        return;
      }
      chunks.push(c);
    });
    res.on('end', () => resolve(Buffer.concat(chunks)));
    res.on('error', (e) => reject(new ControlHttpError(0, 'unreachable', e.message)));
  });
}

/** controlRequest performs a JSON call and returns the parsed body of a 2xx answer. */
export async function controlRequest(opts: RequestOptions): Promise<unknown> {
  const { res } = await openRequest(opts);
  const raw = await readBody(res, opts.maxBytes ?? CONTROL_LIMITS.mapBytes * 2);
  const status = res.statusCode ?? 0;
  let json: unknown = null;
  try {
    json = raw.length ? JSON.parse(raw.toString('utf8')) : null;
  } catch {
    if (status >= 200 && status < 300)
      throw new ControlHttpError(status, 'bad-response', 'the coordinator answered with something that is not JSON');
  }
  if (status < 200 || status >= 300) {
    const err = (json as Partial<ControlErrorBody> | null)?.error;
    const code = typeof err?.code === 'string' ? err.code.slice(0, 32) : 'http-error';
    const message = typeof err?.message === 'string' ? err.message.slice(0, 500) : `HTTP ${status}`;
    throw new ControlHttpError(status, code, message);
  }
  return json;
}
