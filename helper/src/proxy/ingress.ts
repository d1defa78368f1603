// The ingress proxy: publishes a localhost-only service on the overlay by forwarding
// TCP from the virtual address to 127.0.0.1:targetPort. Policy is not decided here: the
// firewall drops packets from senders that may not reach the port before they arrive.
// What stays here are the resource limits, since an allowed peer is still untrusted. Each
// accepted connection is logged at -v 2: the peer's address and port, and what became of it.

import { listen, track } from './listen.js';
import net from 'node:net';
import type { Logger } from '../../../src-shared/lib/log.js';
import { formatHostPort } from './http-head.js';
import { splice } from './relay.js';

/** IngressOptions configure startIngressProxy; listenPort 0 picks a free port. */
export interface IngressOptions {
  listenHost: string;
  listenPort: number;
  targetPort: number;
  log: Logger;
  /** maxConnections bounds concurrent forwarded connections; extra ones are reset. Default 1024. */
  maxConnections?: number;
  /** idleMs closes a connection silent in both directions this long. Default 60 s. */
  idleMs?: number;
  /** connectTimeoutMs bounds the connection to the local service. Default 10 s. */
  connectTimeoutMs?: number;
}

/** IngressStats are counters since start. */
export interface IngressStats {
  active: number;
  accepted: number;
  busy: number;
  targetFailures: number;
}

/** IngressProxy is a running forwarder. */
export interface IngressProxy {
  port: number;
  close(): Promise<void>;
  stats(): IngressStats;
}

/** startIngressProxy listens on listenHost:listenPort and forwards until close(). */
export async function startIngressProxy(opts: IngressOptions): Promise<IngressProxy> {
  const maxConnections = opts.maxConnections ?? 1024;
  const idleMs = opts.idleMs ?? 60_000;
  const connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
  const { log } = opts;
  const st: IngressStats = { active: 0, accepted: 0, busy: 0, targetFailures: 0 };
  const sockets = new Set<net.Socket>();

  const target = `127.0.0.1:${opts.targetPort}`;
  /** boundPort is listenPort, or the port the system chose for 0, once listening. */
  let boundPort = opts.listenPort;
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (client) => {
    client.on('error', () => client.destroy());
    // Only built when it will be logged: getpeername is a system call per connection.
    const who = log.enabled('verbose')
      ? `${formatHostPort(client.remoteAddress ?? 'unknown', client.remotePort ?? 0)} to ${formatHostPort(opts.listenHost, boundPort)}`
      : 'peer';
    if (st.active >= maxConnections) {
      st.busy++;
      log
        .rateLimited(`ingress:busy:${opts.targetPort}`, 1000)
        .verbose(`ingress: ${who} refused: ${maxConnections} connections open (the limit)`);
      client.resetAndDestroy();
      return;
    }
    track(client, st, sockets);
    log.verbose(`ingress: ${who} accepted: forwarding to ${target}`);
    const service = net.connect({ host: '127.0.0.1', port: opts.targetPort, allowHalfOpen: true });
    sockets.add(service);
    service.once('close', () => sockets.delete(service));
    const timer = setTimeout(() => service.destroy(new Error('connect timeout')), connectTimeoutMs);
    service.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      st.targetFailures++;
      log.verbose(`ingress: ${who} failed: ${target} unreachable (${e.code ?? e.message})`);
      client.destroy();
    });
    service.once('connect', () => {
      clearTimeout(timer);
      service.removeAllListeners('error');
      if (client.destroyed) {
        service.destroy();
        return;
      }
      splice(client, service, idleMs);
    });
  });
  server.on('error', (e) => log.warn(`ingress: listener error: ${e.message}`));

  const port = await listen(server, opts.listenPort, opts.listenHost);
  boundPort = port;
  log.info(`ingress proxy ${opts.listenHost}:${port} -> 127.0.0.1:${opts.targetPort}`);
  return {
    port,
    stats: () => ({ ...st }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}
