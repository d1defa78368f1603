// The egress proxy (docs/architecture.md, "Proxies"): HTTP CONNECT tunnels (RFC 9110 §9.3.6)
// and plain forwarding of absolute `http://` requests (RFC 9112 §3.2.2), limited by
// Egress.Allow/Deny. Every client is an untrusted local process: heads are bounded in size and
// time, connections in number and idle time, and no handler throws. Plain HTTP is one request
// per connection (http-forward.ts). Every decision is logged at -v 2 as one line: client,
// method, destination host and port (never a URL's path or query), verdict and reason.

import { listen, track } from './listen.js';
import net from 'node:net';
import type { Logger } from '../../../src-shared/lib/log.js';
import { requestFraming, type BodyFraming } from './http-body.js';
import { forwardHttp, parseAbsoluteHttp, rewriteRequestHead } from './http-forward.js';
import { HeadCollector, formatHostPort, parseRequestHead, splitHostPort, type RequestHead } from './http-head.js';
import type { Matcher } from './match.js';
import { splice } from './relay.js';

/** EgressLimits bound what one client, and all of them together, can hold. */
export interface EgressLimits {
  maxHeaderBytes: number;
  maxConnections: number;
  headerTimeoutMs: number;
  idleTimeoutMs: number;
  connectTimeoutMs: number;
}

/** DEFAULT_EGRESS_LIMITS bound request heads, connections and waits (documented in docs/profile.md, "Proxy keys"). */
export const DEFAULT_EGRESS_LIMITS: EgressLimits = {
  maxHeaderBytes: 16 * 1024,
  maxConnections: 1024,
  headerTimeoutMs: 10_000,
  idleTimeoutMs: 60_000,
  connectTimeoutMs: 10_000,
};

/** MAX_ADDRESSES bounds how many resolved addresses are considered per request. */
const MAX_ADDRESSES = 16;

/** EgressOptions configure startEgressProxy; port 0 picks a free port. */
export interface EgressOptions {
  host: string;
  port: number;
  rules: Matcher;
  resolve: (name: string) => Promise<string[]>;
  log: Logger;
  limits?: Partial<EgressLimits>;
}

/** EgressStats are counters since start. */
export interface EgressStats {
  active: number;
  accepted: number;
  busy: number;
  refused: number;
  malformed: number;
  tunnels: number;
  forwarded: number;
  upstreamFailures: number;
}

/** EgressProxy is a running proxy. */
export interface EgressProxy {
  port: number;
  close(): Promise<void>;
  stats(): EgressStats;
}

type Pick = { ok: true; ip: string; reason: string } | { ok: false; refused: boolean; reason: string };

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** startEgressProxy listens on host:port and serves until close(). */
export async function startEgressProxy(opts: EgressOptions): Promise<EgressProxy> {
  const egress = new Egress(opts);
  const server = net.createServer({ allowHalfOpen: true }, (client) => egress.accept(client));
  server.on('error', (e) => opts.log.warn(`egress: listener error: ${e.message}`));
  const port = await listen(server, opts.port, opts.host);
  opts.log.info(`egress proxy listening on ${formatHostPort(opts.host, port)}`);
  return {
    port,
    stats: () => ({ ...egress.st }),
    close: () =>
      new Promise<void>((resolveClose) => {
        server.close(() => resolveClose());
        for (const s of egress.sockets) s.destroy();
      }),
  };
}

/** Fail answers a client with an error status and ends its connection. */
type Fail = (status: number, reason: string) => void;

/** Egress serves each client: read the request head, check the destination, connect, relay. */
class Egress {
  readonly sockets = new Set<net.Socket>();
  readonly st: EgressStats = {
    active: 0,
    accepted: 0,
    busy: 0,
    refused: 0,
    malformed: 0,
    tunnels: 0,
    forwarded: 0,
    upstreamFailures: 0,
  };
  private readonly limits: EgressLimits;
  private readonly log: Logger;
  private readonly rules: Matcher;

