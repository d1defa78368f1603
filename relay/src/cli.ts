// `warren-relay`: flags to startRelay options, then relay until SIGTERM or SIGINT. Exit codes
// as the coordinator's: 0 ok, 1 failed (e.g. the port is taken, the key file is unreadable), 2 usage.
import { readFileSync, statSync } from 'node:fs';
import { createLogger, DEFAULT_VERBOSITY, MAX_VERBOSITY } from '../../src-shared/lib/log.js';
import { EXIT, parse, parseHostPort, str, UsageError, type CliIo } from '../../src-shared/lib/cli-args.js';
import { ED25519 } from '../../src-shared/lib/ed25519.js';
import { DEFAULT_RELAY_NAME } from './server.js';
import { startRelay } from './sockets.js';
import { DEFAULT_RELAY_REGION, RELAY_NAME, RELAY_REGION } from '../../src-shared/wire/nat-relay.js';
import { NAT_KEY_BYTES } from '../../src-shared/lib/nat-keys.js';
import type { Logger } from '../../src-shared/lib/log.js';

/** DEFAULT_RELAY_REGION is a relay's region unless `--region` says otherwise. */
export { DEFAULT_RELAY_REGION };

/** RELAY_USAGE is the help text. */
export const RELAY_USAGE = `usage: warren-relay --coordinator-key BASE64 --relay-key-file FILE [--name NAME] [--region REGION] [--udp HOST:PORT|off] [--tcp HOST:PORT|off] [-v 0-5]

Forwards WireGuard packets between Warren systems that cannot reach each other directly.
Clients register with a token their coordinator signed and MACed for this relay; the relay
only needs the coordinator's public key ("publicKey" in GET /v1/info of the coordinator)
and the key it shares with the coordinator.

  --coordinator-key BASE64  the coordinator's Ed25519 public key (32 bytes, base64)
  --relay-key-file FILE     a file holding this relay's key (base64, 32 bytes), as printed by
                            warren-coordinator relay-key NAME on the coordinator; keep it
                            readable by the relay's user only
  --name NAME               this relay's name, exactly as the coordinator lists it
                            (warren-coordinator serve --relay NAME,...; default ${DEFAULT_RELAY_NAME}):
                            clients sign their registrations for that name
  --region REGION           where this relay runs (1-32 of A-Z a-z 0-9 _ . -; default
                            ${DEFAULT_RELAY_REGION}), told to systems that probe it; list the same
                            on the coordinator (--relay NAME,...,region=REGION)
  --udp HOST:PORT           UDP address (default 0.0.0.0:3478; [::]:3478 for IPv6 too), or off
  --tcp HOST:PORT           TCP address (default 0.0.0.0:443), or off
  -v N                      log level 0-5 (default ${DEFAULT_VERBOSITY}); 2 logs each registration
See docs/relay.md.
`;

/** RelayArgs are the parsed flags. */
export interface RelayArgs {
  coordinatorKey: Buffer;
  relayKeyFile: string;
  name: string;
  region: string;
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
      'relay-key-file': { type: 'string' },
      name: { type: 'string' },
      region: { type: 'string' },
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
  const relayKeyFile = str(p, 'relay-key-file');
  if (relayKeyFile === undefined)
    throw new UsageError('--relay-key-file FILE is required (warren-coordinator relay-key NAME prints the key)');
  const name = str(p, 'name') ?? DEFAULT_RELAY_NAME;
  if (!RELAY_NAME.test(name)) throw new UsageError('--name must be 1-64 characters of A-Z a-z 0-9 _ . -');
  const region = str(p, 'region') ?? DEFAULT_RELAY_REGION;
  if (!RELAY_REGION.test(region))
    throw new UsageError('--region must be 1-32 characters of A-Z a-z 0-9 _ . - (starting with a letter or digit)');
  const udp = listenFlag('udp', str(p, 'udp') ?? '0.0.0.0:3478');
  const tcp = listenFlag('tcp', str(p, 'tcp') ?? '0.0.0.0:443');
  if (udp === undefined && tcp === undefined)
    throw new UsageError('--udp and --tcp are both off: nothing to listen on');
  const v = str(p, 'v') ?? String(DEFAULT_VERBOSITY);
  if (!/^[0-9]$/.test(v) || Number(v) > MAX_VERBOSITY) throw new UsageError(`-v must be 0 to ${MAX_VERBOSITY}`);
  return { coordinatorKey, relayKeyFile, name, region, udp, tcp, verbosity: Number(v) };
}

/** readRelayKey reads the key file: base64 of NAT_KEY_BYTES bytes, surrounding whitespace
 * allowed. The key is never taken on the command line, where other users could read it
 * (/proc/PID/cmdline). A file others may read is used, with a warning. */
export function readRelayKey(file: string, log: Logger): Buffer {
  let text: string;
  let mode: number;
  try {
    const st = statSync(file);
    if (st.size > 1024) throw new Error('it is longer than a key');
    mode = st.mode;
    text = readFileSync(file, 'utf8').trim();
  } catch (e) {
    throw new Error(`cannot read the relay key file ${file}: ${(e as Error).message}`);
  }
  const key = Buffer.from(text, 'base64');
  if (key.length !== NAT_KEY_BYTES || key.toString('base64') !== text)
    throw new Error(`${file} does not hold a relay key (base64 of ${NAT_KEY_BYTES} bytes)`);
  if ((mode & 0o077) !== 0) log.warn(`the relay key file ${file} is open to group or others; chmod 600 it`);
  return key;
}

function listenFlag(name: 'udp' | 'tcp', text: string): string | undefined {
  if (text === 'off') return undefined;
  const a = parseHostPort(text);
  if ('problem' in a) throw new UsageError(`--${name}: ${a.problem}`);
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
    io.stderr.write(`warren-relay: ${e.message}\nRun 'warren-relay --help' for usage.\n`);
    return EXIT.usage;
  }
  const log = createLogger(args.verbosity, io.stderr);
  let running;
  try {
    running = await startRelay({
      coordinatorKey: args.coordinatorKey,
      relayKey: readRelayKey(args.relayKeyFile, log),
      log,
      name: args.name,
      region: args.region,
      ...(args.udp !== undefined ? { udp: args.udp } : {}),
      ...(args.tcp !== undefined ? { tcp: args.tcp } : {}),
    });
  } catch (e) {
    io.stderr.write(`warren-relay: ${(e as Error).message}\n`);
    return EXIT.failure;
  }
  const r = running;
  const line = `warren-relay listening: udp ${shown(args.udp, r.udpPort)}, tcp ${shown(args.tcp, r.tcpPort)}`;
  const done = new Promise<number>((resolve) => {
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
  // Announced only once the handlers are in place: whoever waits for this line may signal at once.
  io.stdout.write(`${line}\n`);
  log.info(`${line} (as relay ${JSON.stringify(args.name)}, region ${args.region})`);
  return done;
}
