// GET /v1/events: server-sent events (the WHATWG "text/event-stream" format). Every stream
// starts with `event: snapshot` carrying the whole Status, then gets `event: status` with the
// whole Status after changes (coalesced) and at least every eventTickMs, so byte counters move
// without the client polling. Whole snapshots rather than diffs keep clients simple and make
// a missed event harmless. One Status is built and serialised per broadcast, however many
// streams are open.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Status } from '../../../src-shared/wire/status.js';
import type { Logger } from '../../../src-shared/lib/log.js';
import { API_LIMITS, type ApiEventName } from '../../../src-shared/wire/helper-api.js';
import { DEFAULT_OPERATOR_GROUP } from './auth.js';
import { UidQuota, type Holder } from './quota.js';

/** ChangeSource is where change notifications come from (the daemon calls the listener). */
export interface ChangeSource {
  subscribe(listener: () => void): () => void;
}

/** EventLimits can be narrowed by tests; the defaults are API_LIMITS'. The stream counts are
 * quota.ts's nested pools. */
export interface EventLimits {
  maxStreams: number;
  streamsPerUser: number;
  nonRootStreams: number;
  unprivilegedStreams: number;
  coalesceMs: number;
  tickMs: number;
  heartbeatMs: number;
  backlogBytes: number;
}

const DEFAULT_LIMITS: EventLimits = {
  maxStreams: API_LIMITS.maxEventStreams,
  streamsPerUser: API_LIMITS.maxEventStreamsPerUser,
  nonRootStreams: API_LIMITS.maxNonRootEventStreams,
  unprivilegedStreams: API_LIMITS.maxUnprivilegedEventStreams,
  coalesceMs: API_LIMITS.eventCoalesceMs,
  tickMs: API_LIMITS.eventTickMs,
  heartbeatMs: API_LIMITS.eventHeartbeatMs,
  backlogBytes: API_LIMITS.eventBacklogBytes,
};

/** sseMessage renders one event; JSON.stringify never emits a raw newline, so data is one line. */
export function sseMessage(event: ApiEventName, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** EventHub owns the open event streams of one API server. */
export class EventHub {
  private readonly streams = new Set<ServerResponse>();
  private readonly limits: EventLimits;
  private readonly quota: UidQuota;
  private unsubscribe: (() => void) | null = null;
  private ticker: NodeJS.Timeout | null = null;
  private flushTimer: NodeJS.Timeout | null = null;
  private lastBroadcast = 0;
  private lastHeartbeat = 0;

  constructor(
    private readonly getStatus: () => Status,
    private readonly source: ChangeSource | undefined,
    private readonly log: Logger,
    limits: Partial<EventLimits> = {},
    group = DEFAULT_OPERATOR_GROUP,
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
    const l = this.limits;
    this.quota = new UidQuota(
      'event streams',
      {
        total: l.maxStreams,
        perUser: l.streamsPerUser,
        nonRoot: l.nonRootStreams,
        unprivileged: l.unprivilegedStreams,
      },
      group,
    );
  }

  /** size is the number of open streams. */
  get size(): number {
    return this.streams.size;
  }

  /**
   * accept turns a response into an event stream for who: headers, the snapshot, then
   * broadcasts. It returns why not when who may not open another stream (nothing is written).
   */
  accept(req: IncomingMessage, res: ServerResponse, who: Holder): string | null {
    const refused = this.quota.take(who);
    if (refused !== null) return refused;
    let snapshot: string;
    try {
      // Built before the headers, so a failing getStatus still answers with a JSON 500.
      snapshot = sseMessage('snapshot', this.getStatus());
    } catch (e) {
      this.quota.release(who);
      throw e;
    }
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      Connection: 'keep-alive',
    });
    res.write(snapshot);
    this.streams.add(res);
    // A stream is meant to stay open: no idle timeout on its socket.
    req.socket.setTimeout(0);
    const drop = (): void => {
      this.streams.delete(res);
      this.quota.release(who);
      if (this.streams.size === 0) this.stop();
    };
    // The response's 'close' fires when the client goes away (the request's own 'close' fires
    // as soon as its empty body has been read).
    res.once('close', drop);
    this.start();
    return null;
  }

  /** close ends every stream and stops listening for changes. */
  close(): void {
    for (const res of this.streams) res.destroy();
    this.streams.clear();
    this.stop();
  }

  private start(): void {
    if (this.ticker !== null) return;
    this.unsubscribe = this.source?.subscribe(() => this.changed()) ?? null;
    this.lastHeartbeat = Date.now();
    this.ticker = setInterval(() => this.tick(), this.limits.tickMs);
    this.ticker.unref();
  }

  private stop(): void {
    if (this.ticker !== null) clearInterval(this.ticker);
    if (this.flushTimer !== null) clearTimeout(this.flushTimer);
    this.ticker = null;
    this.flushTimer = null;
    const un = this.unsubscribe;
    this.unsubscribe = null;
    try {
      un?.();
    } catch (e) {
      this.log.error(`local API events: unsubscribing failed: ${(e as Error).message}`);
    }
  }

  // changed coalesces notifications: the first one after a quiet spell goes out at once, later
  // ones wait until coalesceMs has passed since the last broadcast and then go out as one.
  private changed(): void {
    if (this.streams.size === 0 || this.flushTimer !== null) return;
    const wait = Math.max(0, this.lastBroadcast + this.limits.coalesceMs - Date.now());
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      this.broadcast();
    }, wait);
    this.flushTimer.unref();
  }

  private tick(): void {
    const now = Date.now();
    if (now - this.lastHeartbeat >= this.limits.heartbeatMs) {
      this.lastHeartbeat = now;
      this.writeAll(': heartbeat\n\n');
    }
    this.broadcast();
  }

  private broadcast(): void {
    if (this.streams.size === 0) return;
    this.lastBroadcast = Date.now();
    let message: string;
    try {
      message = sseMessage('status', this.getStatus());
    } catch (e) {
      this.log.error(`local API events: building the status failed: ${(e as Error).message}`);
      return;
    }
    this.writeAll(message);
  }

  private writeAll(text: string): void {
    for (const res of this.streams) {
      if (res.writableLength > this.limits.backlogBytes) {
        this.log.info('local API events: closing a stream whose reader stopped reading');
        res.destroy();
        continue;
      }
      res.write(text);
    }
  }
}
