// Watch streams (GET /v1/agent/watch): server-sent events, one open stream per system (a new
// one replaces the old, so a reconnecting agent never counts twice), a global cap, a ping
// every 15 s, and back-pressure that keeps only the newest map for a slow reader instead of
// queueing every version in memory: once a full map is due for a backed-up stream, nothing is
// held for it but that fact, and the map current when the socket drains is rendered then (a
// shared service's full map is megabytes, and a reader that fell behind needs only the newest).
import type { ServerResponse } from 'node:http';
import type { WatchEvent } from '../../../src-shared/wire/control.js';
import { ControlError } from './errors.js';

/** WATCH_PING_MS is how often idle streams get a ping (keeps NATs and proxies from closing them). */
export const WATCH_PING_MS = 15_000;

/** sseFrame renders one event. The data is JSON on one line, so no escaping is needed. */
export function sseFrame(event: WatchEvent): string {
  return `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

/** Watcher is one open stream. */
export interface Watcher {
  readonly systemId: string;
  readonly openedAt: number;
  /** mapVersion is the version of the last map written (or queued) to this stream. */
  mapVersion: number;
  /** deltas: the agent asked for map deltas (map-delta.ts WATCH_DELTA_PARAM); batch: it also
   * takes deltas signed as a batch (WATCH_BATCH_PARAM). */
  readonly deltas: boolean;
  readonly batch: boolean;
}

/** MapFrames are a new map's two renderings (publisher.ts Outgoing): delta() against version
 * base, or null when a full map is due; fullBytes is about the full frame's size. */
export interface MapFrames {
  base: number | null;
  fullBytes: number;
  full(): Buffer;
  delta(): Buffer | null;
  /** batched queues the delta for its pass's batch signature; done gets the frame when the pass
   * ends (publisher.ts). False when a full map is due. */
  batched?(done: (frame: Buffer) => void): boolean;
}

interface Stream extends Watcher {
  res: ServerResponse;
  /** pending is what is held back while the socket drains: the newest frame, or a chain of
   * map deltas that apply one after another (sendMap). */
  pending: string | Buffer | null;
  /** pendingMap: pending is a map or delta frame (counted in pushFigures when written). */
  pendingMap: boolean;
  /** stale: a full map is due when the socket drains (renderFull renders the current one). */
  stale: boolean;
  closed: boolean;
  onClose: () => void;
}

/** PushFigures: how long the last change that alters maps took to reach the streams, as the
 * coordinator saw it: from noteChange (the change recorded) to the last map or delta frame
 * written to a stream since (null before one), and how many such frames were written; backlog
 * is what is not yet taken by the readers now: the streams holding a frame back, due a full map
 * or with bytes still in their socket's buffer, and those bytes (the socket's plus held back). */
export interface PushFigures {
  lastWriteMs: number | null;
  frames: number;
  backlog: { streams: number; bytes: number };
}

/** WatchHub holds the open streams. */
export class WatchHub {
  private readonly streams = new Map<string, Stream>();
  private timer: NodeJS.Timeout | null = null;
  private changeAt = performance.now();
  private lastWriteAt: number | null = null;
  private mapFrames = 0;
  /** renderFull renders a system's current signed full map (server.ts: the publisher's). Unset,
   * a backed-up stream holds the full map it was due instead (tests of the hub alone). */
  renderFull: ((systemId: string) => { frame: Buffer; version: number } | null) | null = null;

  constructor(
    private readonly maxStreams: number,
    private readonly now: () => number = Date.now,
    pingMs = WATCH_PING_MS,
  ) {
    this.timer = setInterval(() => this.pingAll(), pingMs);
    this.timer.unref();
  }

  get size(): number {
    return this.streams.size;
  }

  has(systemId: string): boolean {
    return this.streams.has(systemId);
  }

  /** noteChange starts the clock of pushFigures: a change that alters maps was recorded. */
  noteChange(): void {
    this.changeAt = performance.now();
    this.lastWriteAt = null;
    this.mapFrames = 0;
  }

  /** pushFigures: the last change's push as written to the streams (PushFigures). */
  pushFigures(): PushFigures {
    return {
      lastWriteMs: this.lastWriteAt === null ? null : this.lastWriteAt - this.changeAt,
      frames: this.mapFrames,
      backlog: this.backlog(),
    };
  }

  /** backlog counts the streams whose readers have not yet taken everything (PushFigures). */
  private backlog(): { streams: number; bytes: number } {
    let streams = 0;
    let bytes = 0;
    for (const s of this.streams.values()) {
      const held = s.pending === null ? 0 : s.pending.length;
      const queued = s.res.writableLength;
      if (held === 0 && queued === 0 && !s.stale) continue;
      streams++;
      bytes += held + queued;
    }
    return { streams, bytes };
  }

  /** writeMap writes a map or delta frame to the stream's socket and notes when. */
  private writeMap(s: Stream, frame: string | Buffer): void {
    s.res.write(frame);
    this.lastWriteAt = performance.now();
    this.mapFrames++;
  }

  /** open starts a stream on res; onClose runs once when this stream (not a replacement) ends. */
  open(systemId: string, res: ServerResponse, onClose: () => void, deltas = false, batch = false): Watcher {
    const old = this.streams.get(systemId);
    if (!old && this.streams.size >= this.maxStreams) {
      throw new ControlError(
        'rate-limited',
        `the coordinator has ${this.maxStreams} watch streams open, its limit; retry later`,
      );
    }
    if (old) this.end(old, null, false);
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
      connection: 'keep-alive',
    });
    res.socket?.setNoDelay(true);
    res.socket?.setKeepAlive(true, 30_000);
    const s: Stream = {
      systemId,
      openedAt: this.now(),
      mapVersion: 0,
      deltas,
      batch: deltas && batch,
      res,
      pending: null,
      pendingMap: false,
      stale: false,
      closed: false,
      onClose,
    };
    this.streams.set(systemId, s);
    res.on('close', () => this.end(s, null, true));
    res.on('drain', () => this.drained(s));
    return s;
  }

  /** drained writes what a stream held back: the current full map if one is due, else the
   * pending frame. The stream stays stale while the map renders: rendering may publish a newer
   * map (publisher.ts refresh), whose sendMap must not write ahead of it. */
  private drained(s: Stream): void {
    if (s.closed) return;
    if (s.stale) {
      const f = this.renderFull?.(s.systemId) ?? null;
      s.stale = false;
      if (f === null || s.closed) return;
      s.mapVersion = f.version;
      this.writeMap(s, f.frame);
      return;
    }
    if (s.pending !== null) {
      const f = s.pending;
      s.pending = null;
      if (s.pendingMap) this.writeMap(s, f);
      else s.res.write(f);
    }
  }

  /** fullDue notes that s needs a full map of version: written now if its socket takes it,
   * else, with renderFull, the one current when the socket drains (nothing is held). */
  private fullDue(s: Stream, version: number, frames: MapFrames): void {
    s.mapVersion = version;
    if (this.renderFull !== null && (s.stale || s.res.writableNeedDrain)) {
      s.stale = true;
      s.pending = null;
      return;
    }
    this.send(s.systemId, frames.full(), version);
  }

  /** send writes a frame to the system's stream, if it has one; a map frame replaces an older
   * one still waiting for the socket to drain. */
  send(systemId: string, frame: string | Buffer, mapVersion?: number): boolean {
    const s = this.streams.get(systemId);
    if (!s || s.closed) return false;
    if (mapVersion !== undefined) s.mapVersion = mapVersion;
    if (s.stale) return true; // the map written on drain supersedes it
    if (s.res.writableNeedDrain) {
      s.pending = frame;
      s.pendingMap = mapVersion !== undefined;
    } else if (mapVersion !== undefined) this.writeMap(s, frame);
    else s.res.write(frame);
    return true;
  }

  /** sendMap writes a new map of `version`: a delta when the stream asked for them and holds
   * (or has queued) the delta's base, else the full map. It says which it sent, or null for no
   * open stream. */
  sendMap(systemId: string, version: number, frames: MapFrames): 'delta' | 'full' | null {
    const s = this.streams.get(systemId);
    if (!s || s.closed) return null;
    const fits = !s.stale && s.deltas && frames.base !== null && s.mapVersion === frames.base;
    const batched = fits && s.batch && frames.batched !== undefined;
    if (batched) {
      // The frame comes when the pass is signed; the stream counts as holding this version now,
      // so the next pass's delta is made against it.
      if (frames.batched!((d) => this.writeDelta(s, d, frames))) {
        s.mapVersion = version;
        return 'delta';
      }
    }
    const d = fits && !batched ? frames.delta() : null;
    if (d === null) {
      this.fullDue(s, version, frames);
      return 'full';
    }
    s.mapVersion = version;
    return this.writeDelta(s, d, frames);
  }

  /** writeDelta writes a delta frame, or holds it back for a slow reader; it says which frame
   * the stream will get: the delta, or the full map that replaced a chain grown too long. */
  private writeDelta(s: Stream, d: Buffer, frames: MapFrames): 'delta' | 'full' {
    if (s.closed) return 'delta';
    if (s.stale) return 'full'; // the map written on drain supersedes it
    if (!s.res.writableNeedDrain) this.writeMap(s, d);
    else if (s.pending === null) [s.pending, s.pendingMap] = [d, true];
    else if (s.pending.length + d.length < frames.fullBytes) {
      // A slow reader's held-back frames chain: each delta applies to the one before it, so
      // they queue together until they would outweigh the full map, which then replaces them.
      s.pending = Buffer.concat([Buffer.from(s.pending), d]);
      s.pendingMap = true;
    } else {
      this.fullDue(s, s.mapVersion, frames);
      return 'full';
    }
    return 'delta';
  }

  /** close ends the system's stream after writing finalFrame (e.g. `revoked`). */
  close(systemId: string, finalFrame: string | null): void {
    const s = this.streams.get(systemId);
    if (s) this.end(s, finalFrame, true);
  }

  /** closeAll ends every stream (shutdown). */
  closeAll(): void {
    for (const s of [...this.streams.values()]) this.end(s, null, true);
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** pingAll writes a ping to every stream that is not backed up. */
  pingAll(): void {
    const frame = sseFrame({ type: 'ping', ts: this.now() });
    for (const s of this.streams.values()) if (!s.res.writableNeedDrain) s.res.write(frame);
  }

  private end(s: Stream, finalFrame: string | null, notify: boolean): void {
    if (s.closed) return;
    s.closed = true;
    if (this.streams.get(s.systemId) === s) this.streams.delete(s.systemId);
    if (!s.res.writableEnded) s.res.end(finalFrame ?? undefined);
    if (notify && !this.streams.has(s.systemId)) s.onClose();
  }
}
