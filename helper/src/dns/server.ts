// Warren's nameserver (docs/architecture.md, "Policy: firewall and DNS"): UDP and TCP (RFC 1035
// §4.2, RFC 7766) on the virtual address, and on the virtual IPv6 address when the system has
// one (same port, same answers, same counters and one TCP connection limit). Every byte comes from the network, so every path is
// bounded and nothing throws out of a handler: a message is answered, answered with
// FORMERR/NOTIMP, or dropped and counted. The zone is read at every query, so a policy reload
// changes answers at once.
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { createServer, isIPv6, type Server, type Socket } from 'node:net';
import type { LogMethods, Logger } from '../../../src-shared/lib/log.js';
import { OUTCOMES, respond, type Outcome, type Transport } from './respond.js';
import { TcpFramer } from './tcp-framer.js';
import type { Zone } from './zone.js';

/** MAX_UDP_QUERY is the largest datagram we parse; real queries are far smaller. */
export const MAX_UDP_QUERY = 512;
/** TCP limits (RFC 7766 §6.2.3 leaves them to the server). */
export const TCP_MAX_CONNECTIONS = 64;
export const TCP_IDLE_MS = 5_000;
/** TCP_MAX_UNSENT closes a connection whose client does not read its answers. */
export const TCP_MAX_UNSENT = 256 * 1024;

/** DnsServerOptions configures startDnsServer; port 0 picks a free port (tests). */
export interface DnsServerOptions {
  address: string;
  /** address6 is a second address (IPv6) served on the same port; if it cannot be bound the
   * server runs on address alone and logs why (names still resolve over IPv4). */
  address6?: string | null;
  port?: number;
  log: Logger;
  /** zone is called for every query. */
  zone: () => Zone;
  /** logQueries allows query names in trace logs; off by default (privacy). */
  logQueries?: boolean;
  tcpMaxConnections?: number;
  tcpIdleMs?: number;
}

/** DnsServerStats counts every message by outcome, plus transport events. */
export interface DnsServerStats {
  outcomes: Record<Outcome, number>;
  udpReceived: number;
  udpOversize: number;
  tcpReceived: number;
  tcpConnections: number; // currently open
  tcpAccepted: number;
  tcpRejected: number; // over the connection limit
  tcpIdleClosed: number;
  tcpOverrun: number; // closed for not reading answers
  truncated: number;
  internalErrors: number;
}

/** DnsServer is a running server; close stops every socket and drops open connections. */
export interface DnsServer {
  readonly address: string;
  /** address6 is the IPv6 address also served, or null (none asked, or it could not be bound). */
  readonly address6: string | null;
  readonly port: number;
  stats(): DnsServerStats;
  close(): Promise<void>;
}

/** startDnsServer binds UDP and TCP on the same address and port (and on address6, if given) and
 * starts answering. */
export async function startDnsServer(opts: DnsServerOptions): Promise<DnsServer> {
  const { log } = opts;
  const a = new Answerer(opts);
  const sockets = new Set<Socket>();
  const maxConnections = opts.tcpMaxConnections ?? TCP_MAX_CONNECTIONS;
  const onConnection = tcpConnectionHandler(a, sockets, opts.tcpIdleMs ?? TCP_IDLE_MS, maxConnections);
  const bind = (address: string, port: number): Promise<Listener> =>
    bindBoth(address, port, udpHandler(a), onConnection, maxConnections);
  const first = await bind(opts.address, opts.port ?? 53);
  const listeners = [first];
  const port = first.port;
  let address6: string | null = null;
  if (opts.address6) {
    try {
      listeners.push(await bind(opts.address6, port));
      address6 = opts.address6;
    } catch (e) {
      log.warn(`DNS: not listening on [${opts.address6}]:${port}: ${(e as Error).message}; IPv4 only`);
    }
  }
  for (const { udp, tcp } of listeners) {
    tcp.on('drop', () => a.counters.tcpRejected++);
    udp.on('error', (e) => a.errorLog.warn(`DNS: UDP socket error: ${e.message}`));
    tcp.on('error', (e) => a.errorLog.warn(`DNS: TCP socket error: ${e.message}`));
  }
  const where = address6 === null ? `${opts.address}:${port}` : `${opts.address}:${port} and [${address6}]:${port}`;
  log.info(`DNS server listening on ${where} (UDP and TCP)`);

  let closing: Promise<void> | null = null;
  return {
    address: opts.address,
    address6,
    port,
    stats: () => ({ outcomes: { ...a.outcomes }, ...a.counters, tcpConnections: sockets.size }),
    close: () => {
      closing ??= (async () => {
        for (const s of sockets) s.destroy();
        await Promise.all(
          listeners.flatMap(({ udp, tcp }) => [
            new Promise<void>((resolve) => udp.close(() => resolve())),
            new Promise<void>((resolve) => tcp.close(() => resolve())),
          ]),
        );
      })();
      return closing;
    },
  };
}

/** Answerer is the one place a message becomes an answer; it counts every outcome and catches everything. */
class Answerer {
  readonly outcomes = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;
  readonly counters = {
    udpReceived: 0,
    udpOversize: 0,
    tcpReceived: 0,
    tcpAccepted: 0,
    tcpRejected: 0,
    tcpIdleClosed: 0,
    tcpOverrun: 0,
    truncated: 0,
    internalErrors: 0,
  };
  readonly errorLog: LogMethods;

