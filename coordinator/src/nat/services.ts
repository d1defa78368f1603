// The coordinator's NAT traversal services, started and stopped together: the UDP port
// (udp-port.ts) with endpoint discovery (discovery.ts), the embedded relay on that port and
// its optional TCP listener, and the map fields that tell helpers about them (config.ts).
import { createServer, type Server, type Socket } from 'node:net';
import type { RelayInfo } from '../../../src-shared/wire/control.js';
import { DEFAULT_RELAY_REGION } from '../../../src-shared/wire/nat-relay.js';
import type { Logger } from '../../../src-shared/lib/log.js';
import type { MachineKeys } from '../auth/agent-auth.js';
import { Discovery, type DiscoveryStats, type ReplyFn } from './discovery.js';
import { EMBEDDED_RELAY_NAME, concreteIp, natMapFields } from './config.js';
import type { MapNatFields } from '../maps/netmap.js';
import type { Registry } from '../store/registry.js';
import type { SigningKey } from '../auth/signing.js';
import type { NatKeys } from '../../../src-shared/lib/nat-keys.js';
import { UdpPort, type UdpPortStats } from './udp-port.js';

/** HostPort is a listening address. */
export interface HostPort {
  host: string;
  port: number;
}

/** EmbeddedRelay is the relay's API as the coordinator uses it (the Relay of relay/src/index.ts). */
export interface EmbeddedRelay {
  handleDatagram(msg: Buffer, ip: string, port: number, reply: ReplyFn): void;
  attachTcp(socket: Socket): void;
  stats(): RelayStats;
  close(): void;
}

/** RelayStats are the embedded relay's counters. */
export interface RelayStats {
  sessions: number;
  tcpConnections: number;
  forwarded: number;
  registrationsWaiting: number;
  dropped: Record<string, number>;
}

/** RelayFactory makes the embedded relay (server.ts passes the relay engine's constructor, relay/src/index.ts). */
export type RelayFactory = (opts: {
  coordinatorKey: Uint8Array;
  /** relayKey: the embedded relay's key (NatKeys.relayKey of its name), the MAC key of its tokens */
  relayKey: Uint8Array;
  log: Logger;
  now: () => number;
  name: string;
  /** region: what the relay answers probes with (RELAY_REGION) */
  region: string;
}) => EmbeddedRelay;

/** NatOptions are serve's NAT settings. */
export interface NatOptions {
  udp: HostPort;
  /** listenHost is the HTTP listener's host, the last fallback for the public address. */
  listenHost: string;
  publicIp?: string;
  /** publicIp6: the IPv6 address beside an IPv4 publicIp (both families reach the ports). */
  publicIp6?: string;
  /** relay: the embedded relay, or null for --no-relay; tcp is its optional TCP listener,
   * region where it runs (default DEFAULT_RELAY_REGION, as a warren-relay's). */
  relay: { tcp?: HostPort; region?: string } | null;
  externalRelays: readonly RelayInfo[];
}

/** NatStats are the counters of GET /v1/admin/stats `nat`. */
export interface NatStats {
  udpPort: number;
  relayTcpPort: number | null;
  udp: UdpPortStats;
  discovery: DiscoveryStats;
  relay: RelayStats | null;
}

/** NatServices are the running services. */
export interface NatServices {
  discovery: Discovery;
  relay: EmbeddedRelay | null;
  /** keys derives relay and discovery keys (the relay-token and discovery-key routes use it). */
  keys: NatKeys;
  udpPort: number;
  relayTcpPort: number | null;
  /** publicIp is the address maps name the coordinator's ports by (null: maps carry none). */
  publicIp: string | null;
  mapFields: MapNatFields;
  stats(): NatStats;
  close(): Promise<void>;
}

/** MAX_RELAY_TCP_CONNECTIONS bounds the relay's TCP listener (each connection is a file). */
export const MAX_RELAY_TCP_CONNECTIONS = 4096;

/** NatDeps are the coordinator parts the services use. */
export interface NatDeps {
  registry: Registry;
  machineKeys: MachineKeys;
  signingKey: SigningKey;
  keys: NatKeys;
  log: Logger;
  now: () => number;
  createRelay: RelayFactory;
}

const isLoopback = (host: string): boolean => /^127\./.test(host) || host === '::1' || host === 'localhost';
const fmt = (host: string, port: number): string => `${host.includes(':') ? `[${host}]` : host}:${port}`;

