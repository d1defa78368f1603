// The egress proxy (issue 7): HTTP CONNECT tunnels (RFC 9110 §9.3.6) and plain forwarding of
// absolute `http://` requests (RFC 9112 §3.2.2), limited by Egress.Allow/Deny. Every client is
// an untrusted local process: heads are bounded in size and time, connections in number and
// idle time, and no handler throws. Each plain request gets its own upstream connection and
// `Connection: close`, so the bytes after the head are piped raw (the body, and the response)
// without the proxy ever re-framing a message.

import { listen, track } from './listen.js';
import net from 'node:net';
import type { Logger } from '../log.js';
import { findHeadEnd, parseRequestHead, splitHostPort, type RequestHead } from './http-head.js';
import type { Matcher } from './match.js';

/** EgressLimits bound what one client, and all of them together, can hold. */
export interface EgressLimits {
  maxHeaderBytes: number;
  maxConnections: number;
  headerTimeoutMs: number;
  idleTimeoutMs: number;
  connectTimeoutMs: number;
}

/** DEFAULT_EGRESS_LIMITS are the issue's limits. */
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

const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'proxy-authenticate',
  'te', 'trailer', 'upgrade',
]);

type Pick = { ok: true; ip: string } | { ok: false; refused: boolean; reason: string };

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request', 403: 'Forbidden', 408: 'Request Timeout', 431: 'Request Header Fields Too Large',
  501: 'Not Implemented', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout',
};

