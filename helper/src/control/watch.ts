// Watch: the helper keeps one server-sent-events stream open to the coordinator and hears about
// every new map at once (docs/coordinator.md, "Network maps"). It reconnects with capped, jittered backoff
// (retryDelayMs); a stream that stays silent past two missed pings is treated as dead. Events are parsed by
// the bounded SseParser: the coordinator is trusted for maps only after their signature checks.
import { IPV6_MAX_TEXT } from '../../../src-shared/lib/ip/ipv6.js';
import type { IncomingMessage } from 'node:http';
import { CONTROL_LIMITS, CONTROL_PATHS, type WatchEvent } from '../../../src-shared/wire/control.js';
import { ControlHttpError, openRequest, readBody, type AgentAuth } from './http.js';
import { SseParser } from '../../../src-shared/lib/sse.js';
import { WATCH_BATCH_PARAM, WATCH_DELTA_PARAM } from '../../../src-shared/wire/map-delta.js';

/** WATCH_SILENCE_MS: the coordinator pings every 15 s; this long without a byte means dead. */
const WATCH_SILENCE_MS = 40_000;
const BACKOFF_MIN_MS = 250;
/** UNREACHABLE_MAX_MS caps the wait while nothing answers for the coordinator (refused, reset,
 * timed out, a lost stream, a proxy's 502/503/504): a dial that fails costs a stopped server
 * nothing, and a low cap means a helper redials within 1.5 s of the coordinator's return however
 * long the outage was; the jitter spreads a fleet's return over that window. */
const UNREACHABLE_MAX_MS = 1_500;
/** REFUSED_MAX_MS caps it while the coordinator itself refuses (rate-limited, pending approval,
 * revoked, a server error): dialling sooner gets the same answer and costs it a signature check. */
const REFUSED_MAX_MS = 15_000;
/** SHUT_OUT_MAX_MS caps it once the coordinator says this system is no member: revoked, or a
 * machine key it does not know (the system was deleted). Only a new enrolment changes that
 * answer, and every refused dial is a row in the coordinator's audit log. */
const SHUT_OUT_MAX_MS = 240_000;
const SHUT_OUT_CODES = new Set(['revoked', 'unauthorized']);

/** Refusal is how the last dial failed: nobody answered, the coordinator refused for now, or
 * it refused this system for good. */
export type Refusal = 'unreachable' | 'refused' | 'shut-out';

const CAPS: Record<Refusal, number> = {
  unreachable: UNREACHABLE_MAX_MS,
  refused: REFUSED_MAX_MS,
  'shut-out': SHUT_OUT_MAX_MS,
};

/** retryDelayMs is the wait before redial number attempt (0 after a success): BACKOFF_MIN_MS
 * doubling to the cap for how the last attempt failed, with equal jitter (half fixed, half
 * random), so the first redials come within 250, 500 and 1000 ms. */
export function retryDelayMs(attempt: number, how: Refusal, random: () => number = Math.random): number {
  const cap = CAPS[how];
  const wait = Math.min(cap, BACKOFF_MIN_MS * 2 ** Math.min(attempt, 10));
  return wait / 2 + random() * (wait / 2);
}

// refusalOf: refused is an answer with the coordinator's own error code, or any other status
// that is not a gateway saying the server behind it is down.
function refusalOf(e: unknown): Refusal {
  if (!(e instanceof ControlHttpError) || e.status === 0) return 'unreachable';
  if (SHUT_OUT_CODES.has(e.code)) return 'shut-out';
  return e.code !== 'http-error' || ![502, 503, 504].includes(e.status) ? 'refused' : 'unreachable';
}

/** WatchHandlers receive what the stream says and how the connection is doing. */
export interface WatchHandlers {
  onEvent(e: WatchEvent): void;
  /** onConnection: true once a stream is open, false with the reason (and the error, when one
   * ended it) when it is lost. */
  onConnection(up: boolean, reason?: string, error?: unknown): void;
  /** since returns the version in force, sent so the coordinator can skip an unchanged map. */
  since(): number;
}

/** WatchTarget says which coordinator to dial and hears how dials went (failover.ts). */
export interface WatchTarget {
  url(): string;
  /** failed returns true when the next dial goes to another coordinator. */
  failed(how: Refusal): boolean;
  connected(): void;
}

