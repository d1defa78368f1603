// The coordinator server: opens the data dir, loads state, serves the HTTP(S) API, pushes maps,
// answers endpoint discovery and relays on its UDP port (nat/services.ts) and removes ephemeral
// systems that stay offline. startCoordinator is what `serve` runs and
// what the tests start in-process.
import type { Server } from 'node:http';
import { keyFingerprint } from '../../../src-shared/lib/fingerprint.js';
import { formatCidr, type Cidr } from '../../../src-shared/lib/ip/ipv4.js';
import { formatIpPrefix } from '../../../src-shared/lib/ip/addr.js';
import type { Logger } from '../../../src-shared/lib/log.js';
import { agentNonceCache, MachineKeys } from '../auth/agent-auth.js';
import { addAdminRoutes } from '../api/admin.js';
import { addAgentRoutes } from '../api/agent.js';
import { addNatRoutes } from '../api/nat.js';
import { removeServeInfo, writeServeInfo } from '../store/data-dir.js';
import { formatDuration } from '../api/duration.js';
import { Router } from '../http/router.js';
import { sseFrame, WatchHub } from '../http/watch-hub.js';
import { MapPublisher, type Outgoing, type PublishedMap } from '../maps/publisher.js';
import { startLapseTimer, type LapseTimer } from '../maps/lapse-timer.js';
import { startNat, type NatOptions, type NatServices } from '../nat/services.js';
import { Relay } from '../../../relay/src/index.js';
import { Registry, type LiveSystem } from '../store/registry.js';
import type { SigningKey } from '../auth/signing.js';
import type { Store } from '../store/store.js';
import { PostgresStore } from '../store/postgres-store.js';
import type { Services } from '../api/services.js';
import { openState } from './open.js';
import type { RunningCoordinator, ServeOptions } from './serve-options.js';
import { SEEN_EVERY_MS, startMulti, type Multi, type MultiDeps } from './multi.js';
import { CoordinatorMetrics } from '../metrics/metrics.js';
import { startMetricsListener, type MetricsListener } from '../metrics/listener.js';
import { startHttpServer } from './http-server.js';
import { AuditLog } from '../store/audit.js';
import { addConsoleRoutes, ConsoleAuth } from '../console/routes.js';
import { ConsoleBundle, defaultBundleDir } from '../console/static.js';
import { OidcService } from '../oidc/service.js';
import { addLoginRoutes } from '../oidc/routes.js';
import { startRecheck, type TokenRecheck } from '../oidc/recheck.js';
import { NO_GEOIP_HINT } from '../geoip/geoip.js';

/** DEFAULT_MAX_WATCHERS stays under the usual 20,000 open files, leaving room for the rest. */
export const DEFAULT_MAX_WATCHERS = 16_000;

export type { RunningCoordinator, ServeOptions } from './serve-options.js';

/** checkNetwork keeps a data dir on the network (and so the addresses) it was created with. */
function checkNetwork(store: Store, network: Cidr, zone: string): void {
  const want = formatCidr(network);
  const stored = store.getMeta('network');
  if (stored !== null && stored !== want) {
    throw new Error(
      `this data dir was created with --network ${stored}; its systems have addresses there, so it cannot switch to ${want}`,
    );
  }
  if (stored === null) store.setMeta('network', want);
  store.setMeta('zone', zone);
}

