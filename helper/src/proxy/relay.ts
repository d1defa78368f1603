// Moving bytes between two sockets for the proxies. The cost of a proxied byte is
// mostly the kernel's: one more receive and one more send through the TCP stack. What the
// proxy controls is how many sends it makes: writes are corked for the rest of the event-loop
// turn, so the several 64 KiB reads libuv does on one readable event leave in one writev.
// Measured on 2 cores, that cuts the helper's CPU per GiB by 40-70% against Readable.pipe
// (one send per read); scripts/bench/proxy.ts reports the figure.

import type { Socket } from 'node:net';
import { canSpliceNative, spliceNative } from './splice-native.js';

/**
 * RELAY_MAX_PENDING bounds what one direction holds in user space: past it the source is
 * paused until the destination drains. With the 64 KiB read that crosses it and one more
 * left in the paused socket, a direction holds at most about 256 KiB (pipe()'s 16 KiB mark:
 * about 144 KiB), so 1,024 connections whose readers all stall cost at most about 512 MiB.
 * 256 KiB measured a little cheaper per byte; pipe() costs about twice the CPU per byte.
 */
export const RELAY_MAX_PENDING = 128 * 1024;

/**
 * relay copies src to dst with batched writes and backpressure, and passes src's end on as
 * dst's end (half-close). It does not resume src: the caller does once both ways are set up.
 * onBytes hears of every chunk; the function returned removes what relay attached.
 */
export function relay(src: Socket, dst: Socket, onBytes?: (n: number) => void): () => void {
  let corked = false;
  const flush = (): void => {
    if (!corked) return;
    corked = false;
    dst.uncork();
  };
  const onData = (chunk: Buffer): void => {
    if (!corked) {
      corked = true;
      dst.cork();
      // setImmediate, not nextTick: ticks run after every read callback, immediates only once
      // the poll phase has delivered all of this turn's reads.
      setImmediate(flush);
    }
    dst.write(chunk);
    if (dst.writableLength >= RELAY_MAX_PENDING) src.pause();
    onBytes?.(chunk.length);
  };
  // A write past the high-water mark always precedes a pause, so a 'drain' always follows one.
  const onDrain = (): void => {
    if (!src.destroyed) src.resume();
  };
  const onEnd = (): void => {
    dst.end();
  };
  src.on('data', onData);
  dst.on('drain', onDrain);
  src.once('end', onEnd);
  return () => {
    src.off('data', onData);
    dst.off('drain', onDrain);
    src.off('end', onEnd);
    flush();
  };
}

/**
 * closeAfterFlush ends s and destroys it once what is already queued has been sent: when its
 * counterpart is gone there is nowhere left to forward s's input, but s's output (say, the
 * tail of a response to a client that half-closed first) must still arrive whole.
 */
export function closeAfterFlush(s: Socket): void {
  if (s.destroyed) return;
  if (s.writableFinished) {
    s.destroy();
    return;
  }
  s.once('finish', () => s.destroy());
  s.end();
}

/**
 * SPLICE_AFTER_BYTES is how much a pair moves through JS before the native pump takes it over.
 * Handing over costs two pipes, epoll registrations and a thread wake-up per read, which a
 * short exchange never earns back: measured on 2 cores, splicing from the first byte cost
 * 20-25% more helper CPU per connection in the connection-rate test, while a bulk transfer
 * pays the JS copy for only its first 256 KiB.
 */
export const SPLICE_AFTER_BYTES = 256 * 1024;

/**
 * splice relays both ways. Half-close passes through (a FIN from one side ends the other's
 * write side); when one socket closes, the other is closed once its queued output is sent.
 * Silence longer than idleMs on either side, or any error, tears down both. The first
 * SPLICE_AFTER_BYTES go through JS (relay above); after that, on Linux with the addon, the
 * native splice pump carries the bytes in the kernel (splice-native.ts).
 */
export function splice(a: Socket, b: Socket, idleMs: number, spliceAfter = SPLICE_AFTER_BYTES): void {
  if (!canSpliceNative(a, b)) {
    spliceJs(a, b, idleMs);
    return;
  }
  let moved = 0;
  let detach: (() => void) | null = null;
  const onBytes = (n: number): void => {
    moved += n;
    if (moved < spliceAfter || detach === null) return;
    detach();
    detach = null;
    spliceNative(a, b, idleMs);
  };
  detach = spliceJs(a, b, idleMs, onBytes);
  if (spliceAfter <= 0) onBytes(0);
}

/**
 * spliceJs is splice through JS: relay() both ways with batched writes and backpressure. The
 * function returned detaches it (timers, listeners) and leaves both sockets paused.
 */
export function spliceJs(a: Socket, b: Socket, idleMs: number, onBytes?: (n: number) => void): () => void {
  const kill = (): void => {
    a.destroy();
    b.destroy();
  };
  const undo: (() => void)[] = [];
  for (const [s, other] of [
    [a, b],
    [b, a],
  ] as const) {
    // Writes are already batched per event-loop turn; Nagle's algorithm on top would only delay
    // the small messages of interactive protocols (and undo a client's own TCP_NODELAY).
    s.setNoDelay(true);
    s.removeAllListeners('timeout');
    // A socket's idle timer also counts writes, so one-way bulk transfers keep both alive.
    s.setTimeout(idleMs, kill);
    const onClose = (): void => closeAfterFlush(other);
    s.on('error', kill);
    s.once('close', onClose);
    undo.push(() => {
      s.setTimeout(0);
      s.off('timeout', kill);
      s.off('error', kill);
      s.off('close', onClose);
      s.pause();
    });
  }
  undo.push(relay(a, b, onBytes), relay(b, a, onBytes));
  a.resume();
  b.resume();
  return () => {
    for (const u of undo) u();
  };
}
