// `warren-coordinator serve`: flags to ServeOptions, then run until SIGTERM or SIGINT.
import type { RelayInfo } from '../../../src-shared/wire/control.js';
import { RELAY_REGION } from '../../../src-shared/wire/nat-relay.js';
import { createLogger, MAX_VERBOSITY } from '../../../src-shared/lib/log.js';
import { parseNetwork } from '../store/allocate.js';
import {
  bool,
  parse,
  parseHostPort,
  str,
  UsageError,
  type CliIo,
  type Parsed,
} from '../../../src-shared/lib/cli-args.js';
import { parseDuration } from '../api/duration.js';
import { concreteIp, MAX_RELAYS, parseRelayFlag } from '../nat/config.js';
import { parseDnsName } from '../policy/names.js';
import { startCoordinator, type ServeOptions } from '../server/server.js';
import { limitHeapGrowth } from '../server/heap-growth.js';
import { storeUrlProblem } from '../store/open-store.js';
import { loadOidcConfig, OidcConfigError } from '../oidc/config.js';
import { coordinatorUrlProblem } from '../../../src-shared/lib/coordinator-url.js';
import { defaultCountryDb, loadCountryDb, type CountryDb } from '../geoip/geoip.js';
import { GeoIpFileError } from '../geoip/legacy-country.js';

/** SERVE_USAGE is the synopsis of serve. */
export const SERVE_USAGE = `warren-coordinator serve --data DIR [--store postgres://USER@HOST:PORT/DB [--advertise-url URL]] --listen HOST:PORT [--tls-cert FILE --tls-key FILE]
    [--ephemeral-timeout 10m] [--network 100.64.0.0/10] [--zone warren.internal] [--max-watchers N] [-v 0-5]
    [--udp HOST:PORT] [--public-ip IP [--public-ip IP6]] [[--relay-tcp HOST:PORT] [--relay-region REGION] | --no-relay] [--relay NAME,udp=IP:PORT,tcp=IP:PORT[,region=REGION] ...]
    [--metrics-listen HOST:PORT] [--console] [--oidc FILE] [--geoip FILE[,FILE6]]
    (HOST and IP of either family; IPv6 in brackets with a port: [2001:db8::7]:8443)`;

/** parseListen reads HOST:PORT ("127.0.0.1:8443", "[::1]:8443", "0.0.0.0:0") of flag. */
export function parseListen(text: string, flag = '--listen'): { host: string; port: number } {
  const r = parseHostPort(text, '127.0.0.1:8443 or [::]:8443');
  if ('problem' in r) throw new UsageError(`${flag} ${r.problem}`);
  return r;
}

