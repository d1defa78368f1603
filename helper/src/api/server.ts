// The local API server (DESIGN.md "Local API", convention 6): HTTP/1.1 on a Unix socket created
// under umask 077 and then opened as far as socketAccess says, stale sockets detected by
// dialling, requests from web pages refused, every request bounded, mutating routes limited to
// root and the operator group (auth.ts), connections and event streams shared out per user so
// that nobody else can take root's and the operators' places (quota.ts, gate.ts). Handlers are a table keyed by path and method so later
// routes slot in; GET /v1/events is a stream (events.ts).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { chmodSync, chownSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Status } from '../../../src-shared/wire/status.js';
import type { Logger } from '../../../src-shared/lib/log.js';
import { checkAccess, DEFAULT_OPERATOR_GROUP, deniedMessage, groupGid, type AccessCheck } from './auth.js';
import { ConnectionGate } from './gate.js';
import type { QuotaLimits } from './quota.js';
import { EventHub, type ChangeSource, type EventLimits } from './events.js';
import {
  API_LIMITS,
  PATHS,
  type ApiErrorBody,
  type ApiErrorCode,
  type CallerInfo,
  type HttpMethod,
} from '../../../src-shared/wire/helper-api.js';

/**
 * SocketAccess says who may connect to the socket at all. 'everyone-reads' (mode 0666): every
 * local user may read status and events, and SO_PEERCRED decides per request who may change
 * things (tailscaled's model). 'operators-only' (mode 0660 with the operator group, 0600 when
 * the group does not exist): nobody else may even read.
 */
export type SocketAccess = 'everyone-reads' | 'operators-only';

/** ApiServerOptions: where to listen and where the data comes from. */
export interface ApiServerOptions {
  socketPath: string;
  log: Logger;
  getStatus: () => Status;
  /** routes adds the daemon's other endpoints (why, reload, ...). */
  routes?: RouteTable;
  /** events tells the server when something changed; the daemon calls the listener. */
  events?: ChangeSource;
  /** operatorGroup may change things besides root (default `warren`, looked up in /etc/group). */
  operatorGroup?: string;
  /** socketAccess defaults to 'everyone-reads'. */
  socketAccess?: SocketAccess;
  /** eventLimits narrows the event stream timing and bounds (tests). */
  eventLimits?: Partial<EventLimits>;
  /** connectionLimits narrows the connection pools (tests); the defaults are API_LIMITS'. */
  connectionLimits?: Partial<QuotaLimits>;
}

/** ApiServer is a running server; close() stops it and removes the socket file. */
export interface ApiServer {
  close(): Promise<void>;
}

/** ApiServerError is a reason the server cannot start, worded for the person running it. */
export class ApiServerError extends Error {
  override name = 'ApiServerError';
}

/** Caller is who sent a request, from the socket's SO_PEERCRED; null if it could not be read. */
export type Caller = { pid: number; uid: number; gid: number } | null;

/** ApiRequest is what a handler gets: the parsed body (null when empty), query and caller. */
export interface ApiRequest {
  body: unknown;
  query: URLSearchParams;
  caller: Caller;
  /** access says whether the caller may change things (read on first use, then kept). */
  access(): AccessCheck;
}

/** ApiHttpError is an error a handler throws to answer with a given status and code. */
export class ApiHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: ApiErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** requirePrivileged refuses callers other than root and members of the operator group. */
export function requirePrivileged(req: ApiRequest): void {
  const a = req.access();
  if (!a.privileged) throw new ApiHttpError(403, 'forbidden', deniedMessage(a));
}

/** TextBody is a handler's answer that is not JSON (the metrics): sent as it is. */
export class TextBody {
  constructor(
    readonly contentType: string,
    readonly text: string,
  ) {}
}

export type Handler = (req: ApiRequest) => unknown;
export type RouteTable = Record<string, Partial<Record<HttpMethod, Handler>>>;

/** CONNECTION_LIMITS are the connection pools (quota.ts) from the API contract. */
const CONNECTION_LIMITS: QuotaLimits = {
  total: API_LIMITS.maxConnections,
  perUser: API_LIMITS.maxConnectionsPerUser,
  nonRoot: API_LIMITS.maxNonRootConnections,
  unprivileged: API_LIMITS.maxUnprivilegedConnections,
};

// sun_path in struct sockaddr_un is 108 bytes including the terminating NUL.
const MAX_SOCKET_PATH_BYTES = 107;
const DIAL_TIMEOUT_MS = 1000;