/** Watch runs until stop(). */
export class Watch {
  private stopped = false;
  private abort: (() => void) | null = null;
  private timer: NodeJS.Timeout | null = null;
  private attempt = 0;

  constructor(
    private readonly target: string | WatchTarget,
    private readonly auth: AgentAuth,
    private readonly h: WatchHandlers,
  ) {}

  start(): void {
    void this.loop();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.abort?.();
  }

  /** reconnectNow cuts the current stream and dials again at once (e.g. after a wake-up). */
  reconnectNow(): void {
    this.attempt = 0;
    this.abort?.();
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      let reason = 'the stream ended';
      let how: Refusal = 'unreachable';
      let error: unknown = undefined;
      try {
        await this.once();
      } catch (e) {
        reason = (e as Error).message;
        how = refusalOf(e);
        error = e;
      }
      if (this.stopped) return;
      this.h.onConnection(false, reason, error);
      if (typeof this.target !== 'string' && this.target.failed(how)) this.attempt = 0;
      const wait = retryDelayMs(this.attempt++, how);
      await new Promise<void>((r) => {
        this.timer = setTimeout(r, wait);
      });
    }
  }

  private async once(): Promise<void> {
    const { res, abort } = await openRequest(
      {
        base: typeof this.target === 'string' ? this.target : this.target.url(),
        method: 'GET',
        path: `${CONTROL_PATHS.watch}?since=${this.h.since()}&${WATCH_DELTA_PARAM}=1&${WATCH_BATCH_PARAM}=1`,
        auth: this.auth,
        timeoutMs: WATCH_SILENCE_MS,
      },
      'text/event-stream',
    );
    this.abort = abort;
    if (res.statusCode !== 200) {
      const raw = await readBody(res, 64 * 1024).catch(() => Buffer.alloc(0));
      let code = 'http-error';
      let message = `HTTP ${res.statusCode}`;
      try {
        const j = JSON.parse(raw.toString('utf8')) as { error?: { code?: unknown; message?: unknown } };
        if (typeof j.error?.code === 'string') code = j.error.code.slice(0, 32);
        if (typeof j.error?.message === 'string') message = j.error.message.slice(0, 500);
      } catch {
        // not JSON: keep the status line
      }
      if (code === 'revoked') this.h.onEvent({ type: 'revoked', reason: message });
      if (code === 'pending-approval') this.h.onEvent({ type: 'pending' });
      throw new ControlHttpError(res.statusCode ?? 0, code, message);
    }
    this.attempt = 0;
    if (typeof this.target !== 'string') this.target.connected();
    this.h.onConnection(true);
    await readEvents(res, (e) => this.h.onEvent(e));
  }
}

/** readEvents reads a text/event-stream body until it ends; each event's data is JSON. */
export function readEvents(res: IncomingMessage, onEvent: (e: WatchEvent) => void): Promise<void> {
  const parser = new SseParser(CONTROL_LIMITS.mapBytes * 2);
  return new Promise((resolve, reject) => {
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      let events;
      try {
        events = parser.feed(chunk);
      } catch {
        res.destroy();
        reject(new Error('an event from the coordinator is too large'));
        return;
      }
      for (const ev of events) {
        let e: unknown;
        try {
          e = JSON.parse(ev.data);
        } catch {
          continue; // a garbled event is skipped, not fatal
        }
        if (isWatchEvent(e)) onEvent(e);
      }
    });
    res.on('end', () => resolve());
    res.on('close', () => resolve());
    res.on('error', (e) => reject(e));
  });
}

function isWatchEvent(e: unknown): e is WatchEvent {
  if (typeof e !== 'object' || e === null) return false;
  const t = (e as { type?: unknown }).type;
  if (t === 'punch') {
    // A punch names a peer and where to probe it; bounded and checked again by the path layer.
    const p = e as { from?: unknown; endpoints?: unknown };
    return (
      typeof p.from === 'string' &&
      /^[0-9A-Z]{5}$/.test(p.from) &&
      Array.isArray(p.endpoints) &&
      p.endpoints.length <= CONTROL_LIMITS.endpointsPerSystem &&
      // "a.b.c.d:port" (21 characters) or "[ipv6]:port" (at most 45 + 8)
      p.endpoints.every((x) => typeof x === 'string' && x.length <= IPV6_MAX_TEXT + 8)
    );
  }
  return t === 'map' || t === 'delta' || t === 'pending' || t === 'revoked' || t === 'ping';
}