/** startCoordinator starts everything; on failure it undoes what it opened. */
export async function startCoordinator(opts: ServeOptions): Promise<RunningCoordinator> {
  const now = opts.now ?? Date.now;
  const log = opts.log;
  const bundle = consoleBundle(opts);
  const { store, signingKey, adminToken, natKeys } = openState(opts.dataDir, opts.store, log);
  let multi: Multi | null = null;
  let server: Server | null = null;
  let nat: NatServices | null = null;
  let sweeper: NodeJS.Timeout | null = null;
  let metricsListener: MetricsListener | null = null;
  const hub = new WatchHub(opts.maxWatchers ?? DEFAULT_MAX_WATCHERS, now);
  const audit = new AuditLog(store, now, (e) => log.error(`cannot write the audit log: ${e.message}`));
  try {
    checkNetwork(store, opts.network, opts.zone);
    const machineKeys = new MachineKeys();
    let publisher: MapPublisher | null = null;
    const registry = registryFor(store, opts, hub, machineKeys, () => publisher, now);
    nat = await startNat(natOptions(opts), {
      registry,
      machineKeys,
      signingKey,
      keys: natKeys,
      log,
      now,
      createRelay: opts.createRelay ?? ((o) => new Relay(o)),
    });
    const metrics = new CoordinatorMetrics(registry, hub);
    publisher = publisherFor(registry, signingKey, hub, metrics, nat, log, now);
    const sv = servicesFor(opts, bundle, {
      audit,
      registry,
      publisher,
      hub,
      machineKeys,
      signingKey,
      adminToken,
      log,
      now,
      nat,
      metrics,
    });
    const { http, oidc } = await listen(opts, sv, bundle);
    server = http.server;
    if (store instanceof PostgresStore)
      multi = await startMulti(multiDeps(opts, store, registry, publisher, http.url, now));
    sweeper = sweepEphemeral(registry, opts.ephemeralTimeoutMs, now, log, multi !== null);
    if (opts.metricsListen) metricsListener = await startMetricsListener(opts.metricsListen, metrics, log);
    announce(opts, http.url, nat, registry, signingKey.publicKey, log);
    publisher.changed(null);
    audit.start();
    const close = closeOnce({
      lapses: startLapseTimer(registry, audit),
      ...(oidc ? { recheck: startRecheck(sv, oidc), oidc } : { recheck: null, oidc: null }),
      sweeper,
      publisher,
      registry,
      hub,
      server,
      nat,
      audit,
      metricsListener,
      multi,
      dataDir: opts.dataDir,
      log,
    });
    return {
      url: http.url,
      publicKey: signingKey.publicKey,
      adminToken,
      services: sv,
      udpPort: nat.udpPort,
      relayTcpPort: nat.relayTcpPort,
      metricsUrl: metricsListener?.url ?? null,
      close,
    };
  } catch (e) {
    await undoStart({ sweeper, metricsListener, multi, hub, server, nat, store });
    throw e;
  }
}

/** servicesFor completes what the routes share: the nonce cache, the console's sessions, the
 * identity providers' names and issuers (UserAuthentication's Authority). */
function servicesFor(
  opts: ServeOptions,
  bundle: ConsoleBundle | null,
  o: Omit<Services, 'nonces' | 'console' | 'authorities'>,
): Services {
  return {
    ...o,
    nonces: agentNonceCache(),
    ...(bundle ? { console: new ConsoleAuth(opts.tls !== undefined, o.adminToken, o.audit, o.now) } : {}),
    ...(opts.oidc ? { authorities: opts.oidc.config.providers.map((p) => ({ name: p.name, issuer: p.issuer })) } : {}),
  };
}

/** listen starts sign-in (--oidc) and the HTTP server with every route. */
async function listen(
  opts: ServeOptions,
  sv: Services,
  bundle: ConsoleBundle | null,
): Promise<{ http: Awaited<ReturnType<typeof startHttpServer>>; oidc: OidcService | undefined }> {
  const oidc = await oidcService(opts, sv.adminToken, sv.registry.store, sv.now);
  return { http: await startHttpServer(opts, routesFor(sv, bundle, oidc), sv.log), oidc };
}

/** oidcService is sign-in (--oidc), its providers discovered before the coordinator answers (a
 * failure only makes that provider unavailable), or undefined without --oidc. */
async function oidcService(
  opts: ServeOptions,
  adminToken: string,
  store: Store,
  now: () => number,
): Promise<OidcService | undefined> {
  if (!opts.oidc) return undefined;
  const oidc = new OidcService(opts.oidc.config, opts.log, adminToken, store, opts.oidc.seams);
  await oidc.providers.discoverAll(now());
  return oidc;
}

/** undoStart closes what a start that failed half-way had opened. */
async function undoStart(o: {
  sweeper: NodeJS.Timeout | null;
  metricsListener: MetricsListener | null;
  multi: Multi | null;
  hub: WatchHub;
  server: Server | null;
  nat: NatServices | null;
  store: Store;
}): Promise<void> {
  if (o.sweeper) clearInterval(o.sweeper);
  await o.multi?.close();
  await o.metricsListener?.close();
  o.hub.closeAll();
  o.server?.close();
  await o.nat?.close();
  o.store.close();
}

