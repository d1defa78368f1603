// What startCoordinator (server.ts) takes and gives back: the options `serve` parses, and the
// running server's handles.
import type { RelayInfo } from '../../../src-shared/wire/control.js';
import type { Cidr } from '../../../src-shared/lib/ip/ipv4.js';
import type { Logger } from '../../../src-shared/lib/log.js';
import type { Services } from '../api/services.js';
import type { HostPort, RelayFactory } from '../nat/services.js';
import type { OidcConfig } from '../oidc/config.js';
import type { OidcSeams } from '../oidc/providers.js';
import type { CountryDb } from '../geoip/geoip.js';

/** ServeOptions configure startCoordinator. */
export interface ServeOptions {
  dataDir: string;
  /** store is a postgres:// URL, or undefined for SQLite in dataDir (open-store.ts). */
  store?: string;
  /** advertiseUrl is where helpers reach this coordinator, listed in maps for failover when
   * several coordinators share a PostgreSQL store (multi.ts); default: the listen URL. */
  advertiseUrl?: string;
  host: string;
  /** port 0 picks a free port (see the returned url). */
  port: number;
  tls?: { certFile: string; keyFile: string };
  ephemeralTimeoutMs: number;
  network: Cidr;
  zone: string;
  maxWatchers?: number;
  /** udp is where the UDP port (endpoint discovery, embedded relay) binds; default: host and
   * port on UDP (port 0 picks a free one, independently of the HTTP port). */
  udp?: HostPort;
  /** publicIp is the address (IPv4 or IPv6) maps name the UDP port (and relay TCP port) by;
   * default: the udp host, else the HTTP host, when it is one concrete address. */
  publicIp?: string;
  /** publicIp6 is the IPv6 address beside an IPv4 publicIp (a dual-stack coordinator). */
  publicIp6?: string;
  /** relay is the embedded relay (on by default, without a TCP listener); null turns it off. */
  relay?: { tcp?: HostPort; region?: string } | null;
  /** externalRelays are listed in maps after the embedded one. */
  externalRelays?: RelayInfo[];
  /** createRelay makes the embedded relay; default the relay engine (relay/src/index.ts). */
  createRelay?: RelayFactory;
  /** metricsListen is where GET /metrics answers without the admin token; default: nowhere. */
  metricsListen?: HostPort;
  /** console serves the web console at /console/ from bundleDir (default dist/console/);
   * absent, there is no console and no console sessions. */
  console?: { bundleDir?: string };
  /** oidc: identity providers people sign in with (`serve --oidc FILE`, oidc/config.ts). */
  oidc?: { config: OidcConfig; seams?: OidcSeams };
  /** geoip is the country database PublicIp's Countries are judged by (`serve --geoip`, by
   * default Debian's geoip-database files); absent, policies naming countries are refused. */
  geoip?: CountryDb | null;
  log: Logger;
  now?: () => number;
}

/** RunningCoordinator is a started server. */
export interface RunningCoordinator {
  url: string;
  publicKey: string;
  adminToken: string;
  services: Services;
  /** udpPort is the bound UDP port; relayTcpPort the embedded relay's TCP port, if any. */
  udpPort: number;
  relayTcpPort: number | null;
  /** metricsUrl is where the unauthenticated metrics listener answers, or null without one. */
  metricsUrl: string | null;
  close(): Promise<void>;
}