/** startApiServer listens on socketPath and serves the routes until close(). */
export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const { socketPath, log } = opts;
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH_BYTES) {
    throw new ApiServerError(`socket path ${socketPath} is longer than ${MAX_SOCKET_PATH_BYTES} bytes`);
  }
  const created = mkdirSync(dirname(socketPath), { recursive: true, mode: 0o755 });
  // mkdir's mode passes through the umask; a directory made here is set exactly, one that
  // existed is the administrator's (e.g. systemd's RuntimeDirectory).
  if (created !== undefined) chmodSync(dirname(socketPath), 0o755);
  await clearStaleSocket(socketPath, log);

  const group = opts.operatorGroup ?? DEFAULT_OPERATOR_GROUP;
  const hub = new EventHub(opts.getStatus, opts.events, log, opts.eventLimits, group);
  const gate = new ConnectionGate({ ...CONNECTION_LIMITS, ...opts.connectionLimits }, group, log);
  const routes: RouteTable = {
    ...opts.routes,
    [PATHS.status]: { GET: () => opts.getStatus() },
    [PATHS.caller]: { GET: (req) => callerInfo(req) },
  };
  const ctx: HandleContext = { routes, hub, gate, log, group };
  const server = createServer(
    { maxHeaderSize: API_LIMITS.headerBytes, requestTimeout: 10_000, headersTimeout: 5_000, keepAliveTimeout: 5_000 },
    (req, res) => void handle(ctx, req, res),
  );
  gate.attach(server);
  await listenPrivately(server, socketPath);
  openSocket(socketPath, opts.socketAccess ?? 'everyone-reads', group, log);
  log.info(`local API listening on ${socketPath}`);

  let closed: Promise<void> | null = null;
  return {
    close() {
      closed ??= new Promise<void>((resolve) => {
        hub.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }).then(() => {
        try {
          unlinkSync(socketPath);
        } catch {
          // already gone
        }
      });
      return closed;
    },
  };
}

/** openSocket sets the socket's mode and group after the private bind (see SocketAccess). */
function openSocket(socketPath: string, access: SocketAccess, group: string, log: Logger): void {
  const gid = groupGid(group);
  if (gid !== null) {
    try {
      chownSync(socketPath, -1, gid);
    } catch (e) {
      // Only root may hand a file to a group it is not in; a helper run by a user for tests
      // keeps its own group, and privileged checks still work per request.
      log.info(`cannot give ${socketPath} to group ${group}: ${(e as Error).message}`);
    }
  }
  const mode = access === 'everyone-reads' ? 0o666 : gid !== null ? 0o660 : 0o600;
  chmodSync(socketPath, mode);
}

/** callerInfo answers GET /v1/caller. */
function callerInfo(req: ApiRequest): CallerInfo {
  const a = req.access();
  return {
    uid: req.caller?.uid ?? -1,
    gid: req.caller?.gid ?? -1,
    privileged: a.privileged,
    operatorGroup: a.group,
    operatorGroupExists: a.groupGid !== null,
  };
}

/**
 * assertNoHelperRunning throws ApiServerError if a helper answers on socketPath. `warren run`
 * calls it before the daemon touches the machine; startApiServer checks again, race-free.
 */
export async function assertNoHelperRunning(socketPath: string): Promise<void> {
  if ((await dial(socketPath)) === 'answered') throw new ApiServerError(`another helper is running on ${socketPath}`);
}

/** clearStaleSocket removes a socket file nobody answers on, and refuses if someone does. */
async function clearStaleSocket(socketPath: string, log: Logger): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(socketPath).isSocket();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  if (!isSocket) throw new ApiServerError(`${socketPath} exists and is not a socket; refusing to replace it`);
  const answer = await dial(socketPath);
  if (answer === 'answered') throw new ApiServerError(`another helper is running on ${socketPath}`);
  if (answer === 'refused') {
    log.info(`removing stale socket ${socketPath}`);
    try {
      unlinkSync(socketPath);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
}

function dial(socketPath: string): Promise<'answered' | 'refused' | 'gone'> {
  return new Promise((resolve, reject) => {
    const sock = connect(socketPath);
    const done = (r: 'answered' | 'refused' | 'gone' | Error) => {
      clearTimeout(timer);
      sock.destroy();
      if (r instanceof Error) reject(r);
      else resolve(r);
    };
    // A listener that accepts but never answers is still a live process holding the path.
    const timer = setTimeout(() => done('answered'), DIAL_TIMEOUT_MS);
    sock.once('connect', () => done('answered'));
    sock.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ECONNREFUSED') done('refused');
      else if (e.code === 'ENOENT' || e.code === 'ENOTDIR') done('gone');
      else done(new ApiServerError(`cannot check ${socketPath}: ${e.message}`));
    });
  });
}

