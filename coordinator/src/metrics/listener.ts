// The unauthenticated metrics listener (`serve --metrics-listen ADDR:PORT`): GET /metrics only,
// on its own address so that a Prometheus server scrapes without the admin token, and that
// address can be kept to a management network. Nothing else is served there.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../../src-shared/lib/log.js';
import { CONTROL_PATHS } from '../../../src-shared/wire/control.js';
import type { CoordinatorMetrics } from './metrics.js';

/** MAX_METRICS_CONNECTIONS: scrapers are few; the bound keeps the listener cheap to abuse. */
const MAX_METRICS_CONNECTIONS = 32;

/** MetricsListener is a running listener; url is http://HOST:PORT/metrics. */
export interface MetricsListener {
  url: string;
  close(): Promise<void>;
}

/** startMetricsListener serves metrics on host:port (port 0 picks a free one). */
export async function startMetricsListener(
  { host, port }: { host: string; port: number },
  metrics: CoordinatorMetrics,
  log: Logger,
): Promise<MetricsListener> {
  const server = createServer((req, res) => void serve(metrics, log, req, res));
  server.headersTimeout = 10_000;
  server.requestTimeout = 15_000;
  server.maxHeadersCount = 32;
  server.maxConnections = MAX_METRICS_CONNECTIONS;
  await new Promise<void>((resolve, reject) => {
    const onError = (e: Error): void => reject(new Error(`cannot listen for metrics on ${host}:${port}: ${e.message}`));
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  const shown = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '::1' : host;
  const url = `http://${shown.includes(':') ? `[${shown}]` : shown}:${bound}${CONTROL_PATHS.metrics}`;
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
  metrics: CoordinatorMetrics,
  log: Logger,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const path = (req.url ?? '/').split('?', 1)[0];
  if (path !== CONTROL_PATHS.metrics) return plain(res, 404, `only ${CONTROL_PATHS.metrics} is served here\n`);
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
    plain(res, 500, 'the metrics could not be collected; see the coordinator log\n');
  }
}

function plain(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
