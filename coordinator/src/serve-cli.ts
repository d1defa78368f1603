// `warren-coordinator serve`: flags to ServeOptions, then run until SIGTERM or SIGINT.
import { isIP } from 'node:net';
import { createLogger, MAX_VERBOSITY } from '../../helper/src/log.js';
import { parseNetwork } from './allocate.js';
import { parse, str, UsageError, type CliIo } from './cli-common.js';
import { parseDuration } from './duration.js';
import { parseDnsName } from './names.js';
import { startCoordinator, type ServeOptions } from './server.js';

/** SERVE_USAGE is the synopsis of serve. */
export const SERVE_USAGE = `warren-coordinator serve --data DIR --listen HOST:PORT [--tls-cert FILE --tls-key FILE]
    [--ephemeral-timeout 10m] [--network 100.64.0.0/10] [--zone warren.internal] [--max-watchers N] [-v 0-5]`;

/** parseListen reads HOST:PORT ("127.0.0.1:8443", "[::1]:8443", "0.0.0.0:0"). */
export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):([0-9]{1,5})$/.exec(text);
  const host = m?.[1] ?? m?.[2];
  if (!m || host === undefined || Number(m[3]) > 65535) throw new UsageError(`--listen ${JSON.stringify(text)} is not HOST:PORT (like 127.0.0.1:8443 or [::]:8443)`);
  if (isIP(host) === 0 && !/^[A-Za-z0-9.-]{1,253}$/.test(host)) throw new UsageError(`--listen: ${JSON.stringify(host)} is not an address or host name`);
  return { host, port: Number(m[3]) };
}

/** serveOptions turns serve's flags into options (the logger writes to io.stderr). */
export function serveOptions(argv: string[], io: CliIo): ServeOptions {
  const p = parse(argv, {
    data: { type: 'string' }, listen: { type: 'string' }, 'tls-cert': { type: 'string' }, 'tls-key': { type: 'string' },
    'ephemeral-timeout': { type: 'string' }, network: { type: 'string' }, zone: { type: 'string' },
    'max-watchers': { type: 'string' }, v: { type: 'string', short: 'v' },
  }, { min: 0, max: 0 });
  const dataDir = str(p, 'data');
  if (!dataDir) throw new UsageError('--data DIR is required');
  const listenText = str(p, 'listen');
  if (!listenText) throw new UsageError('--listen HOST:PORT is required');
  const { host, port } = parseListen(listenText);
  const cert = str(p, 'tls-cert');
  const key = str(p, 'tls-key');
  if ((cert === undefined) !== (key === undefined)) throw new UsageError('--tls-cert and --tls-key go together');
  const timeout = parseDuration(str(p, 'ephemeral-timeout') ?? '10m');
  if (typeof timeout === 'object') throw new UsageError(`--ephemeral-timeout: ${timeout.problem}`);
  const network = parseNetwork(str(p, 'network') ?? '100.64.0.0/10');
  if ('problem' in network) throw new UsageError(`--network: ${network.problem}`);
  const zone = parseDnsName(str(p, 'zone') ?? 'warren.internal');
  if (typeof zone === 'object') throw new UsageError(`--zone: ${zone.problem}`);
  const mw = str(p, 'max-watchers');
  if (mw !== undefined && (!/^[0-9]{1,6}$/.test(mw) || Number(mw) < 1)) throw new UsageError('--max-watchers must be a whole number from 1');
  const v = str(p, 'v') ?? '1';
  if (!/^[0-9]$/.test(v) || Number(v) > MAX_VERBOSITY) throw new UsageError(`-v must be 0 to ${MAX_VERBOSITY}`);
  return {
    dataDir, host, port, ephemeralTimeoutMs: timeout, network, zone,
    ...(cert !== undefined && key !== undefined ? { tls: { certFile: cert, keyFile: key } } : {}),
    ...(mw !== undefined ? { maxWatchers: Number(mw) } : {}),
    log: createLogger(Number(v), io.stderr),
  };
}

/** runServe starts the server and resolves with the exit code once a signal stopped it. */
export async function runServe(argv: string[], io: CliIo): Promise<number> {
  const opts = serveOptions(argv, io);
  // Everything the coordinator creates in its data dir is for its owner only.
  process.umask(0o077);
  const running = await startCoordinator(opts);
  return new Promise((resolve) => {
    const stop = (sig: string): void => {
      opts.log.info(`${sig}: shutting down`);
      running.close().then(() => resolve(0), (e: Error) => {
        opts.log.error(`shutdown failed: ${e.message}`);
        resolve(1);
      });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
