// The coordinator's one UDP socket. Helpers send it discovery requests and, when the embedded
// relay is on, relay frames, all from their WireGuard port, so both arrive here and are told
// apart by the NAT header's kind byte (src-shared/wire/nat-wire.ts). Nothing that arrives can
// make the handler throw out of the socket; whatever is not for us is counted and dropped.
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import type { Logger } from '../../../src-shared/lib/log.js';
import { NatKind, natKind } from '../../../src-shared/wire/nat-wire.js';
import type { Discovery, ReplyFn } from './discovery.js';
import { NativeUdp, canUseNative, ipOf, ipv4Of, type OutBatch } from '../../../src-shared/lib/native/udp-socket.js';
import type { Batch } from '../../../src-shared/lib/native/batch.js';

/** UdpRelay is the part of the embedded relay (relay/src/index.ts) the socket feeds. */
export interface UdpRelay {
  handleDatagram(msg: Buffer, ip: string, port: number, reply: ReplyFn): void;
  /** forwardInPlace, when present, forwards a relaySend of a native batch without copying it. */
  forwardInPlace?(buf: Buffer, off: number, len: number, addr: number, port: number, out: OutBatch): void;
  /** forwardDone follows every batch that forwardInPlace saw (what it remembers ends there). */
  forwardDone?(): void;
}

/** UDP_DROPS are the reasons a datagram is dropped before any handler sees it. */
export const UDP_DROPS = ['not-warren', 'relay-disabled', 'unexpected-kind', 'handler-error', 'send-error'] as const;
export type UdpDrop = (typeof UDP_DROPS)[number];

/** UdpPortStats count datagrams in and what was dropped here. */
export interface UdpPortStats {
  received: number;
  dropped: Record<UdpDrop, number>;
}

/** isRelayKind tells whether a NAT kind belongs to the relay conversation (0x20..0x26, the
 * round-trip probes included). */
export function isRelayKind(kind: number): boolean {
  return kind >= NatKind.relayRegister && kind <= NatKind.relayProbeReply;
}

/** UdpPort is the bound socket. */
export class UdpPort {
  private readonly counts: UdpPortStats;
  private closed: Promise<void> | null = null;

  private constructor(
    /** socket is the dgram socket (IPv6 hosts), or null when the native batched one serves. */
    private readonly socket: Socket | null,
    private readonly nativeUdp: NativeUdp | null,
    private readonly discovery: Discovery,
    private readonly relay: UdpRelay | null,
    private readonly log: Logger,
  ) {
    const dropped = {} as Record<UdpDrop, number>;
    for (const d of UDP_DROPS) dropped[d] = 0;
    this.counts = { received: 0, dropped };
  }

  /** open binds host:port (port 0 picks one; see .port). */
  static open(host: string, port: number, discovery: Discovery, relay: UdpRelay | null, log: Logger): Promise<UdpPort> {
    // An address literal of either family goes through the native batched socket (IPv4
    // datagrams on the in-place relay path); a host name keeps Node's dgram.
    if (canUseNative(host)) {
      try {
        const n = NativeUdp.open(host, port, log);
        const p = new UdpPort(null, n, discovery, relay, log);
        n.start((b, out) => p.onBatch(b, out));
        return Promise.resolve(p);
      } catch (e) {
        return Promise.reject(e instanceof Error ? e : new Error(String(e)));
      }
    }
    const socket = createSocket({ type: isIP(host) === 6 ? 'udp6' : 'udp4' });
    const p = new UdpPort(socket, null, discovery, relay, log);
    return new Promise((resolve, reject) => {
      const onError = (e: Error): void => {
        socket.close();
        reject(new Error(`cannot listen on UDP ${host.includes(':') ? `[${host}]` : host}:${port}: ${e.message}`));
      };
      socket.once('error', onError);
      socket.bind({ address: host, port, exclusive: true }, () => {
        socket.off('error', onError);
        socket.on('error', (e) => log.rateLimited('udp-error', 60_000).warn(`UDP socket: ${e.message}`));
        socket.on('message', (msg, rinfo: RemoteInfo) => p.onMessage(msg, rinfo.address, rinfo.port));
        if (relay) {
          // Relayed traffic comes in bursts from many systems: a bigger receive queue loses
          // fewer datagrams (the kernel caps it; the default works, only with more loss).
          try {
            socket.setRecvBufferSize(4 << 20);
            socket.setSendBufferSize(4 << 20);
          } catch {
            // not fatal
          }
        }
        resolve(p);
      });
    });
  }