/** multiDeps: helpers reach this coordinator at --advertise-url, or else at the URL it listens
 * on when that names one address (not 0.0.0.0 or ::). */
function multiDeps(
  opts: ServeOptions,
  store: PostgresStore,
  registry: Registry,
  publisher: MapPublisher,
  url: string,
  now: () => number,
): MultiDeps {
  const concrete = opts.host !== '0.0.0.0' && opts.host !== '::';
  const advertiseUrl = opts.advertiseUrl ?? (concrete ? url : null);
  if (advertiseUrl === null)
    opts.log.warn(
      `listening on ${url}, which names no one address: give --advertise-url so helpers can fail over here`,
    );
  const seenEveryMs = Math.max(250, Math.min(SEEN_EVERY_MS, Math.floor(opts.ephemeralTimeoutMs / 4)));
  return { store, storeUrl: opts.store!, registry, publisher, advertiseUrl, seenEveryMs, log: opts.log, now };
}

/** publisherFor makes the map publisher: new maps go to the system's watch stream, and each
 * map and pass is counted in the metrics. */
function publisherFor(
  registry: Registry,
  signingKey: SigningKey,
  hub: WatchHub,
  metrics: CoordinatorMetrics,
  nat: NatServices,
  log: Logger,
  now: () => number,
): MapPublisher {
  const deliver = (s: LiveSystem, m: PublishedMap, out: Outgoing): void => {
    metrics.mapPublished();
    if (hub.sendMap(s.id, m.version, out) !== null) metrics.mapPushed();
  };
  const publisher = new MapPublisher(registry, signingKey, deliver, log, now, nat.mapFields);
  publisher.onPass = (ms) => metrics.mapPassDone(ms);
  publisher.onChange = () => hub.noteChange();
  // Streams, not online flags, say who watches: a helper's new stream can open before its old one closes.
  publisher.hasStream = (id) => hub.has(id);
  hub.renderFull = (id) => (registry.get(id) ? publisher.fullMap(registry.get(id)!) : null);
  return publisher;
}

/** registryFor makes the registry whose changes feed the publisher and end revoked systems' watch streams. */
function registryFor(
  store: Store,
  opts: ServeOptions,
  hub: WatchHub,
  machineKeys: MachineKeys,
  publisher: () => MapPublisher | null,
  now: () => number,
): Registry {
  const end = (id: string, reason: string): void => {
    hub.close(id, sseFrame({ type: 'revoked', reason }));
    machineKeys.forget(id);
  };
  const registry = new Registry(
    store,
    opts.network,
    opts.zone,
    {
      changed: (s, soft) => publisher()?.changed(s, soft),
      revoked: (s) => end(s.id, 'revoked by the admin'),
      removed: (s) => end(s.id, 'removed'),
    },
    now(),
    { countryDb: opts.geoip ?? null },
  );
  if (opts.geoip) opts.log.info(`country database for PublicIp: ${opts.geoip.describe}`);
  else opts.log.info(`no country database: policies naming Countries are refused (${NO_GEOIP_HINT})`);
  if (registry.network6Created)
    opts.log.info(`drew the network's IPv6 prefix ${formatIpPrefix(registry.network6)} (RFC 4193 unique local /48)`);
  return registry;
}

/** routesFor is the whole HTTP API: agent, NAT traversal and admin routes. */
function routesFor(sv: Services, bundle: ConsoleBundle | null, oidc: OidcService | undefined): Router {
  const router = new Router();
  if (bundle && sv.console) addConsoleRoutes(router, sv.console, sv.audit, bundle);
  addAgentRoutes(router, sv);
  addNatRoutes(router, sv);
  addAdminRoutes(router, sv);
  addLoginRoutes(router, sv, oidc);
  return router;
}

/** consoleBundle loads the web console's files for --console, before anything is opened, so
 * that a missing bundle is refused at once. */
function consoleBundle(opts: ServeOptions): ConsoleBundle | null {
  return opts.console ? ConsoleBundle.load(opts.console.bundleDir ?? defaultBundleDir()) : null;
}

/** announce writes serve.json (where everything listens, and the key) and logs the listening
 * line. The key is in both because people enrolling need it from the admin (docs/coordinator.md). */