  constructor(private readonly opts: EgressOptions) {
    this.limits = { ...DEFAULT_EGRESS_LIMITS, ...opts.limits };
    this.log = opts.log;
    this.rules = opts.rules;
  }

  /** accept takes a new client, or answers 503 when maxConnections are open. */
  accept(client: net.Socket): void {
    const { st, limits } = this;
    if (st.active >= limits.maxConnections) {
      st.busy++;
      this.log
        .rateLimited('egress:busy', 5000)
        .warn(`egress: ${limits.maxConnections} connections open, refusing more with 503`);
      client.on('error', () => client.destroy());
      endSoon(client, response(503, 'proxy busy'));
      return;
    }
    track(client, st, this.sockets);
    this.readHead(client);
  }

  /** readHead collects the request head within the size and time limits, then routes it. */
  private readHead(client: net.Socket): void {
    const log = this.log;
    client.on('error', () => client.destroy());
    // Captured now (once the socket closes, remoteAddress is gone), and only when it will be
    // logged: getpeername is a system call, and connection rate is one of the proxy's figures.
    const who = log.enabled('verbose')
      ? formatHostPort(client.remoteAddress ?? 'unknown', client.remotePort ?? 0)
      : 'client';
    const collector = new HeadCollector(this.limits.maxHeaderBytes);
    let done = false;
    const fail: Fail = (status, reason) => {
      done = true;
      clearTimeout(deadline);
      client.removeListener('data', onData);
      endSoon(client, response(status, reason));
    };
    // An absolute deadline, not an idle timer: a client trickling a byte at a time must not hold us.
    const deadline = setTimeout(() => fail(408, 'request head not received in time'), this.limits.headerTimeoutMs);
    const onData = (chunk: Buffer): void => {
      if (done) return;
      const got = collector.push(chunk);
      if (got === null) return;
      if (got === 'too-large') {
        this.malformed(who, fail, 'request head too large', 431);
        return;
      }
      done = true;
      clearTimeout(deadline);
      client.removeListener('data', onData);
      client.pause();
      const parsed = parseRequestHead(got.head);
      if (typeof parsed === 'string') {
        this.malformed(who, fail, parsed);
        return;
      }
      this.route(client, who, parsed, got.rest, fail).catch((e: unknown) => {
        log.warn(`egress: internal error: ${e instanceof Error ? e.message : String(e)}`);
        client.destroy();
      });
    };
    client.on('data', onData);
    client.once('end', () => {
      if (done) return;
      this.malformed(who, fail, 'connection closed before the request head ended');
    });
  }

  /** route checks and connects to the request's destination, then tunnels or forwards. */
  private async route(client: net.Socket, who: string, req: RequestHead, rest: Buffer, fail: Fail): Promise<void> {
    const { st, log } = this;
    let dest: { host: string; port: number } | null;
    let http: { head: Buffer; framing: BodyFraming } | null = null;
    if (req.method === 'CONNECT') {
      dest = splitHostPort(req.target);
      if (!dest) return this.malformed(who, fail, 'malformed CONNECT target');
    } else {
      const target = parseAbsoluteHttp(req.target);
      if (typeof target === 'string') return this.malformed(who, fail, target);
      const framing = requestFraming(req);
      if (typeof framing === 'string') return this.malformed(who, fail, framing);
      dest = target;
      http = { head: rewriteRequestHead(req, target), framing };
    }
    const what = `${who} ${http ? 'HTTP' : 'CONNECT'} ${formatHostPort(dest.host, dest.port)}`;
    const pick = await this.pickAddress(dest.host);
    if (!pick.ok) {
      if (pick.refused) st.refused++;
      else st.upstreamFailures++;
      log.verbose(`egress: ${what} ${pick.refused ? 'refused' : 'failed'}: ${pick.reason}`);
      return fail(pick.refused ? 403 : 502, pick.reason);
    }
    if (client.destroyed) {
      log.verbose(`egress: ${what} allowed: ${pick.reason}; client left before the connection was made`);
      return;
    }
    const upstream = await this.connect(pick.ip, dest.port);
    if (typeof upstream === 'string') {
      st.upstreamFailures++;
      log.verbose(`egress: ${what} failed: ${upstream} to ${formatHostPort(pick.ip, dest.port)} (${pick.reason})`);
      return fail(upstream === 'connect timeout' ? 504 : 502, upstream);
    }
    log.verbose(`egress: ${what} allowed: ${pick.reason}; connected to ${formatHostPort(pick.ip, dest.port)}`);
    if (client.destroyed) {
      upstream.destroy();
      return;
    }
    if (http === null) {
      st.tunnels++;
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (rest.length > 0) upstream.write(rest);
      splice(client, upstream, this.limits.idleTimeoutMs);
    } else {
      st.forwarded++;
      forwardHttp(client, upstream, { ...http, rest, idleMs: this.limits.idleTimeoutMs, fail });
    }
  }

