// The coordinator's HTTP(S) API server: bounds on headers, time and connections, the request
// target parsed once, and every refusal written as a control.ts error body.
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../../src-shared/lib/log.js';
import { ControlError } from '../http/errors.js';
import { sendError } from '../http/respond.js';
import type { RequestContext, Router } from '../http/router.js';
import { DEFAULT_MAX_WATCHERS, type ServeOptions } from './server.js';

/** startHttpServer serves router on the options' host and port and returns the server and its URL. */
export async function startHttpServer(
  opts: ServeOptions,
  router: Router,
  log: Logger,
): Promise<{ server: Server; url: string }> {
  const server = createApiServer(opts, router, log);
  await listen(server, opts.host, opts.port);
  return { server, url: serverUrl(opts, server) };
}

function remoteIp(req: IncomingMessage): string | null {
  const a = req.socket.remoteAddress;
  if (a === undefined) return null;
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

/** createApiServer makes the HTTP(S) server for router, with bounds on headers, time and connections. */
function createApiServer(opts: ServeOptions, router: Router, log: Logger): Server {
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    void serveRequest(router, log, req, res);
  };
  const server = opts.tls
    ? createHttpsServer({ cert: readFileSync(opts.tls.certFile), key: readFileSync(opts.tls.keyFile) }, handle)
    : createHttpServer(handle);
  server.headersTimeout = 15_000;
  server.requestTimeout = 30_000;
  server.maxHeadersCount = 64;
  server.maxConnections = (opts.maxWatchers ?? DEFAULT_MAX_WATCHERS) + 1024;
  return server;
}

/** serverUrl is the URL clients on this host reach the listening server at (a wildcard host becomes loopback). */
function serverUrl(opts: ServeOptions, server: Server): string {
  const addr = server.address() as AddressInfo;
  const host = opts.host === '0.0.0.0' || opts.host === '' ? '127.0.0.1' : opts.host === '::' ? '::1' : opts.host;
  return `${opts.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${addr.port}`;
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error): void => reject(new Error(`cannot listen on ${host}:${port}: ${e.message}`));
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

async function serveRequest(router: Router, log: Logger, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    const raw = req.url ?? '/';
    if (!raw.startsWith('/')) throw new ControlError('bad-request', 'the request target must be a path');
    const q = raw.indexOf('?');
    const path = q < 0 ? raw : raw.slice(0, q);
    const ctx: RequestContext = {
      req,
      res,
      params: {},
      path,
      query: new URLSearchParams(q < 0 ? '' : raw.slice(q + 1)),
      remoteIp: remoteIp(req),
    };
    const { handler, params } = router.match(req.method ?? 'GET', path);
    ctx.params = params;
    await handler(ctx);
  } catch (e) {
    if (e instanceof ControlError) {
      sendError(res, e, !req.complete);
      return;
    }
    log.error(`internal error on ${req.method} ${req.url?.slice(0, 200)}: ${(e as Error).stack ?? String(e)}`);
    sendError(
      res,
      new ControlError('internal', 'the coordinator failed to handle this request; see its log'),
      !req.complete,
    );
  }
}
