// The browser fallback (`warren ui`): serves the same renderer as the Electron app on
// 127.0.0.1 and bridges the IPC schema over HTTP: POST /SCOPE/api/call/NAME with {"arg": ...}
// answers an IpcResult, GET /SCOPE/api/events streams `event: state` (the whole AppState, first
// at once, then after every change) as server-sent events. A browser gets its session at
// /open: a one-time code (codes.ts), by GET ?code= or by a form POST, buys the session cookie
// that every request under /SCOPE/ must carry (guard.ts). Plain node:http; every request is
// checked by guard.ts first and bounded in size.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AppState } from '../../src-shared/wire/app-state.js';
import { dispatchCall, type IpcHandlers } from '../../src-shared/wire/ipc-schema.js';
import { toProblem } from '../app-backend.js';
import { OneTimeCodes, type CodeEnd } from './codes.js';
import {
  cookieValues,
  hostAllowed,
  newSecret,
  openerOriginAllowed,
  originAllowed,
  SECURITY_HEADERS,
  secretMatches,
  SESSION_COOKIE,
  sessionCookie,
  splitPath,
} from './guard.js';
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
}

/** WebUi is a running server. */
export interface WebUi {
  /** origin is http://127.0.0.1:PORT. */
  origin: string;
  port: number;
  /** appUrl is the window's address: it opens only with the session cookie. */
  appUrl: string;
  /** oneTimeCode mints a code for /open that works once, within ttlMs (codes.ts). */
  oneTimeCode(ttlMs: number, onEnd?: (end: CodeEnd) => void): string;
  close(): Promise<void>;
}

/** OPEN_PATH is where a one-time code buys the session: GET with ?code=, or a form POST. */
export const OPEN_PATH = '/open';

/** oneTimeUrl is the address that redeems code with a plain GET (for a person to paste). */
export function oneTimeUrl(ui: Pick<WebUi, 'origin'>, code: string): string {
  return `${ui.origin}${OPEN_PATH}?code=${code}`;
}

const LIMITS = {
  bodyBytes: 64 * 1024,
  formBytes: 1024,
  maxStreams: 8,
  backlogBytes: 8 * 1024 * 1024,
  heartbeatMs: 15_000,
};

/** Session is what one running server answers with. port is known once it listens. */
interface Session {
  backend: StateSource;
  files: Map<string, StaticFile>;
  /** scope is the window's path segment; secret is the session cookie's value. */
  scope: string;
  secret: string;
  codes: OneTimeCodes;
  streams: Set<ServerResponse>;
  port: number;
}