/** serveOptions turns serve's flags into options (the logger writes to io.stderr). */
export function serveOptions(argv: string[], io: CliIo): ServeOptions {
  const p = parse(
    argv,
    {
      data: { type: 'string' },
      listen: { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'ephemeral-timeout': { type: 'string' },
      network: { type: 'string' },
      zone: { type: 'string' },
      'max-watchers': { type: 'string' },
      v: { type: 'string', short: 'v' },
      udp: { type: 'string' },
      'public-ip': { type: 'string', multiple: true },
      'relay-tcp': { type: 'string' },
      'no-relay': { type: 'boolean' },
      'relay-region': { type: 'string' },
      relay: { type: 'string', multiple: true },
      'metrics-listen': { type: 'string' },
      console: { type: 'boolean' },
      store: { type: 'string' },
      oidc: { type: 'string' },
      'advertise-url': { type: 'string' },
      geoip: { type: 'string' },
    },
    { min: 0, max: 0 },
  );
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
  if (mw !== undefined && (!/^[0-9]{1,6}$/.test(mw) || Number(mw) < 1))
    throw new UsageError('--max-watchers must be a whole number from 1');
  const nat = natOptions(p);
  const metricsText = str(p, 'metrics-listen');
  const metricsListen = metricsText !== undefined ? parseListen(metricsText, '--metrics-listen') : undefined;
  const v = str(p, 'v') ?? '1';
  if (!/^[0-9]$/.test(v) || Number(v) > MAX_VERBOSITY) throw new UsageError(`-v must be 0 to ${MAX_VERBOSITY}`);
  const store = str(p, 'store');
  const storeProblem = store !== undefined ? storeUrlProblem(store) : null;
  if (storeProblem !== null) throw new UsageError(`--store ${storeProblem}`);
  const advertiseUrl = advertiseUrlOf(p, store);
  return {
    dataDir,
    ...(store !== undefined ? { store } : {}),
    ...(advertiseUrl !== undefined ? { advertiseUrl } : {}),
    host,
    port,
    ephemeralTimeoutMs: timeout,
    network,
    zone,
    ...(cert !== undefined && key !== undefined ? { tls: { certFile: cert, keyFile: key } } : {}),
    ...(mw !== undefined ? { maxWatchers: Number(mw) } : {}),
    ...(metricsListen ? { metricsListen } : {}),
    ...(bool(p, 'console') ? { console: {} } : {}),
    ...oidcOption(str(p, 'oidc')),
    geoip: geoipOption(str(p, 'geoip')),
    ...nat,
    log: createLogger(Number(v), io.stderr),
  };
}

/** advertiseUrlOf reads --advertise-url: the http(s) base URL helpers reach this coordinator
 * at, which only several coordinators on one PostgreSQL database need. */
function advertiseUrlOf(p: Parsed, store: string | undefined): string | undefined {
  const text = str(p, 'advertise-url');
  if (text === undefined) return undefined;
  if (store === undefined)
    throw new UsageError(
      '--advertise-url is for several coordinators on one PostgreSQL database (--store postgres://...); SQLite in --data DIR serves one coordinator, which helpers reach at the URL they enrolled with',
    );
  const problem = coordinatorUrlProblem(text);
  if (problem !== null) throw new UsageError(`--advertise-url ${problem}`);
  return text.replace(/\/+$/, '');
}

/** natOptions reads the UDP port, public address and relay flags. */
function natOptions(p: Parsed): Pick<ServeOptions, 'udp' | 'publicIp' | 'publicIp6' | 'relay' | 'externalRelays'> {
  const udpText = str(p, 'udp');
  const udp = udpText !== undefined ? parseListen(udpText, '--udp') : undefined;
  const { publicIp, publicIp6 } = publicIps((p.values['public-ip'] as unknown as string[] | undefined) ?? []);
  const tcpText = str(p, 'relay-tcp');
  const noRelay = bool(p, 'no-relay');
  if (noRelay && tcpText !== undefined)
    throw new UsageError("--relay-tcp is the embedded relay's TCP listener; it cannot go with --no-relay");
  const tcp = tcpText !== undefined ? parseListen(tcpText, '--relay-tcp') : undefined;
  const region = str(p, 'relay-region');
  if (noRelay && region !== undefined)
    throw new UsageError("--relay-region is the embedded relay's region; it cannot go with --no-relay");
  if (region !== undefined && !RELAY_REGION.test(region))
    throw new UsageError(
      `--relay-region ${JSON.stringify(region.slice(0, 40))}: a region is 1-32 letters, digits, "_", "." or "-", starting with a letter or digit (like eu-west)`,
    );
  const relayTexts = p.values.relay as unknown as string[] | undefined;
  const externalRelays: RelayInfo[] = [];
  for (const text of relayTexts ?? []) {
    const r = parseRelayFlag(text);
    if ('problem' in r) throw new UsageError(`--relay ${JSON.stringify(text.slice(0, 80))}: ${r.problem}`);
    if (externalRelays.some((x) => x.name === r.name))
      throw new UsageError(`--relay: the name ${r.name} is given twice`);
    externalRelays.push(r);
  }
  if (externalRelays.length > MAX_RELAYS) throw new UsageError(`--relay: at most ${MAX_RELAYS} relays`);
  return {
    ...(udp ? { udp } : {}),
    ...(publicIp !== undefined ? { publicIp } : {}),
    ...(publicIp6 !== undefined ? { publicIp6 } : {}),
    relay: noRelay ? null : { ...(tcp ? { tcp } : {}), ...(region !== undefined ? { region } : {}) },
    externalRelays,
  };
}

/** runServe starts the server and resolves with the exit code once a signal stopped it. */
export async function runServe(argv: string[], io: CliIo): Promise<number> {
  const opts = serveOptions(argv, io);
  const growth = limitHeapGrowth();
  opts.log.info(`heap growth between full collections: ${growth === null ? "V8's own" : `${growth}%`}`);
  // Everything the coordinator creates in its data dir is for its owner only.
  process.umask(0o077);
  const running = await startCoordinator(opts);
  return new Promise((resolve) => {
    const stop = (sig: string): void => {
      opts.log.info(`${sig}: shutting down`);
      running.close().then(
        () => resolve(0),
        (e: Error) => {
          opts.log.error(`shutdown failed: ${e.message}`);
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}

/** oidcOption reads the identity providers' file (oidc/config.ts); a problem in it stops the
 * start, while a provider that cannot be reached only disables signing in with it. */
function oidcOption(file: string | undefined): Pick<ServeOptions, 'oidc'> {
  if (file === undefined) return {};
  try {
    return { oidc: { config: loadOidcConfig(file) } };
  } catch (e) {
    if (e instanceof OidcConfigError) throw new UsageError(`--oidc: ${e.message}`);
    throw e;
  }
}

/** publicIps reads every --public-ip (each may be "IPv4,IPv6"): at most one address of each
 * family, so a dual-stack coordinator names its UDP port (and relay TCP port) to IPv4-only and
 * IPv6-only systems alike. publicIp is the IPv4 one when there is one (the map field old helpers
 * read), publicIp6 the IPv6 one beside it. */
function publicIps(texts: string[]): { publicIp?: string; publicIp6?: string } {
  const ips: string[] = [];
  for (const text of texts.flatMap((t) => t.split(','))) {
    const t = text.trim();
    const ip = concreteIp(t);
    // An IPv4 address must be written as it will appear in maps (no leading zeros).
    if (ip === null || (!t.includes(':') && ip !== t))
      throw new UsageError(
        `--public-ip ${JSON.stringify(t.slice(0, 60))} is not one IPv4 or IPv6 address (like 203.0.113.7 or 2001:db8::7)`,
      );
    if (ips.some((x) => x.includes(':') === ip.includes(':')))
      throw new UsageError(
        `--public-ip: two ${ip.includes(':') ? 'IPv6' : 'IPv4'} addresses (${ips.find((x) => x.includes(':') === ip.includes(':'))} and ${ip}); give at most one IPv4 and one IPv6 address`,
      );
    ips.push(ip);
  }
  const v4 = ips.find((x) => !x.includes(':'));
  const v6 = ips.find((x) => x.includes(':'));
  if (v4 !== undefined) return { publicIp: v4, ...(v6 !== undefined ? { publicIp6: v6 } : {}) };
  return v6 !== undefined ? { publicIp: v6 } : {};
}

/** geoipOption loads the country database once, before anything is opened: the files of
 * --geoip FILE[,FILE6], else Debian's geoip-database files when installed (else none). A file
 * that is not a legacy country database stops the start. */
function geoipOption(text: string | undefined): CountryDb | null {
  try {
    if (text === undefined) return defaultCountryDb();
    return loadCountryDb(text.split(',').map((f) => f.trim()));
  } catch (e) {
    if (e instanceof GeoIpFileError)
      throw new UsageError(
        `--geoip: ${e.message}${text === undefined ? " (the default is Debian's geoip-database files; give --geoip FILE[,FILE6] for others)" : ''}`,
      );
    throw e;
  }
}