  constructor(private readonly opts: DnsServerOptions) {
    this.errorLog = opts.log.rateLimited('dns:internal-error', 10_000);
  }

  /** handle answers msg, or returns null when it is dropped. */
  handle(msg: Buffer, transport: Transport): Buffer | null {
    try {
      const r = respond(msg, this.opts.zone(), transport);
      this.outcomes[r.outcome]++;
      if (r.truncated) this.counters.truncated++;
      const log = this.opts.log;
      if (this.opts.logQueries && r.question && log.enabled('trace')) {
        log.trace(
          `dns ${transport} ${r.question.name} ${r.question.type}: ${r.outcome}${r.truncated ? ' (truncated)' : ''}`,
        );
      }
      return r.bytes;
    } catch (e) {
      this.counters.internalErrors++;
      this.outcomes.dropped++;
      this.errorLog.warn(`DNS: internal error answering a query (dropped): ${(e as Error).message}`);
      return null;
    }
  }
}

/** udpHandler makes a UDP socket's message listener: one answer per datagram, from the same socket. */
function udpHandler(a: Answerer): (udp: UdpSocket) => (msg: Buffer, rinfo: RemoteInfo) => void {
  return (udp) => (msg, rinfo) => {
    a.counters.udpReceived++;
    if (rinfo.port === 0) {
      a.outcomes.dropped++;
      return;
    }
    let query = msg;
    if (msg.length > MAX_UDP_QUERY) {
      // Only the header is looked at: the answer is a 12-byte FORMERR, never an amplifier.
      a.counters.udpOversize++;
      query = msg.subarray(0, 12);
    }
    const out = a.handle(query, 'udp');
    if (out) udp.send(out, rinfo.port, rinfo.address, () => undefined);
  };
}

/** tcpConnectionHandler makes the TCP server's connection listener (length-prefixed messages, RFC 1035 §4.2.2). */
function tcpConnectionHandler(
  a: Answerer,
  sockets: Set<Socket>,
  idleMs: number,
  maxConnections: number,
): (socket: Socket) => void {
  return (socket) => {
    // Each listener's maxConnections refuses early; this check makes the limit one for all
    // listeners together, so a second address does not double what clients can hold.
    if (sockets.size >= maxConnections) {
      a.counters.tcpRejected++;
      socket.destroy();
      return;
    }
    a.counters.tcpAccepted++;
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.setTimeout(idleMs, () => {
      a.counters.tcpIdleClosed++;
      socket.destroy();
    });
    socket.on('error', () => undefined); // resets are normal; 'close' follows
    socket.on('close', () => sockets.delete(socket));
    // The framer holds at most one partial message (65,535 bytes) between chunks.
    const framer = new TcpFramer();
    const answer = (msg: Buffer): boolean => answerTcp(a, socket, msg);
    socket.on('data', (chunk: Buffer) => {
      try {
        framer.push(chunk, answer);
      } catch (e) {
        a.counters.internalErrors++;
        a.errorLog.warn(`DNS: internal error on a TCP connection (closed): ${(e as Error).message}`);
        socket.destroy();
      }
    });
  };
}

/** answerTcp answers one message on its connection; false once the connection is gone. */
function answerTcp(a: Answerer, socket: Socket, msg: Buffer): boolean {
  a.counters.tcpReceived++;
  const out = a.handle(msg, 'tcp');
  if (socket.destroyed) return false;
  if (out) {
    const frame = Buffer.allocUnsafe(2 + out.length);
    frame.writeUInt16BE(out.length, 0);
    out.copy(frame, 2);
    socket.write(frame);
  }
  if (socket.writableLength > TCP_MAX_UNSENT) {
    a.counters.tcpOverrun++;
    socket.destroy();
    return false;
  }
  return true;
}

/** Listener is one address's UDP socket and TCP server. */
interface Listener {
  udp: UdpSocket;
  tcp: Server;
  port: number;
}

// bindBoth binds UDP first and TCP on the same port. With port 0 the kernel picks the UDP
// port and the TCP one may be taken, so that case retries with a fresh port.
async function bindBoth(
  address: string,
  port: number,
  onDatagram: (udp: UdpSocket) => (msg: Buffer, rinfo: RemoteInfo) => void,
  onConnection: (s: Socket) => void,
  maxConnections: number,
): Promise<Listener> {
  for (let attempt = 0; ; attempt++) {
    const udp = createSocket({ type: isIPv6(address) ? 'udp6' : 'udp4' });
    udp.on('message', onDatagram(udp));
    await new Promise<void>((resolve, reject) => {
      udp.once('error', (e) => {
        udp.close();
        reject(e);
      });
      udp.bind({ address, port, exclusive: true }, () => {
        udp.removeAllListeners('error');
        resolve();
      });
    });
    const bound = udp.address().port;
    const tcp = createServer({ pauseOnConnect: false }, onConnection);
    tcp.maxConnections = maxConnections;
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen({ host: address, port: bound, exclusive: true }, () => {
          tcp.off('error', reject);
          resolve();
        });
      });
      return { udp, tcp, port: bound };
    } catch (e) {
      await new Promise<void>((resolve) => udp.close(() => resolve()));
      if (port !== 0 || attempt >= 9 || (e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
    }
  }
}
