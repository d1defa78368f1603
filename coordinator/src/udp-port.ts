// The coordinator's one UDP socket. Helpers send it discovery requests and, when the embedded
// relay is on, relay frames, all from their WireGuard port, so both arrive here and are told
// apart by the NAT header's kind byte (src-shared/nat-wire.ts). Nothing that arrives can make
// the handler throw out of the socket; whatever is not for us is counted and dropped.
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import type { Logger } from '../../helper/src/log.js';
import { NatKind, natKind } from '../../src-shared/nat-wire.js';
import type { Discovery, ReplyFn } from './discovery.js';

/** UdpRelay is the part of the embedded relay (relay/server.ts) the socket feeds. */
export interface UdpRelay {
  handleDatagram(msg: Buffer, ip: string, port: number, reply: ReplyFn): void;
}

/** UDP_DROPS are the reasons a datagram is dropped before any handler sees it. */
export const UDP_DROPS = ['not-warren', 'relay-disabled', 'unexpected-kind', 'handler-error', 'send-error'] as const;
export type UdpDrop = (typeof UDP_DROPS)[number];

/** UdpPortStats count datagrams in and what was dropped here. */
export interface UdpPortStats {
  received: number;
  dropped: Record<UdpDrop, number>;
}

/** isRelayKind tells whether a NAT kind belongs to the relay conversation (0x20..0x24). */
export function isRelayKind(kind: number): boolean {
  return kind >= NatKind.relayRegister && kind <= NatKind.relayRecv;
}

/** UdpPort is the bound socket. */
export class UdpPort {
  private readonly counts: UdpPortStats;
  private closed: Promise<void> | null = null;

  private constructor(
    private readonly socket: Socket,
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
    const socket = createSocket({ type: isIP(host) === 6 ? 'udp6' : 'udp4' });
    const p = new UdpPort(socket, discovery, relay, log);
    return new Promise((resolve, reject) => {
      const onError = (e: Error): void => {
        socket.close();
        reject(new Error(`cannot listen on UDP ${host.includes(':') ? `[${host}]` : host}:${port}: ${e.message}`));
      };
      socket.once('error', onError);
      socket.bind({ address: host, port, exclusive: true }, () => {
        socket.off('error', onError);
        socket.on('error', (e) => log.rateLimited('udp-error', 60_000).warn(`UDP socket: ${e.message}`));
        socket.on('message', (msg, rinfo) => p.onMessage(msg, rinfo));
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
    return this.socket.address().port;
  }

  /** stats returns a copy of the counters. */
  stats(): UdpPortStats {
    return { received: this.counts.received, dropped: { ...this.counts.dropped } };
  }

  /** close stops receiving; later replies (from the relay, say) are dropped quietly. */
  close(): Promise<void> {
    this.closed ??= new Promise((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
    return this.closed;
  }

  private readonly reply: ReplyFn = (buf, ip, port) => {
    if (this.closed) return;
    try {
      this.socket.send(buf, port, ip, (e) => {
        if (e) this.counts.dropped['send-error']++;
      });
    } catch {
      this.counts.dropped['send-error']++;
    }
  };

  private onMessage(msg: Buffer, rinfo: RemoteInfo): void {
    this.counts.received++;
    try {
      const kind = natKind(msg);
      if (kind === null) this.counts.dropped['not-warren']++;
      else if (kind === NatKind.discoveryRequest) this.discovery.handle(msg, rinfo.address, rinfo.port, this.reply);
      else if (isRelayKind(kind)) {
        if (this.relay) this.relay.handleDatagram(msg, rinfo.address, rinfo.port, this.reply);
        else this.counts.dropped['relay-disabled']++;
      } else this.counts.dropped['unexpected-kind']++;
    } catch (e) {
      // A handler bug must not take the socket (or the process) down with it.
      this.counts.dropped['handler-error']++;
      this.log.rateLimited('udp-handler', 60_000).error(`UDP handler failed on a datagram from ${rinfo.address}:${rinfo.port}: ${(e as Error).stack ?? String(e)}`);
    }
  }
}
