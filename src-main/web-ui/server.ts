// The browser fallback (`warren ui`): serves the same renderer as the Electron app on
// 127.0.0.1 and bridges the IPC schema over HTTP: POST TOKEN/api/call/NAME with {"arg": ...}
// answers an IpcResult, GET TOKEN/api/events streams `event: state` (the whole AppState, first
// at once, then after every change) as server-sent events. Plain node:http; every request is
// checked by guard.ts first and bounded in size.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AppState } from '../../src-shared/wire/app-state.js';
import { dispatchCall, type IpcHandlers } from '../../src-shared/wire/ipc-schema.js';
import { toProblem } from '../app-backend.js';
import { hostAllowed, isToken, newToken, originAllowed, SECURITY_HEADERS, splitPath, tokenMatches } from './guard.js';
import { loadStaticFiles, type StaticFile } from './static-files.js';

/** StateSource is the part of AppBackend the server needs. */
export interface StateSource {
  handlers: IpcHandlers;
  current(): AppState;
  onState(listener: (s: AppState) => void): () => void;
}

/** WebUiOptions: what to serve and where. port 0 (default) picks a free one. */
export interface WebUiOptions {
  backend: StateSource;
  rendererDir: string;
  port?: number;
  /** token replaces the random one (tests). */
  token?: string;
}

/** WebUi is a running server. */
export interface WebUi {
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

const LIMITS = { bodyBytes: 64 * 1024, maxStreams: 8, backlogBytes: 8 * 1024 * 1024, heartbeatMs: 15_000 };

/** Session is what one running server answers with. port is known once it listens. */
interface Session {
  backend: StateSource;
  files: Map<string, StaticFile>;
  token: string;
  streams: Set<ServerResponse>;
  port: number;
}

/** startWebUi listens on 127.0.0.1 and serves until close(). */
export async function startWebUi(opts: WebUiOptions): Promise<WebUi> {
  const files = loadStaticFiles(opts.rendererDir);
  const token = opts.token ?? newToken();
  if (!isToken(token)) throw new Error('the web UI token must be 22 to 128 characters of base64url');
  const session: Session = { backend: opts.backend, files, token, streams: new Set(), port: 0 };
  const server = createServer(
    { maxHeaderSize: 16 * 1024, requestTimeout: 10_000, headersTimeout: 5_000 },
    (req, res) => {
      void handle(session, req, res).catch(() => {
        if (!res.headersSent) text(res, 500, 'internal error');
        else res.destroy();
      });
    },
  );
  server.maxConnections = 64;
  const port = await listen(server, opts.port ?? 0);
  session.port = port;
  let closed: Promise<void> | null = null;
  return {
    url: `http://127.0.0.1:${port}/${token}/`,
    port,
    token,
    close() {
      closed ??= new Promise<void>((resolve) => {
        for (const s of session.streams) s.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

/** listen binds server to 127.0.0.1:port (0: a free one) and resolves with the port it got. */
async function listen(server: Server, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      reject(e.code === 'EADDRINUSE' ? new Error(`port ${port} on 127.0.0.1 is in use; pick another with --port`) : e);
    });
    server.listen({ host: '127.0.0.1', port }, () => resolve());
  });
  const address = server.address();
  return typeof address === 'object' && address !== null ? address.port : 0;
}

/** handle checks a request (guard.ts: Host, Origin, token) and routes it. */
async function handle(s: Session, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (!hostAllowed(req.headers.host, s.port))
    return text(res, 403, 'This server only answers to 127.0.0.1 and localhost.');
  if (!originAllowed(req.headers.origin, s.port) || req.headers['sec-fetch-site'] === 'cross-site') {
    return text(res, 403, 'Requests from other sites are refused.');
  }
  const parts = splitPath(req.url ?? '/');
  if (parts === null || !tokenMatches(parts.token, s.token)) {
    return text(res, 403, "Open the address that `warren ui` printed: it carries this session's token.");
  }
  const { rest } = parts;
  if (rest.startsWith('api/call/')) return handleCall(s.backend, rest.slice('api/call/'.length), req, res);
  if (req.method !== 'GET' && req.method !== 'HEAD') return text(res, 405, 'only GET here');
  if (rest === 'api/events') return openStream(s, req, res);
  const file = s.files.get(rest === '' ? 'index.html' : rest);
  if (file === undefined) return text(res, 404, 'not found');
  return sendFile(res, file, req.method === 'HEAD');
}

/** handleCall answers POST TOKEN/api/call/NAME with the IpcResult of that call. */
async function handleCall(
  backend: StateSource,
  name: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  if (req.method !== 'POST') return text(res, 405, 'calls are POST');
  if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) return text(res, 415, 'calls are JSON');
  const body = await readBody(req);
  if (body === null) return text(res, 413, `request bodies are limited to ${LIMITS.bodyBytes} bytes`);
  let arg: unknown;
  try {
    arg = body.length === 0 ? null : ((JSON.parse(body.toString('utf8')) as { arg?: unknown } | null)?.arg ?? null);
  } catch {
    return json(res, 200, { ok: false, error: { code: 'bad-request', message: 'the request body is not JSON' } });
  }
  return json(res, 200, await dispatchCall(backend.handlers, name, arg, toProblem));
}

/** openStream streams `event: state` on GET TOKEN/api/events until the page goes away. */
function openStream(s: Session, req: IncomingMessage, res: ServerResponse): void {
  if (s.streams.size >= LIMITS.maxStreams) return text(res, 503, 'too many windows are open');
  res.writeHead(200, {
    ...SECURITY_HEADERS,
    'Content-Type': 'text/event-stream; charset=utf-8',
    Connection: 'keep-alive',
  });
  const send = (state: AppState): void => {
    if (res.writableLength > LIMITS.backlogBytes) {
      res.destroy();
      return;
    }
    res.write(`event: state\ndata: ${JSON.stringify(state)}\n\n`);
  };
  send(s.backend.current());
  s.streams.add(res);
  const off = s.backend.onState(send);
  const beat = setInterval(() => res.write(': heartbeat\n\n'), LIMITS.heartbeatMs);
  req.socket.setTimeout(0);
  res.once('close', () => {
    off();
    clearInterval(beat);
    s.streams.delete(res);
  });
}

function readBody(req: IncomingMessage): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (!Number.isFinite(declared) || declared > LIMITS.bodyBytes) {
      resolve(null);
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > LIMITS.bodyBytes) {
        resolve(null);
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function sendFile(res: ServerResponse, f: StaticFile, headOnly: boolean): void {
  res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': f.type, 'Content-Length': f.body.length });
  res.end(headOnly ? undefined : f.body);
}

function json(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
}

function text(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(message) + 1,
  });
  res.end(`${message}\n`);
}