  get port(): number {
    return this.nativeUdp?.port ?? this.socket!.address().port;
  }

  /** stats returns a copy of the counters. */
  stats(): UdpPortStats {
    const dropped = { ...this.counts.dropped };
    if (this.nativeUdp) dropped['send-error'] += this.nativeUdp.sendErrors;
    return { received: this.counts.received, dropped };
  }

  /** close stops receiving; later replies (from the relay, say) are dropped quietly. */
  close(): Promise<void> {
    this.closed ??= new Promise((resolve) => {
      if (this.nativeUdp) {
        this.nativeUdp.close();
        resolve();
        return;
      }
      try {
        this.socket!.close(() => resolve());
      } catch {
        resolve();
      }
    });
    return this.closed;
  }

  private readonly reply: ReplyFn = (buf, ip, port) => {
    if (this.closed) return;
    if (this.nativeUdp) {
      this.nativeUdp.send(buf, ip, port);
      return;
    }
    try {
      this.socket!.send(buf, port, ip, (e) => {
        if (e) this.counts.dropped['send-error']++;
      });
    } catch {
      this.counts.dropped['send-error']++;
    }
  };

  // onBatch handles a native batch: relayed packets are forwarded in place (the hot path), the
  // rest is copied out and handled one by one like a dgram message.
  private onBatch(b: Batch, out: OutBatch): void {
    try {
      this.eachDatagram(b, out);
    } finally {
      this.relay?.forwardDone?.();
    }
  }

  private eachDatagram(b: Batch, out: OutBatch): void {
    const buf = b.buf;
    for (let i = 0; i < b.count; i++) {
      const off = b.offsets[i]!;
      const len = b.lengths[i]!;
      const port = b.ports[i]!;
      const v4 = ipv4Of(b, i);
      if (v4 >= 0 && this.relay?.forwardInPlace && natKind(buf, off, len) === NatKind.relaySend) {
        this.counts.received++;
        try {
          this.relay.forwardInPlace(buf, off, len, v4, port, out);
        } catch (e) {
          this.handlerFailed(e, ipOf(b, i), port);
        }
        continue;
      }
      this.onMessage(Buffer.from(buf.subarray(off, off + len)), ipOf(b, i), port);
    }
  }

  private onMessage(msg: Buffer, ip: string, port: number): void {
    this.counts.received++;
    try {
      const kind = natKind(msg);
      if (kind === null) this.counts.dropped['not-warren']++;
      else if (kind === NatKind.discoveryRequest) this.discovery.handle(msg, ip, port, this.reply);
      else if (isRelayKind(kind)) {
        if (this.relay) this.relay.handleDatagram(msg, ip, port, this.reply);
        else this.counts.dropped['relay-disabled']++;
      } else this.counts.dropped['unexpected-kind']++;
    } catch (e) {
      this.handlerFailed(e, ip, port);
    }
  }

  // A handler bug must not take the socket (or the process) down with it.
  private handlerFailed(e: unknown, ip: string, port: number): void {
    this.counts.dropped['handler-error']++;
    this.log
      .rateLimited('udp-handler', 60_000)
      .error(`UDP handler failed on a datagram from ${ip}:${port}: ${(e as Error).stack ?? String(e)}`);
  }
}