/** handlers makes what the UDP port hands datagrams to: discovery, and the relay unless it is off. */
function handlers(o: NatOptions, d: NatDeps): { discovery: Discovery; relay: EmbeddedRelay | null } {
  const discovery = new Discovery({
    registry: d.registry,
    machineKeys: d.machineKeys,
    signingKey: d.signingKey,
    keys: d.keys,
    log: d.log,
    now: d.now,
    recordLoopback: isLoopback(o.udp.host),
  });
  const relay = o.relay
    ? d.createRelay({
        coordinatorKey: Buffer.from(d.signingKey.publicKey, 'base64'),
        relayKey: d.keys.relayKey(EMBEDDED_RELAY_NAME),
        log: d.log,
        now: d.now,
        name: EMBEDDED_RELAY_NAME,
        region: o.relay.region ?? DEFAULT_RELAY_REGION,
      })
    : null;
  return { discovery, relay };
}

/** startNat opens the UDP port (and the relay's TCP listener); on failure it closes what it opened. */
export async function startNat(o: NatOptions, d: NatDeps): Promise<NatServices> {
  const { discovery, relay } = handlers(o, d);
  let udp: UdpPort | null = null;
  let tcp: Server | null = null;
  const tcpSockets = new Set<Socket>();
  try {
    udp = await UdpPort.open(o.udp.host, o.udp.port, discovery, relay, d.log);
    if (relay && o.relay?.tcp) tcp = await listenRelayTcp(o.relay.tcp, relay, tcpSockets, d.log);
  } catch (e) {
    relay?.close();
    discovery.close();
    await udp?.close();
    throw e;
  }
  const udpPort = udp.port;
  const relayTcpPort = tcp ? (tcp.address() as { port: number }).port : null;
  const publicIp = o.publicIp ?? concreteIp(o.udp.host) ?? concreteIp(o.listenHost);
  const mapFields = natMapFields({
    publicIp,
    publicIp6: o.publicIp6 ?? null,
    udpPort,
    embedded: relay ? { tcpPort: relayTcpPort, region: o.relay?.region ?? DEFAULT_RELAY_REGION } : null,
    external: o.externalRelays,
  });
  d.log.info(
    `UDP port ${fmt(o.udp.host, udpPort)} (endpoint discovery${relay ? ', relay' : ''})${tcp ? `; relay TCP ${fmt(o.relay!.tcp!.host, relayTcpPort!)}` : ''}` +
      `${publicIp !== null ? `; maps name them ${publicIp}${o.publicIp6 !== undefined ? ` and ${o.publicIp6}` : ''}` : ''}${o.externalRelays.length > 0 ? `; ${o.externalRelays.length} external relays` : ''}`,
  );
  if (publicIp === null) {
    d.log.warn(
      `no public address for the UDP port ${fmt(o.udp.host, udpPort)} is known, so maps carry no discovery port${relay ? ' and not the embedded relay' : ''}: set --public-ip IP (the address systems reach this coordinator at)`,
    );
  }
  const u = udp;
  const t = tcp;
  let closing: Promise<void> | null = null;
  return {
    discovery,
    relay,
    keys: d.keys,
    udpPort,
    relayTcpPort,
    publicIp,
    mapFields,
    stats: () => ({
      udpPort,
      relayTcpPort,
      udp: u.stats(),
      discovery: discovery.stats(),
      relay: relay?.stats() ?? null,
    }),
    close: () => {
      closing ??= (async () => {
        relay?.close();
        discovery.close();
        if (t) {
          const done = new Promise<void>((resolve) => t.close(() => resolve()));
          for (const s of tcpSockets) s.destroy();
          await done;
        }
        await u.close();
      })();
      return closing;
    },
  };
}

function listenRelayTcp(at: HostPort, relay: EmbeddedRelay, sockets: Set<Socket>, log: Logger): Promise<Server> {
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    // A client that resets before the relay attaches its own handlers must not crash us.
    socket.on('error', () => {});
    try {
      relay.attachTcp(socket);
    } catch (e) {
      log.rateLimited('relay-tcp-attach', 60_000).error(`relay TCP: ${(e as Error).message}`);
      socket.destroy();
    }
  });
  server.maxConnections = MAX_RELAY_TCP_CONNECTIONS;
  return new Promise((resolve, reject) => {
    const onError = (e: Error): void =>
      reject(new Error(`cannot listen for relay TCP on ${fmt(at.host, at.port)}: ${e.message}`));
    server.once('error', onError);
    server.listen(at.port, at.host, () => {
      server.off('error', onError);
      server.on('error', (e) => log.rateLimited('relay-tcp-error', 60_000).warn(`relay TCP listener: ${e.message}`));
      resolve(server);
    });
  });
}