async function listenPrivately(server: Server, socketPath: string): Promise<void> {
  // The umask is process-wide; it is narrowed only for the bind so the socket is never
  // reachable by others before chmod decides who may connect.
  const old = process.umask(0o077);
  try {
    await new Promise<void>((resolve, reject) => {
      const onError = (e: NodeJS.ErrnoException) => {
        reject(e.code === 'EADDRINUSE' ? new ApiServerError(`another helper is running on ${socketPath}`) : e);
      };
      server.once('error', onError);
      server.listen(socketPath, () => {
        server.off('error', onError);
        resolve();
      });
    });
  } finally {
    process.umask(old);
  }
}

interface HandleContext {
  routes: RouteTable;
  hub: EventHub;
  gate: ConnectionGate;
  log: Logger;
  group: string;
}

async function handle(ctx: HandleContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { routes, hub, gate, log } = ctx;
  try {
    const refused = gate.refusal(req.socket);
    if (refused !== undefined) return sendError(res, 503, 'too-many-connections', refused, true);
    const admitted = gate.admittedAs(req.socket);
    if (admitted === undefined) throw new Error('a connection reached the handler without passing the gate');
    if (req.headers.origin !== undefined || req.headers.referer !== undefined) {
      return sendError(res, 403, 'forbidden-origin', 'requests from web pages are refused');
    }
    const declared = Number(req.headers['content-length'] ?? 0);
    if (!Number.isFinite(declared) || declared > API_LIMITS.bodyBytes) {
      return sendError(
        res,
        413,
        'payload-too-large',
        `request bodies are limited to ${API_LIMITS.bodyBytes} bytes`,
        true,
      );
    }
    const raw = await readBody(req);
    // The client left before its whole body came: there is no one to answer.
    if (raw === 'aborted') return;
    if (raw === null) {
      return sendError(
        res,
        413,
        'payload-too-large',
        `request bodies are limited to ${API_LIMITS.bodyBytes} bytes`,
        true,
      );
    }
    const [path = '/', search = ''] = (req.url ?? '/').split('?', 2);
    if (path === PATHS.events) {
      if (req.method !== 'GET') {
        res.setHeader('Allow', 'GET');
        return sendError(res, 405, 'method-not-allowed', `${path} does not accept ${String(req.method).slice(0, 16)}`);
      }
      const streamRefused = hub.accept(req, res, admitted.holder);
      if (streamRefused !== null) return sendError(res, 503, 'too-many-streams', streamRefused, true);
      return;
    }
    const route = Object.hasOwn(routes, path) ? routes[path] : undefined;
    if (!route) return sendError(res, 404, 'not-found', `no such endpoint: ${path.slice(0, 100)}`);
    const method = req.method as HttpMethod;
    const handler = Object.hasOwn(route, method) ? route[method] : undefined;
    if (!handler) {
      res.setHeader('Allow', Object.keys(route).join(', '));
      return sendError(res, 405, 'method-not-allowed', `${path} does not accept ${String(req.method).slice(0, 16)}`);
    }
    let body: unknown = null;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        return sendError(res, 400, 'bad-request', 'the request body is not valid JSON');
      }
    }
    const caller = admitted.caller;
    let access: AccessCheck | null = null;
    const result = await handler({
      body,
      query: new URLSearchParams(search),
      caller,
      access: () => (access ??= checkAccess(caller, ctx.group)),
    });
    if (result instanceof TextBody) sendText(res, result);
    else sendJson(res, 200, result);
  } catch (e) {
    if (e instanceof ApiHttpError) return sendError(res, e.status, e.code, e.message);
    log.error(`local API ${req.method} ${String(req.url).slice(0, 100)}: ${(e as Error).stack ?? String(e)}`);
    if (!res.headersSent) sendError(res, 500, 'internal', 'internal error; see the helper log');
    else res.destroy();
  }
}

/** readBody collects the body up to the limit; null means it was larger, 'aborted' that the
 * connection closed before the body ended. Any local process can do that at will, so it is not
 * an error of the helper's and is not logged as one. */
function readBody(req: IncomingMessage): Promise<Buffer | null | 'aborted'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      if (over) return;
      size += c.length;
      if (size > API_LIMITS.bodyBytes) {
        over = true;
        chunks.length = 0;
        resolve(null);
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!over) resolve(Buffer.concat(chunks));
    });
    req.on('error', (e: Error & { code?: string }) => (e.code === 'ECONNRESET' ? resolve('aborted') : reject(e)));
  });
}

function sendJson(res: ServerResponse, status: number, value: unknown, close = false): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    ...(close ? { Connection: 'close' } : {}),
  });
  res.end(body);
}

function sendText(res: ServerResponse, body: TextBody): void {
  res.writeHead(200, {
    'Content-Type': body.contentType,
    'Content-Length': Buffer.byteLength(body.text),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(body.text);
}

function sendError(res: ServerResponse, status: number, code: ApiErrorCode, message: string, close = false): void {
  const body: ApiErrorBody = { error: { code, message } };
  sendJson(res, status, body, close);
}