/** startWebUi listens on 127.0.0.1 and serves until close(). */
export async function startWebUi(opts: WebUiOptions): Promise<WebUi> {
  const files = loadStaticFiles(opts.rendererDir);
  const session: Session = {
    backend: opts.backend,
    files,
    // 128 bits: the scope needs only to be unguessable, not secret (see guard.ts).
    scope: newSecret(16),
    secret: newSecret(),
    codes: new OneTimeCodes(),
    streams: new Set(),
    port: 0,
  };
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
  const origin = `http://127.0.0.1:${port}`;
  return {
    origin,
    port,
    appUrl: `${origin}/${session.scope}/`,
    oneTimeCode: (ttlMs, onEnd) => session.codes.mint(ttlMs, onEnd),
    close() {
      closed ??= new Promise<void>((resolve) => {
        session.codes.closeAll();
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

/** handle checks a request (guard.ts: Host, Origin, scope and session cookie) and routes it. */
async function handle(s: Session, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (!hostAllowed(req.headers.host, s.port))
    return text(res, 403, 'This server only answers to 127.0.0.1 and localhost.');
  if ((req.url ?? '/').split('?', 1)[0] === OPEN_PATH) return handleOpen(s, req, res);
  if (!originAllowed(req.headers.origin, s.port) || req.headers['sec-fetch-site'] === 'cross-site') {
    return text(res, 403, 'Requests from other sites are refused.');
  }
  const parts = splitPath(req.url ?? '/');
  // Any one of the cookies of our name may be ours: a page on another port of this host can
  // add one of the same name (RFC 6265 §8.6), and that must not lock the window out.
  const signedIn = cookieValues(req.headers.cookie, SESSION_COOKIE).some((v) => secretMatches(v, s.secret));
  if (parts === null || !secretMatches(parts.scope, s.scope) || !signedIn) {
    return text(
      res,
      403,
      'This browser has no session for this window. Open the one-time address that `warren ui` printed, or start `warren ui` again.',
    );
  }
  const { rest } = parts;
  if (rest.startsWith('api/call/')) return handleCall(s.backend, rest.slice('api/call/'.length), req, res);
  if (req.method !== 'GET' && req.method !== 'HEAD') return text(res, 405, 'only GET here');
  if (rest === 'api/events') return openStream(s, req, res);
  const file = s.files.get(rest === '' ? 'index.html' : rest);
  if (file === undefined) return text(res, 404, 'not found');
  return sendFile(res, file, req.method === 'HEAD');
}

/**
 * handleOpen redeems a one-time code for the session cookie. The code comes in the query of a
 * GET (an address a person pastes) or in the form body of a POST (the opener file, so that no
 * URL carries it). The answer is a page that moves on to the window itself rather than a
 * redirect: a browser does not send a SameSite=Strict cookie on a redirect that a request
 * from another site started (RFC 6265bis, "same-site" requests; the opener's POST comes from a
 * file:// page, which counts as another site), and it does on a navigation this page starts.
 */
async function handleOpen(s: Session, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (!openerOriginAllowed(req.headers.origin, s.port)) return text(res, 403, 'Requests from other sites are refused.');
  // A prefetch or prerender of the pasted address would spend the code before the person's
  // own navigation (Fetch's Sec-Purpose header).
  if (/prefetch/i.test(String(req.headers['sec-purpose'] ?? req.headers.purpose ?? ''))) {
    return text(res, 503, 'not for prefetching');
  }
  let code: string | null;
  if (req.method === 'GET') {
    code = new URL(req.url ?? '/', 'http://127.0.0.1').searchParams.get('code');
  } else if (req.method === 'POST') {
    if (!/^application\/x-www-form-urlencoded\b/i.test(req.headers['content-type'] ?? ''))
      return text(res, 415, 'the code comes as a form');
    const body = await readBody(req, LIMITS.formBytes);
    if (body === null) return text(res, 413, 'the form is too large');
    code = new URLSearchParams(body.toString('utf8')).get('code');
  } else {
    return text(res, 405, 'GET or POST here');
  }
  if (code === null || !s.codes.redeem(code)) {
    return text(
      res,
      403,
      'This one-time address has been used or has expired. Start `warren ui` again for a new one. ' +
        'If you did not use it yourself, someone else did: stop `warren ui` (Ctrl-C), which ends every session.',
    );
  }
  const app = `/${s.scope}/`;
  const page =
    `<!doctype html><html lang="en"><head><meta charset="utf-8">` +
    `<meta http-equiv="refresh" content="0; url=${app}"><title>Opening Warren…</title></head>` +
    `<body><p><a href="${app}">Open Warren</a></p></body></html>`;
  res.writeHead(200, {
    ...SECURITY_HEADERS,
    'Set-Cookie': sessionCookie(s.secret, s.scope),
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Length': Buffer.byteLength(page),
  });
  res.end(page);
}

/** handleCall answers POST /SCOPE/api/call/NAME with the IpcResult of that call. */
async function handleCall(
  backend: StateSource,
  name: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  if (req.method !== 'POST') return text(res, 405, 'calls are POST');
  if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) return text(res, 415, 'calls are JSON');
  const body = await readBody(req, LIMITS.bodyBytes);
  if (body === null) return text(res, 413, `request bodies are limited to ${LIMITS.bodyBytes} bytes`);
  let arg: unknown;
  try {
    arg = body.length === 0 ? null : ((JSON.parse(body.toString('utf8')) as { arg?: unknown } | null)?.arg ?? null);
  } catch {
    return json(res, 200, { ok: false, error: { code: 'bad-request', message: 'the request body is not JSON' } });
  }
  return json(res, 200, await dispatchCall(backend.handlers, name, arg, toProblem));
}

/** openStream streams `event: state` on GET /SCOPE/api/events until the page goes away. */
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

function readBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (!Number.isFinite(declared) || declared > limit) {
      resolve(null);
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
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
