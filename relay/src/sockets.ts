// The standalone relay (startRelay) and its own sockets: one UDP socket, one TCP server. The
// coordinator's embedded relay uses its own UDP port instead (udp-port.ts). UDP on an IPv4 or
// IPv6 literal ("::" serves both) is the native batched socket (src-shared/lib/native/udp-socket.ts), where relayed packets are forwarded in
// place, a batch at a time; a host name falls back to Node's dgram.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Logger } from '../../src-shared/lib/log.js';
import { parseHostPort } from '../../src-shared/lib/cli-args.js';
import { Relay, type RelayOptions } from './server.js';
import type { ReplyFn } from './sessions.js';
import {
  NativeUdp,
  canUseNative,
  ipOf,
  ipv4Of,
  type OutBatch,
  type UdpSocketOffloads,
} from '../../src-shared/lib/native/udp-socket.js';
import { NatKind, natKind } from '../../src-shared/wire/nat-wire.js';

/** BatchedRelay is what the native socket needs of the relay. */
export interface BatchedRelay {
  handleDatagram(msg: Buffer, ip: string, port: number, reply: ReplyFn): void;
  forwardInPlace(buf: Buffer, off: number, len: number, addr: number, port: number, out: OutBatch): void;
  /** forwardDone follows every batch of forwardInPlace calls. */
  forwardDone(): void;
}

/** RelayUdp is a bound relay UDP socket of either kind. */
export interface RelayUdp {
  port: number;
  /** offloads: the native socket's UDP offloads, null on Node's dgram (which has none). */
  offloads(): UdpSocketOffloads | null;
  close(): Promise<void>;
}

/** openRelayUdp binds the relay's UDP socket: native and batched where it can be. */
export async function openRelayUdp(
  at: { host: string; port: number },
  relay: BatchedRelay,
  log: Logger,
): Promise<RelayUdp> {
  if (!canUseNative(at.host)) {
    const sock = await bindUdp(at, (msg, ip, port, reply) => relay.handleDatagram(msg, ip, port, reply), log);
    return {
      port: sock.address().port,
      offloads: () => null,
      close: () => new Promise<void>((resolve) => sock.close(() => resolve())),
    };
  }
  const n = NativeUdp.open(at.host, at.port, log);
  const reply: ReplyFn = (buf, ip, port) => {
    n.send(buf, ip, port);
  };
  n.start((b, out) => {
    try {
      for (let i = 0; i < b.count; i++) {
        const off = b.offsets[i]!;
        const len = b.lengths[i]!;
        // In-place forwarding is for IPv4 sources; an IPv6 one takes the ordinary path.
        const v4 = ipv4Of(b, i);
        if (v4 >= 0 && natKind(b.buf, off, len) === NatKind.relaySend)
          relay.forwardInPlace(b.buf, off, len, v4, b.ports[i]!, out);
        else relay.handleDatagram(Buffer.from(b.buf.subarray(off, off + len)), ipOf(b, i), b.ports[i]!, reply);
      }
    } finally {
      relay.forwardDone();
    }
  });
  return {
    port: n.port,
    offloads: () => n.offloads(),
    close: () => {
      n.close();
      return Promise.resolve();
    },
  };
}

/** bindUdp binds a udp4 socket and hands each datagram, with a reply function, to onMessage. */
export async function bindUdp(
  at: { host: string; port: number },
  onMessage: (msg: Buffer, ip: string, port: number, reply: ReplyFn) => void,
  log: Logger,
): Promise<UdpSocket> {
  const sock = createSocket('udp4');
  // A send error (no route, buffer full) is a lost datagram, which UDP allows; no crash.
  const sent = (e: Error | null): void => {
    if (e) log.rateLimited('relay-udp-send', 10_000).debug(`relay: udp send: ${e.message}`);
  };
  const reply: ReplyFn = (buf, ip, port) => sock.send(buf, port, ip, sent);
  sock.on('message', (msg, rinfo) => onMessage(msg, rinfo.address, rinfo.port, reply));
  try {
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(at.port, at.host, () => {
        sock.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    sock.close();
    throw e;
  }
  sock.on('error', (e) => log.warn(`relay: udp socket: ${e.message}`));
  // Bursts from many clients at once: a bigger receive queue loses fewer (the kernel caps it).
  try {
    sock.setRecvBufferSize(4 << 20);
    sock.setSendBufferSize(4 << 20);
  } catch {
    // Not fatal: the default buffers work, only with more loss under load.
  }
  return sock;
}

/** listenTcp starts a TCP server that hands each accepted socket to attach. */
export async function listenTcp(
  at: { host: string; port: number },
  attach: (socket: Socket) => void,
  log: Logger,
): Promise<Server> {
  const server = createServer(attach);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (e) => log.warn(`relay: tcp server: ${e.message}`));
  return server;
}

/** RunningRelay is a relay with its own sockets. */
export interface RunningRelay {
  relay: Relay;
  udpPort: number | null;
  tcpPort: number | null;
  /** udpOffloads: the UDP socket's offloads (null without UDP or on Node's dgram) */
  udpOffloads(): UdpSocketOffloads | null;
  close(): Promise<void>;
}

/** startRelay binds its own UDP socket and TCP server ("ip:port"; port 0 picks one). */
export async function startRelay(o: RelayOptions & { udp?: string; tcp?: string }): Promise<RunningRelay> {
  if (o.udp === undefined && o.tcp === undefined) throw new Error('startRelay needs a udp or tcp address');
  const udpAt = o.udp === undefined ? null : address(o.udp, 'udp');
  const tcpAt = o.tcp === undefined ? null : address(o.tcp, 'tcp');
  const relay = new Relay(o);
  let udp: RelayUdp | null = null;
  let server: Server | null = null;
  try {
    if (udpAt !== null) udp = await openRelayUdp(udpAt, relay, o.log);
    if (tcpAt !== null) server = await listenTcp(tcpAt, (socket) => relay.attachTcp(socket), o.log);
  } catch (e) {
    relay.close();
    await udp?.close();
    server?.close();
    throw e;
  }
  const u = udp;
  const t = server;
  return {
    relay,
    udpPort: u === null ? null : u.port,
    tcpPort: t === null ? null : (t.address() as AddressInfo).port,
    udpOffloads: () => u?.offloads() ?? null,
    close: async () => {
      relay.close();
      await Promise.all([
        u === null ? undefined : u.close(),
        t === null ? undefined : new Promise<void>((resolve) => t.close(() => resolve())),
      ]);
    },
  };
}

function address(text: string, what: string): { host: string; port: number } {
  const a = parseHostPort(text);
  if ('problem' in a) throw new Error(`${what}: ${a.problem}`);
  return a;
}