/** startEgressProxy listens on host:port and serves until close(). */
export async function startEgressProxy(opts: EgressOptions): Promise<EgressProxy> {
  const limits: EgressLimits = { ...DEFAULT_EGRESS_LIMITS, ...opts.limits };
  const { log, rules } = opts;
  const sockets = new Set<net.Socket>();
  const st: EgressStats = {
    active: 0, accepted: 0, busy: 0, refused: 0, malformed: 0, tunnels: 0, forwarded: 0, upstreamFailures: 0,
  };

  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    if (st.active >= limits.maxConnections) {
      st.busy++;
      client.on('error', () => client.destroy());
      endSoon(client, response(503, 'proxy busy'));
      return;
    }
    track(client, st, sockets);
    handle(client);
  });
  server.on('error', (e) => log.warn(`egress: listener error: ${e.message}`));

  const handle = (client: net.Socket): void => {
    client.on('error', () => client.destroy());
    let buf: Buffer = Buffer.alloc(0);
    let scanned = 0;
    let done = false;
    const fail = (status: number, reason: string): void => {
      done = true;
      clearTimeout(deadline);
      client.removeListener('data', onData);
      endSoon(client, response(status, reason));
    };
    // An absolute deadline, not an idle timer: a client trickling a byte at a time must not hold us.
    const deadline = setTimeout(() => fail(408, 'request head not received in time'), limits.headerTimeoutMs);
    const onData = (chunk: Buffer): void => {
      if (done) return;
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      const end = findHeadEnd(buf.subarray(0, limits.maxHeaderBytes), scanned);
      scanned = Math.max(0, Math.min(buf.length, limits.maxHeaderBytes) - 3);
      if (end < 0) {
        if (buf.length >= limits.maxHeaderBytes) {
          st.malformed++;
          fail(431, 'request head too large');
        }
        return;
      }
      done = true;
      clearTimeout(deadline);
      client.removeListener('data', onData);
      client.pause();
      const parsed = parseRequestHead(buf.subarray(0, end - 4));
      const rest = buf.subarray(end);
      if (typeof parsed === 'string') {
        st.malformed++;
        fail(400, parsed);
        return;
      }
      route(client, parsed, rest, fail).catch((e: unknown) => {
        log.warn(`egress: internal error: ${e instanceof Error ? e.message : String(e)}`);
        client.destroy();
      });
    };
    client.on('data', onData);
    client.once('end', () => {
      if (done) return;
      st.malformed++;
      fail(400, 'connection closed before the request head ended');
    });
  };

  const route = async (
    client: net.Socket,
    req: RequestHead,
    rest: Buffer,
    fail: (status: number, reason: string) => void,
  ): Promise<void> => {
    let dest: { host: string; port: number } | null;
    let head: Buffer | null = null;
    if (req.method === 'CONNECT') {
      dest = splitHostPort(req.target);
      if (!dest) return malformed(fail, 'malformed CONNECT target');
    } else {
      const target = parseAbsoluteHttp(req.target);
      if (typeof target === 'string') return malformed(fail, target);
      dest = target;
      const bad = badFraming(req);
      if (bad) return malformed(fail, bad);
      head = rewriteHead(req, target.host, target.port, target.path);
    }
    const what = `${req.method === 'CONNECT' ? 'CONNECT' : 'HTTP'} ${formatHostPort(dest.host, dest.port)}`;
    const pick = await pickAddress(dest.host);
    if (!pick.ok) {
      if (pick.refused) st.refused++;
      else st.upstreamFailures++;
      log.debug(`egress: ${what} ${pick.refused ? 'refused' : 'failed'}: ${pick.reason}`);
      return fail(pick.refused ? 403 : 502, pick.reason);
    }
    if (client.destroyed) return;
    const upstream = await connect(pick.ip, dest.port);
    if (typeof upstream === 'string') {
      st.upstreamFailures++;
      log.debug(`egress: ${what} failed: ${upstream}`);
      return fail(upstream === 'connect timeout' ? 504 : 502, upstream);
    }
    log.debug(`egress: ${what} allowed via ${formatHostPort(pick.ip, dest.port)}`);
    if (client.destroyed) {
      upstream.destroy();
      return;
    }
    if (head === null) {
      st.tunnels++;
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    } else {
      st.forwarded++;
      upstream.write(head);
    }
    if (rest.length > 0) upstream.write(rest);
    splice(client, upstream, limits.idleTimeoutMs);
  };

  const malformed = (fail: (status: number, reason: string) => void, reason: string): void => {
    st.malformed++;
    fail(400, reason);
  };

  /**
   * pickAddress applies the name rule, resolves, and applies the address rule to each result,
   * choosing the first allowed address.
   */
  const pickAddress = async (host: string): Promise<Pick> => {
    const byName = rules.decide(host);
    if (!byName.allowed) return { ok: false, refused: true, reason: byName.reason };
    const literal = host.startsWith('[') ? host.slice(1, -1) : host.replace(/\.$/, '');
    let addrs: string[];
    if (net.isIP(literal) !== 0) {
      addrs = [literal];
    } else {
      try {
        const r = await withTimeout(opts.resolve(literal), limits.connectTimeoutMs);
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
      if (d.allowed) return { ok: true, ip: a };
      lastReason = d.reason;
    }
    return { ok: false, refused: true, reason: lastReason };
  };

  const connect = (ip: string, port: number): Promise<net.Socket | string> =>
    new Promise((resolveConnect) => {
      const s = net.connect({ host: ip, port, allowHalfOpen: true });
      const timer = setTimeout(() => {
        s.destroy();
        resolveConnect('connect timeout');
      }, limits.connectTimeoutMs);
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

  const port = await listen(server, opts.port, opts.host);
  log.info(`egress proxy listening on ${formatHostPort(opts.host, port)}`);
  return {
    port,
    stats: () => ({ ...st }),
    close: () =>
      new Promise<void>((resolveClose) => {
        server.close(() => resolveClose());
        for (const s of sockets) s.destroy();
      }),
  };
}

/**
 * splice pipes bytes both ways. Half-close is passed through (a FIN from one side ends the
 * other's write side) and each socket is destroyed once both directions are done; silence
 * longer than idleMs on either side, or any error, tears down both.
 */
export function splice(a: net.Socket, b: net.Socket, idleMs: number): void {
  const kill = (): void => {
    a.destroy();
    b.destroy();
  };
  for (const s of [a, b]) {
    s.removeAllListeners('timeout');
    s.setTimeout(idleMs, kill);
    s.on('error', kill);
    s.once('close', kill);
  }
  // A socket's idle timer also counts writes, so one-way bulk transfers keep both alive.
  a.pipe(b);
  b.pipe(a);
  a.resume();
  b.resume();
}

function parseAbsoluteHttp(target: string): { host: string; port: number; path: string } | string {
  if (!/^http:\/\//i.test(target)) {
    return target.startsWith('/') ? 'origin-form request to a proxy (use an absolute http:// URL)' : 'only http:// URLs or CONNECT';
  }
  const afterScheme = target.slice(7);
  const slash = afterScheme.search(/[/?#]/);
  const authority = slash < 0 ? afterScheme : afterScheme.slice(0, slash);
  let path = slash < 0 ? '/' : afterScheme.slice(slash);
  const hash = path.indexOf('#');
  if (hash >= 0) path = path.slice(0, hash);
  if (path.startsWith('?')) path = '/' + path;
  if (path === '') path = '/';
  const hp = splitHostPort(authority, 80);
  if (!hp) return 'malformed URL authority';
  return { ...hp, path };
}

function badFraming(req: RequestHead): string | null {
  const te = req.headers.filter(([n]) => n.toLowerCase() === 'transfer-encoding');
  const cl = req.headers.filter(([n]) => n.toLowerCase() === 'content-length');
  if (te.length > 0 && cl.length > 0) return 'both Transfer-Encoding and Content-Length';
  if (cl.length > 0 && !cl.every(([, v]) => /^[0-9]{1,15}$/.test(v) && v === cl[0]?.[1])) return 'bad Content-Length';
  if (te.length > 0 && !/(^|,)\s*chunked\s*$/i.test(te.map(([, v]) => v).join(','))) return 'unsupported Transfer-Encoding';
  return null;
}

/** rewriteHead turns an absolute-form request into origin-form for the origin server. */
function rewriteHead(req: RequestHead, host: string, port: number, path: string): Buffer {
  const listed = new Set<string>();
  for (const [n, v] of req.headers) {
    if (n.toLowerCase() === 'connection') for (const t of v.split(',')) listed.add(t.trim().toLowerCase());
  }
  const lines = [`${req.method} ${path} HTTP/1.1`, `Host: ${formatHostPort(host, port, 80)}`];
  let via = '';
  for (const [n, v] of req.headers) {
    const lower = n.toLowerCase();
    if (HOP_BY_HOP.has(lower) || listed.has(lower) || lower === 'host') continue;
    if (lower === 'via') {
      via = via ? `${via}, ${v}` : v;
      continue;
    }
    lines.push(`${n}: ${v}`);
  }
  const ours = `${req.version.slice(5)} warren`;
  lines.push(`Via: ${via ? `${via}, ${ours}` : ours}`, 'Connection: close', '', '');
  return Buffer.from(lines.join('\r\n'), 'latin1');
}

function formatHostPort(host: string, port: number, defaultPort?: number): string {
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return port === defaultPort ? h : `${h}:${port}`;
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
  return `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\nContent-Type: text/plain\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<null>((r) => {
    timer = setTimeout(() => r(null), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
