// ConnectionGate admits each new connection to the local API against its caller's share
// (quota.ts), read from SO_PEERCRED before the connection is served. Node's own
// `server.maxConnections` is not used: it closes a connection beyond the limit without a word,
// whoever it comes from, which is how a stranger's flood made root's `warren status` fail with
// EPIPE. A refused connection instead gets one JSON 503 that says why (server.ts answers its
// first request) and is closed; a bounded number wait for that request, briefly, and beyond that
// bound a refused connection is closed at once. Refusals never take a place from the admitted.
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { LogMethods, Logger } from '../../../src-shared/lib/log.js';
import { peerCredentials } from '../../../src-shared/lib/native/index.js';
import type { PeerCaller } from './auth.js';
import { classify, UidQuota, type Holder, type QuotaLimits } from './quota.js';

/** REFUSING_MAX bounds refused connections waiting for their 503 (each holds a descriptor). */
const REFUSING_MAX = 64;
/** REFUSAL_GRACE_MS is how long a refused connection may take to send its request. */
const REFUSAL_GRACE_MS = 2000;

/** Admitted is what the gate learnt about a connection it let in. */
export interface Admitted {
  caller: PeerCaller | null;
  holder: Holder;
}

/** ConnectionGate counts connections by holder and remembers why it refused the others. */
export class ConnectionGate {
  private readonly quota: UidQuota;
  private readonly admitted = new WeakMap<Socket, Admitted>();
  private readonly refused = new WeakMap<Socket, string>();
  private refusing = 0;
  private readonly refusedLog: LogMethods;

  constructor(
    limits: QuotaLimits,
    private readonly group: string,
    log: Logger,
  ) {
    this.quota = new UidQuota('connections', limits, group);
    this.refusedLog = log.rateLimited('api:refused', 10_000);
  }

  /** attach makes the gate see every connection before the HTTP server serves it. */
  attach(server: Server): void {
    server.prependListener('connection', (socket: Socket) => this.admit(socket));
  }

  /** size is the number of admitted connections open. */
  get size(): number {
    return this.quota.size;
  }

  /** admittedAs is what the gate knows of an admitted connection (undefined if refused). */
  admittedAs(socket: Socket): Admitted | undefined {
    return this.admitted.get(socket);
  }

  /** refusal is why a connection was refused, or undefined if it was admitted. */
  refusal(socket: Socket): string | undefined {
    return this.refused.get(socket);
  }

  private admit(socket: Socket): void {
    const caller = credentialsOf(socket);
    const holder = classify(caller, this.group);
    const why = this.quota.take(holder);
    if (why === null) {
      this.admitted.set(socket, { caller, holder });
      socket.once('close', () => this.quota.release(holder));
      return;
    }
    this.refusedLog.warn(`local API: refused a connection: ${why}`);
    if (this.refusing >= REFUSING_MAX) {
      socket.destroy();
      return;
    }
    this.refusing++;
    this.refused.set(socket, why);
    const timer = setTimeout(() => socket.destroy(), REFUSAL_GRACE_MS);
    timer.unref();
    socket.once('close', () => {
      this.refusing--;
      clearTimeout(timer);
    });
  }
}

/** credentialsOf reads the peer credentials of a Unix socket connection; null if it cannot. */
export function credentialsOf(socket: Socket): PeerCaller | null {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) return null;
  try {
    return peerCredentials(fd);
  } catch {
    return null;
  }
}
