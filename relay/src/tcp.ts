// The relay's TCP side, for clients whose networks pass nothing but TCP (often to port 443).
// Each connection carries u16-length-prefixed frames (nat-tcp.ts TcpFrameReader): the first
// must be a valid relayRegister, after which it carries relaySend frames and refreshes. The
// connection count, the unregistered count, each connection's write backlog and its idle
// time are all bounded, so slow or silent clients cannot pile up memory or sockets.
import type { Socket } from 'node:net';
import { NatKind, natKind } from '../../src-shared/wire/nat-wire.js';
import { TCP_MAX_FRAME, TCP_MAX_RELAY_FRAME, TcpFrameReader } from '../../src-shared/wire/nat-tcp.js';
import type { Logger } from '../../src-shared/lib/log.js';
import type { DropReason } from './drops.js';
import type { Session, TcpLink } from './sessions.js';

/** TcpLimits bound TCP connections (RelayLimits carries them). */
export interface TcpLimits {
  maxTcpConnections: number;
  maxPendingTcp: number;
  tcpHandshakeMs: number;
  tcpIdleMs: number;
  tcpMaxBacklogBytes: number;
}

/** TcpHost is what a connection needs from the relay. */
export interface TcpHost {
  readonly log: Logger;
  now(): number;
  drop(reason: DropReason): void;
  /** register takes a relayRegister frame (answered later); false means close the connection now. */
  register(conn: TcpConn, frame: Uint8Array): boolean;
  /** send forwards a relaySend frame from conn's session. */
  send(conn: TcpConn, frame: Uint8Array): void;
  closed(conn: TcpConn): void;
}

/** TcpConn is one accepted connection. */
export class TcpConn implements TcpLink {
  session: Session | null = null;
  /** lastFrame: wall-clock ms of the last complete frame received */
  lastFrame: number;
  // Until its registration is accepted, a connection's frames are bounded by the largest
  // registration: a stranger's two-byte length prefix must not make the relay set aside 64 KiB.
  private readonly reader = new TcpFrameReader(TCP_MAX_FRAME);
  private handshake: NodeJS.Timeout | null;
  private done = false;

  constructor(
    readonly socket: Socket,
    /** ip: the peer's address, IPv4-mapped IPv6 shortened to IPv4 (the rate limiter's key) */
    readonly ip: string,
    private readonly host: TcpHost,
    private readonly limits: TcpLimits,
  ) {
    this.lastFrame = host.now();
    socket.setNoDelay(true);
    this.handshake = setTimeout(() => {
      this.host.drop('tcp-handshake-timeout');
      this.close();
    }, limits.tcpHandshakeMs);
    this.handshake.unref();
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    // A reset or a write to a closed peer is routine here; 'close' follows and cleans up.
    socket.on('error', (e) => host.log.rateLimited('relay-tcp-error', 10_000).debug(`relay: tcp ${ip}: ${e.message}`));
    socket.once('close', () => this.onClose());
  }

  /** open: not closed yet (a registration waiting for its checks is dropped once it is). */
  get open(): boolean {
    return !this.done;
  }

  /** registered: the connection has completed its first registration. */
  get registered(): boolean {
    return this.handshake === null;
  }

  /** markRegistered ends the handshake phase. */
  markRegistered(): void {
    this.reader.maxFrame = TCP_MAX_RELAY_FRAME;
    if (this.handshake !== null) {
      clearTimeout(this.handshake);
      this.handshake = null;
    }
  }

  send(bytes: Uint8Array): boolean {
    const s = this.socket;
    if (this.done || !s.writable) return false;
    // The peer reads slower than its senders write: drop rather than buffer without bound.
    if (s.writableLength > this.limits.tcpMaxBacklogBytes) return false;
    s.write(bytes);
    return true;
  }

  /** refuse writes a last frame and half-closes; the handshake timer or the peer ends it. */
  refuse(bytes: Uint8Array): void {
    if (this.done || !this.socket.writable) return;
    this.socket.end(bytes);
  }

  close(): void {
    if (this.done) return;
    this.done = true;
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    if (this.done) return;
    try {
      const frames = this.reader.push(chunk);
      if (frames === null) {
        this.host.drop('tcp-bad-length');
        this.close();
        return;
      }
      for (const frame of frames) {
        if (this.done) return;
        this.lastFrame = this.host.now();
        this.onFrame(frame);
      }
    } catch (e) {
      // Parsers return null rather than throw; this is the last line against a bug.
      this.host.drop('internal-error');
      this.host.log
        .rateLimited('relay-tcp-bug', 10_000)
        .error(`relay: tcp frame from ${this.ip}: ${(e as Error).message}`);
      this.close();
    }
  }

  private onFrame(frame: Uint8Array): void {
    const kind = natKind(frame);
    if (!this.registered) {
      if (kind !== NatKind.relayRegister) {
        this.host.drop('tcp-not-registered');
        this.close();
        return;
      }
      if (!this.host.register(this, frame)) this.close();
      return;
    }
    if (kind === NatKind.relaySend) this.host.send(this, frame);
    else if (kind === NatKind.relayRegister) this.host.register(this, frame);
    else this.host.drop(kind === null ? 'not-relay' : 'unexpected-kind');
  }

  private onClose(): void {
    this.done = true;
    if (this.handshake !== null) clearTimeout(this.handshake);
    this.host.closed(this);
  }
}

/** remoteIp returns a socket's peer address with IPv4-mapped IPv6 shortened, or null. */
export function remoteIp(socket: Socket): string | null {
  const a = socket.remoteAddress;
  if (a === undefined) return null;
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}
