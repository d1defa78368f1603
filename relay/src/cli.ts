// `warren-relay`: flags to startRelay options, then relay until SIGTERM or SIGINT. Exit codes
// as the coordinator's: 0 ok, 1 failed (e.g. the port is taken), 2 usage.
import { createLogger, DEFAULT_VERBOSITY, MAX_VERBOSITY } from '../../src-shared/lib/log.js';
import { EXIT, parse, parseHostPort, str, UsageError, type CliIo } from '../../src-shared/lib/cli-args.js';
import { ED25519 } from '../../src-shared/lib/ed25519.js';
import { DEFAULT_RELAY_NAME } from './server.js';
import { startRelay } from './sockets.js';
import { RELAY_NAME } from '../../src-shared/wire/nat-relay.js';

/** RELAY_USAGE is the help text. */
export const RELAY_USAGE = `usage: warren-relay --coordinator-key BASE64 [--name NAME] [--udp HOST:PORT|off] [--tcp HOST:PORT|off] [-v 0-5]

Forwards WireGuard packets between Warren systems that cannot reach each other directly.
Clients register with a token their coordinator signed; the relay only needs the
coordinator's public key: "publicKey" in GET /v1/info of the coordinator.

  --coordinator-key BASE64  the coordinator's Ed25519 public key (32 bytes, base64)
  --name NAME               this relay's name, exactly as the coordinator lists it
                            (warren-coordinator serve --relay NAME,...; default ${DEFAULT_RELAY_NAME}):
                            clients sign their registrations for that name
  --udp HOST:PORT           UDP address (default 0.0.0.0:3478; IPv4 only), or off
  --tcp HOST:PORT           TCP address (default 0.0.0.0:443), or off
  -v N                      log level 0-5 (default ${DEFAULT_VERBOSITY}); 2 logs each registration
See docs/relay.md.
`;

/** RelayArgs are the parsed flags. */
export interface RelayArgs {
  coordinatorKey: Buffer;
  name: string;
  udp: string | undefined;
  tcp: string | undefined;
  verbosity: number;
}

/** parseRelayArgs reads the command line, throwing UsageError for anything wrong. */
export function parseRelayArgs(argv: string[]): RelayArgs {
  const p = parse(
    argv,
    {
      'coordinator-key': { type: 'string' },
      name: { type: 'string' },
      udp: { type: 'string' },
      tcp: { type: 'string' },
      v: { type: 'string', short: 'v' },
    },
    { min: 0, max: 0 },
  );
  const keyText = str(p, 'coordinator-key');
  if (keyText === undefined) throw new UsageError('--coordinator-key BASE64 is required');
  const coordinatorKey = Buffer.from(keyText, 'base64');
  if (coordinatorKey.length !== ED25519.publicKey || coordinatorKey.toString('base64') !== keyText) {
    throw new UsageError(`--coordinator-key must be base64 of a ${ED25519.publicKey}-byte Ed25519 public key`);
  }
  const name = str(p, 'name') ?? DEFAULT_RELAY_NAME;
  if (!RELAY_NAME.test(name)) throw new UsageError('--name must be 1-64 characters of A-Z a-z 0-9 _ . -');
  const udp = listenFlag('udp', str(p, 'udp') ?? '0.0.0.0:3478');
  const tcp = listenFlag('tcp', str(p, 'tcp') ?? '0.0.0.0:443');
  if (udp === undefined && tcp === undefined)
    throw new UsageError('--udp and --tcp are both off: nothing to listen on');
  const v = str(p, 'v') ?? String(DEFAULT_VERBOSITY);
  if (!/^[0-9]$/.test(v) || Number(v) > MAX_VERBOSITY) throw new UsageError(`-v must be 0 to ${MAX_VERBOSITY}`);
  return { coordinatorKey, name, udp, tcp, verbosity: Number(v) };
}

function listenFlag(name: 'udp' | 'tcp', text: string): string | undefined {
  if (text === 'off') return undefined;
  const a = parseHostPort(text);
  if ('problem' in a) throw new UsageError(`--${name}: ${a.problem}`);
  if (name === 'udp' && a.host.includes(':'))
    throw new UsageError('--udp: the UDP socket is IPv4 only (use 0.0.0.0:PORT)');
  return text;
}

function shown(text: string | undefined, port: number | null): string {
  if (text === undefined || port === null) return 'off';
  return text.replace(/:[0-9]+$/, `:${port}`);
}

/** runRelayCli runs warren-relay and resolves with its exit code once a signal stopped it. */
export async function runRelayCli(argv: string[], io: CliIo): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.stdout.write(RELAY_USAGE);
    return EXIT.ok;
  }
  let args: RelayArgs;
  try {
    args = parseRelayArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.stderr.write(`warren-relay: ${e.message}\n\n${RELAY_USAGE}`);
    return EXIT.usage;
  }
  const log = createLogger(args.verbosity, io.stderr);
  let running;
  try {
    running = await startRelay({
      coordinatorKey: args.coordinatorKey,
      log,
      name: args.name,
      ...(args.udp !== undefined ? { udp: args.udp } : {}),
      ...(args.tcp !== undefined ? { tcp: args.tcp } : {}),
    });
  } catch (e) {
    io.stderr.write(`warren-relay: ${(e as Error).message}\n`);
    return EXIT.failure;
  }
  const r = running;
  const line = `warren-relay listening: udp ${shown(args.udp, r.udpPort)}, tcp ${shown(args.tcp, r.tcpPort)}`;
  io.stdout.write(`${line}\n`);
  log.info(`${line} (as relay ${JSON.stringify(args.name)})`);
  return new Promise((resolve) => {
    const stop = (sig: string): void => {
      log.info(`${sig}: shutting down`);
      const s = r.relay.stats();
      log.info(
        `relay: ${s.sessions} sessions, ${s.tcpConnections} tcp connections, ${s.forwarded} forwarded, dropped ${JSON.stringify(s.dropped)}`,
      );
      r.close().then(
        () => {
          log.info('stopped');
          resolve(EXIT.ok);
        },
        (e: Error) => {
          log.error(`shutdown failed: ${e.message}`);
          resolve(EXIT.failure);
        },
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