function announce(
  opts: ServeOptions,
  url: string,
  nat: NatServices,
  registry: Registry,
  publicKey: string,
  log: Logger,
): void {
  const fingerprint = keyFingerprint(Buffer.from(publicKey, 'base64'));
  writeServeInfo(opts.dataDir, {
    url,
    pid: process.pid,
    udpPort: nat.udpPort,
    ...(nat.relayTcpPort !== null ? { relayTcpPort: nat.relayTcpPort } : {}),
    ...(opts.tls ? { tlsCert: opts.tls.certFile } : {}),
    publicKey,
    fingerprint,
    network: formatCidr(opts.network),
    network6: formatIpPrefix(registry.network6),
  });
  log.info(
    `listening on ${url}${opts.console ? ` (web console at ${url}/console/)` : ''} (network ${formatCidr(opts.network)} and ${formatIpPrefix(registry.network6)}, zone ${opts.zone}, ${registry.all().length} systems, map version ${registry.version}); coordinator key ${publicKey} (fingerprint ${fingerprint}): give it to people who enrol (warren enrol --coordinator-key KEY)`,
  );
}

/** natOptions: the UDP port defaults to the HTTP host and port; the embedded relay is on unless turned off. */
function natOptions(opts: ServeOptions): NatOptions {
  return {
    udp: opts.udp ?? { host: opts.host, port: opts.port },
    listenHost: opts.host,
    ...(opts.publicIp !== undefined ? { publicIp: opts.publicIp } : {}),
    ...(opts.publicIp6 !== undefined ? { publicIp6: opts.publicIp6 } : {}),
    relay: opts.relay === undefined ? {} : opts.relay,
    externalRelays: opts.externalRelays ?? [],
  };
}

/** sweepEphemeral removes ephemeral systems offline for longer than timeoutMs, checking a tenth
 * as often (1 s to 30 s). With other coordinators on the database (shared), a candidate may be
 * online at one of them, which keeps its last_seen current (multi.ts): the registry reloads
 * before it decides. */
function sweepEphemeral(
  registry: Registry,
  timeoutMs: number,
  now: () => number,
  log: Logger,
  shared: boolean,
): NodeJS.Timeout {
  const sweepEvery = Math.min(30_000, Math.max(1000, Math.floor(timeoutMs / 10)));
  const sweeper = setInterval(() => {
    if (shared && registry.expiredEphemeral(now(), timeoutMs).length > 0) registry.reload(now());
    for (const s of registry.expiredEphemeral(now(), timeoutMs)) {
      registry.remove(s);
      log.info(`removed ephemeral ${s.identity} (${s.name}): offline for more than ${formatDuration(timeoutMs)}`);
    }
  }, sweepEvery);
  sweeper.unref();
  return sweeper;
}

/** Opened is what a started coordinator has to stop. */
interface Opened {
  sweeper: NodeJS.Timeout;
  publisher: MapPublisher;
  lapses: LapseTimer;
  recheck: TokenRecheck | null;
  oidc: OidcService | null;
  registry: Registry;
  hub: WatchHub;
  server: Server;
  nat: NatServices;
  audit: AuditLog;
  metricsListener: MetricsListener | null;
  multi: Multi | null;
  dataDir: string;
  log: Logger;
}

/** closeOnce returns the coordinator's close: the first call stops everything, every call gets its promise. */
function closeOnce(o: Opened): () => Promise<void> {
  let closing: Promise<void> | null = null;
  return () => {
    closing ??= (async () => {
      clearInterval(o.sweeper);
      await o.multi?.close();
      o.publisher.stop();
      o.lapses.stop();
      o.recheck?.stop();
      o.oidc?.pending.close();
      await o.metricsListener?.close();
      // Closing streams marks systems offline; the stopped publisher pushes nothing more.
      o.hub.closeAll();
      await new Promise<void>((resolve) => {
        o.server.close(() => resolve());
        o.server.closeAllConnections();
      });
      // Discovery writes to the store (a new UDP mapping bumps the version): stop it first.
      await o.nat.close();
      o.audit.stop();
      o.registry.flushSoft();
      o.registry.store.close();
      removeServeInfo(o.dataDir, process.pid);
      o.log.info('stopped');
    })();
    return closing;
  };
}
