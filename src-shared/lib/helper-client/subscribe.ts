// The client side of GET /v1/events: one long response parsed as server-sent events, and a
// reconnect loop around it. Backoff doubles from initialBackoffMs up to maxBackoffMs with
// "equal jitter" (half fixed, half random) so many apps do not reconnect in step after a
// helper restart; it starts over once a snapshot arrives. The helper sends a status every
// second, so a silent stream is treated as lost after idleTimeoutMs.
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Status } from '../../wire/status.js';
import { ApiClientError, ApiError } from './errors.js';
import { API_LIMITS, type ApiEventName } from '../../wire/helper-api.js';
import { SseParser, SseTooLarge } from '../sse.js';

/** StatusEvent is one event of the stream: the first after every (re)connect is a snapshot. */
export interface StatusEvent {
  kind: ApiEventName;
  status: Status;
}

/** Subscription is a running subscription; close() stops it for good. */
export interface Subscription {
  close(): void;
}

/** SubscribeOptions tune reconnects (defaults: 250 ms doubling to 10 s, 5 s of silence). */
export interface SubscribeOptions {
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  idleTimeoutMs?: number;
  /** random replaces Math.random (tests). */
  random?: () => number;
}

/** SubscribeDeps is what ApiClient lends the loop. */
export interface SubscribeDeps {
  open(onResponse: (res: IncomingMessage) => void, onFail: (e: Error) => void): ClientRequest | null;
  decodeError(status: number, raw: Buffer): ApiError;
  translate(e: NodeJS.ErrnoException): ApiClientError;
  checkStatus(v: unknown): Status;
  onEvent(e: StatusEvent): void;
  onError(e: ApiClientError, retryInMs: number): void;
  opts: SubscribeOptions;
}

const ERROR_BODY_BYTES = 64 * 1024;

/** backoffDelay is the wait before reconnect attempt n (0-based), with equal jitter. */
export function backoffDelay(n: number, initialMs: number, maxMs: number, random: () => number): number {
  const d = Math.min(maxMs, initialMs * 2 ** Math.min(n, 30));
  return Math.round(d / 2 + random() * (d / 2));
}

/** Attempt is one connection of the loop; done once it failed or was closed. */
interface Attempt {
  req: ClientRequest | null;
  res: IncomingMessage | null;
  idle: NodeJS.Timeout | null;
  done: boolean;
}

function endAttempt(a: Attempt): void {
  a.done = true;
  if (a.idle) clearTimeout(a.idle);
  a.res?.destroy();
  a.req?.destroy();
}

/** subscribeEvents runs the loop until close(). */
export function subscribeEvents(deps: SubscribeDeps): Subscription {
  const initial = deps.opts.initialBackoffMs ?? 250;
  const max = deps.opts.maxBackoffMs ?? 10_000;
  const idleMs = deps.opts.idleTimeoutMs ?? 5 * API_LIMITS.eventTickMs;
  const random = deps.opts.random ?? Math.random;
  let attempts = 0;
  let closed = false;
  let retry: NodeJS.Timeout | null = null;
  let current: Attempt | null = null;

  const attempt = (): void => {
    retry = null;
    if (closed) return;
    const me: Attempt = { req: null, res: null, idle: null, done: false };
    current = me;
    const fail = (e: Error): void => {
      if (me.done) return;
      endAttempt(me);
      if (closed) return;
      const delay = backoffDelay(attempts++, initial, max, random);
      const err = e instanceof ApiClientError ? e : deps.translate(e as NodeJS.ErrnoException);
      retry = setTimeout(attempt, delay);
      deps.onError(err, delay);
    };
    const touch = (): void => {
      if (me.idle) clearTimeout(me.idle);
      me.idle = setTimeout(() => fail(new ApiError('timeout', `the helper sent no event for ${idleMs} ms`)), idleMs);
    };
    me.req = deps.open((res) => {
      me.res = res;
      if (res.statusCode !== 200) return readError(res, deps, fail);
      followStream(res, me, deps, { touch, fail, snapshot: () => (attempts = 0) });
    }, fail);
  };

  attempt();
  return {
    close() {
      if (closed) return;
      closed = true;
      if (retry) clearTimeout(retry);
      const c = current;
      if (c && !c.done) endAttempt(c);
    },
  };
}

/** StreamHooks are the loop's callbacks for one stream: activity, failure, a snapshot. */
interface StreamHooks {
  touch(): void;
  fail(e: Error): void;
  snapshot(): void;
}

// followStream parses the response's events and hands status events to deps until the attempt ends.
function followStream(res: IncomingMessage, me: Attempt, deps: SubscribeDeps, hooks: StreamHooks): void {
  const parser = new SseParser(API_LIMITS.responseBytes);
  res.setEncoding('utf8');
  hooks.touch();
  res.on('data', (chunk: string) => {
    if (me.done) return;
    hooks.touch();
    try {
      for (const ev of parser.feed(chunk)) {
        if (ev.event !== 'snapshot' && ev.event !== 'status') continue;
        const status = deps.checkStatus(JSON.parse(ev.data));
        if (ev.event === 'snapshot') hooks.snapshot();
        deps.onEvent({ kind: ev.event, status });
        if (me.done) return;
      }
    } catch (e) {
      hooks.fail(
        e instanceof SseTooLarge || e instanceof SyntaxError
          ? new ApiError('bad-response', `the helper sent an unusable event: ${(e as Error).message}`)
          : (e as Error),
      );
    }
  });
  res.on('error', hooks.fail);
  res.on('close', () => hooks.fail(new ApiError('stream-ended', 'the helper closed the event stream')));
}

// readError reads a refusal (e.g. 503 too-many-streams) and fails with the helper's message.
function readError(res: IncomingMessage, deps: SubscribeDeps, fail: (e: Error) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  res.on('data', (c: Buffer) => {
    size += c.length;
    if (size <= ERROR_BODY_BYTES) chunks.push(c);
  });
  res.on('end', () => fail(deps.decodeError(res.statusCode ?? 0, Buffer.concat(chunks))));
  res.on('error', fail);
}
