// Handing a proxied connection pair to the native splice pump (native/src/splice.c): once the
// proxy has decided and connected, the bytes move between the two sockets in the kernel with
// splice(2), never through JS. Copying every byte through the event loop cost the helper as
// much CPU per byte as the client and the server together, so on 2 cores a proxied connection
// ran at 0.3x of a direct one (docs/architecture.md, "Proxies", has the figures).
//
// The sockets stay Node's objects: the proxies still count, track and close them. Node only
// stops touching their descriptors: reading is stopped, what Node had already read or queued is
// passed on first, and a socket is closed only after the pump has let go of it. Whoever
// destroys one socket of a pair (the proxy's close(), an error) ends the pair first, so a
// descriptor number can never be closed, reused and then spliced by mistake.
import type { Socket } from 'node:net';
import { spliceInit, spliceStart, spliceStop } from '../../../src-shared/lib/native/index.js';

/** SPLICE_ENV=off keeps the proxies on the JS relay (relay.ts): for benchmarks and diagnosis. */
export const SPLICE_ENV = 'WARREN_PROXY_SPLICE';

interface Pair {
  id: number;
  a: Socket;
  b: Socket;
}

/** running maps a pair's id to its sockets while the pump relays it. */
const running = new Map<number, Pair>();
let available: boolean | undefined;

/** nativeSpliceAvailable says whether pairs go to the pump (Linux, addon loaded, not turned off). */
export function nativeSpliceAvailable(): boolean {
  if (available === undefined) {
    available = false;
    if (process.platform === 'linux' && process.env[SPLICE_ENV] !== 'off') {
      try {
        spliceInit(onDone);
        available = true;
      } catch {
        // No addon (or no thread): the JS relay does the same job at a higher CPU cost.
      }
    }
  }
  return available;
}

/** splicedPairs is how many pairs this process has with the pump now. */
export function splicedPairs(): number {
  return running.size;
}

function onDone(id: number): void {
  const p = running.get(id);
  if (p === undefined) return;
  running.delete(id);
  // Both descriptors are out of the pump's hands. After a clean end (both FINs passed on,
  // SPLICE_END.closed) all that was received is queued for sending, and close() still sends
  // it; after an error or idleness, closing is all that is left to do.
  p.a.destroy();
  p.b.destroy();
}

interface FdHandle {
  fd?: unknown;
  readStop?: () => number;
}

function handleOf(s: Socket): FdHandle | undefined {
  return (s as unknown as { _handle?: FdHandle | null })._handle ?? undefined;
}

function fdOf(s: Socket): number {
  const fd = handleOf(s)?.fd;
  return typeof fd === 'number' && Number.isInteger(fd) && fd >= 0 ? fd : -1;
}

/** stopReading takes what Node has buffered from src and stops it reading the descriptor. */
function stopReading(src: Socket, dst: Socket): void {
  src.pause();
  // read() may restart reading to refill; nothing is read before the poll phase, and the
  // readStop below comes first.
  for (let chunk: unknown = src.read(); chunk !== null; chunk = src.read()) dst.write(chunk as Buffer);
  handleOf(src)?.readStop?.();
}

/** flushed resolves once everything s has queued is in the kernel (or s is gone). */
function flushed(s: Socket): Promise<void> {
  if (s.writableLength === 0 || s.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      s.off('close', done);
      s.off('finish', done);
      resolve();
    };
    s.once('close', done);
    // Ended (its peer's FIN passed on before the hand-over): 'finish' follows the last write.
    if (s.writableEnded) s.once('finish', done);
    else s.write(Buffer.alloc(0), done);
  });
}

/** guard makes destroying s end its pair first, and take the other socket with it. */
function guard(s: Socket, other: Socket, pair: () => Pair | undefined): void {
  const original = s._destroy.bind(s);
  s._destroy = (err: Error | null, cb: (err?: Error | null) => void): void => {
    const p = pair();
    if (p !== undefined && running.get(p.id) === p) {
      spliceStop(p.id);
      running.delete(p.id);
      process.nextTick(() => other.destroy());
    }
    original(err, cb);
  };
}

/** canSpliceNative says whether spliceNative can take a and b (Linux, addon, descriptors). */
export function canSpliceNative(a: Socket, b: Socket): boolean {
  return nativeSpliceAvailable() && fdOf(a) >= 0 && fdOf(b) >= 0;
}

/**
 * spliceNative hands a and b to the pump once what Node holds for them is flushed (check
 * canSpliceNative first; a socket gone by then ends both). No JS relay may be attached. The
 * pump ends the pair on both FINs, an error, or idleMs of silence.
 */
export function spliceNative(a: Socket, b: Socket, idleMs: number): void {
  let pair: Pair | undefined;
  const kill = (): void => {
    a.destroy();
    b.destroy();
  };
  for (const [s, other] of [
    [a, b],
    [b, a],
  ] as const) {
    // Nagle would only delay interactive protocols' small writes (and undo a client's own TCP_NODELAY).
    s.setNoDelay(true);
    s.removeAllListeners('timeout');
    s.setTimeout(0);
    s.on('error', kill);
    s.once('close', () => other.destroy());
    guard(s, other, () => pair);
  }
  stopReading(a, b);
  stopReading(b, a);
  void Promise.all([flushed(a), flushed(b)]).then(() => {
    const fa = fdOf(a);
    const fb = fdOf(b);
    if (a.destroyed || b.destroyed || fa < 0 || fb < 0) return kill();
    try {
      pair = { id: spliceStart(fa, fb, idleMs), a, b };
      running.set(pair.id, pair);
    } catch {
      kill();
    }
  });
}