  private malformed(who: string, fail: Fail, reason: string, status = 400): void {
    this.st.malformed++;
    this.log.rateLimited('egress:malformed', 1000).debug(`egress: ${who} malformed request (${status}): ${reason}`);
    fail(status, reason);
  }

  /**
   * pickAddress applies the name rule, resolves, and applies the address rule to each result,
   * choosing the first allowed address.
   */
  private async pickAddress(host: string): Promise<Pick> {
    const rules = this.rules;
    const byName = rules.decide(host);
    if (!byName.allowed) return { ok: false, refused: true, reason: byName.reason };
    const literal = host.startsWith('[') ? host.slice(1, -1) : host.replace(/\.$/, '');
    let addrs: string[];
    if (net.isIP(literal) !== 0) {
      addrs = [literal];
    } else {
      try {
        const r = await withTimeout(this.opts.resolve(literal), this.limits.connectTimeoutMs);
        if (r === null) return { ok: false, refused: false, reason: 'name resolution timed out' };
        addrs = r.filter((a) => typeof a === 'string' && net.isIP(a) !== 0).slice(0, MAX_ADDRESSES);
      } catch {
        return { ok: false, refused: false, reason: 'name resolution failed' };
      }
      if (addrs.length === 0) return { ok: false, refused: false, reason: 'name did not resolve' };
    }
    let lastReason = '';
    for (const a of addrs) {
      const d = rules.decideAddress(a);
      if (d.allowed) return { ok: true, ip: a, reason: byName.reason };
      lastReason = d.reason;
    }
    return { ok: false, refused: true, reason: lastReason };
  }

  private connect(ip: string, port: number): Promise<net.Socket | string> {
    return new Promise((resolveConnect) => {
      const s = net.connect({ host: ip, port, allowHalfOpen: true });
      const timer = setTimeout(() => {
        s.destroy();
        resolveConnect('connect timeout');
      }, this.limits.connectTimeoutMs);
      s.once('connect', () => {
        clearTimeout(timer);
        s.removeAllListeners('error');
        resolveConnect(s);
      });
      s.once('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        s.destroy();
        resolveConnect(`connect failed (${e.code ?? 'error'})`);
      });
    });
  }
}

/**
 * endSoon answers and half-closes, then destroys after a grace period measured from now:
 * an idle timer would let a client that keeps sending garbage hold the socket forever.
 */
function endSoon(s: net.Socket, answer: string): void {
  s.resume();
  s.end(answer);
  const timer = setTimeout(() => s.destroy(), 1000);
  s.once('close', () => clearTimeout(timer));
}

function response(status: number, reason: string): string {
  const body = `${reason}\n`;
  return (
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\nContent-Type: text/plain\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  );
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<null>((r) => {
    timer = setTimeout(() => r(null), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
