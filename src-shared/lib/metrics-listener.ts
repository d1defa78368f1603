// The unauthenticated metrics listener (`--metrics-listen ADDR:PORT` of warren-coordinator serve
// and of warren run): GET /metrics only, on its own address so that a Prometheus server scrapes
// without a token or the helper's local socket, and that address can be kept to a management
// network. Nothing else is served there, and nothing changes state: read-only by construction.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from './log.js';

/** METRICS_PATH is the one path served (Prometheus' default scrape path). */
export const METRICS_PATH = '/metrics';

/** MAX_METRICS_CONNECTIONS: scrapers are few; the bound keeps the listener cheap to abuse. */
const MAX_METRICS_CONNECTIONS = 32;

/** MetricsSource renders the metrics in the Prometheus text format. */
export interface MetricsSource {
  contentType: string;
  text(): Promise<string>;
}

/** MetricsListener is a running listener; url is http://HOST:PORT/metrics. */
export interface MetricsListener {
  url: string;
  close(): Promise<void>;
}

/** startMetricsListener serves metrics on host:port (port 0 picks a free one); program names
 * whose log to read when collecting fails ("the coordinator", "the helper"). */
export async function startMetricsListener(
  { host, port }: { host: string; port: number },
  metrics: MetricsSource,
  log: Logger,
  program = 'the program',
): Promise<MetricsListener> {
  const server = createServer((req, res) => void serve(metrics, log, program, req, res));
  server.headersTimeout = 10_000;
  server.requestTimeout = 15_000;
  server.maxHeadersCount = 32;
  server.maxConnections = MAX_METRICS_CONNECTIONS;
  await new Promise<void>((resolve, reject) => {
    const onError = (e: Error): void =>
      reject(new Error(`cannot listen for metrics on ${host}:${port}: ${e.message} (is another program using it?)`));
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  const shown = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '::1' : host;
  const url = `http://${shown.includes(':') ? `[${shown}]` : shown}:${bound}${METRICS_PATH}`;
  log.info(`metrics on ${url} (no authentication)`);
  return { url, close: () => closeServer(server) };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

async function serve(
  metrics: MetricsSource,
  log: Logger,
  program: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const path = (req.url ?? '/').split('?', 1)[0];
  if (path !== METRICS_PATH) return plain(res, 404, `only ${METRICS_PATH} is served here\n`);
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    return plain(res, 405, 'use GET\n');
  }
  try {
    const text = await metrics.text();
    res.writeHead(200, {
      'content-type': metrics.contentType,
      'content-length': Buffer.byteLength(text),
      'cache-control': 'no-store',
    });
    res.end(req.method === 'HEAD' ? undefined : text);
  } catch (e) {
    log.error(`metrics: ${(e as Error).stack ?? String(e)}`);
    plain(res, 500, `the metrics could not be collected; see the log of ${program}\n`);
  }
}

function plain(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
