// The router: the OS side of routing through exit nodes, one implementation per OS behind this
// interface (DESIGN.md convention 2). Linux is implemented (router-linux.ts); other platforms
// fail with a clear message; router-fake.ts serves unit tests. ExitRoutes (exit-routes.ts) holds
// the logic: which subnets go to which peer, conflicts with local networks, switching on and off.
import type { IpPrefix } from '../../../src-shared/lib/ip/addr.js';
import type { Logger } from '../../../src-shared/lib/log.js';
import { linuxRouter } from './router-linux.js';

/** LocalNetwork is one of the machine's own routes that does not go through the adapter, of
 * either family. */
export interface LocalNetwork {
  cidr: IpPrefix;
  dev: string;
}

/** FullTunnelOptions is what the full tunnel of one adapter needs (full-tunnel.ts). */
export interface FullTunnelOptions {
  adapter: string;
  virtualAddress: string;
  /** virtualAddress6 is this system's overlay IPv6 address, the source of the IPv6 full tunnel's
   * default route; null when this system has none (then only IPv4 can go through the tunnel). */
  virtualAddress6: string | null;
  /** setMark marks the tunnel's own datagrams, so they keep the machine's normal routes. */
  setMark: (mark: number) => void;
  stateDir: string;
  killSwitch: boolean;
  log: Logger;
}

/** TunnelFamilies says which families the full tunnel carries: ipv4 for an exit node's
 * 0.0.0.0/0, ipv6 for its ::/0. A family that is not carried keeps the machine's normal routes,
 * except that IPv6 is refused beyond the LAN while only IPv4 is carried (full-tunnel-ipv6.ts). */
export interface TunnelFamilies {
  ipv4: boolean;
  ipv6: boolean;
}

/** FullTunnelSwitch routes all of the machine's traffic through one exit node, or stops. */
export interface FullTunnelSwitch {
  readonly enabled: boolean;
  /** families is what the tunnel carries while enabled (both false when off). */
  readonly families: TunnelFamilies;
  /** killSwitchActive says whether traffic around the tunnel is being dropped now. */
  readonly killSwitchActive: boolean;
  /** enable puts the full tunnel in place for these families (at least one); called while on
   * with other families, it rebuilds the tunnel for them. It throws after undoing its partial
   * work; disable never throws. */
  enable(families: TunnelFamilies): void;
  disable(): void;
}

/** Router changes the machine's routes for exit nodes. */
export interface Router {
  /** localNetworks lists the main table's routes of both families that do not go through the
   * adapter (not default; for IPv6 not link-local nor multicast). */
  localNetworks(adapter: string): LocalNetwork[];
  /** addRoute routes a subnet through the adapter from src, this system's overlay address of
   * the subnet's family, replacing a route to the same subnet; it throws with the reason. */
  addRoute(route: IpPrefix, adapter: string, src: string): void;
  /** removeRoute withdraws it; false when it was already gone. */
  removeRoute(route: IpPrefix, adapter: string): boolean;
  /** removeRecordedRoute deletes a route a crashed helper recorded in its state file, written
   * as `ip route` arguments (daemon/state-file.ts), the prefix first; its family is read from
   * the prefix, so records of IPv4 and IPv6 routes (and those from before IPv6) all replay. */
  removeRecordedRoute(spec: string): boolean;
  fullTunnel(opts: FullTunnelOptions): FullTunnelSwitch;
  /** recover removes what the full tunnel of a helper that did not stop cleanly left behind. */
  recover(stateDir: string, log: Logger): void;
}

/** systemRouter is this machine's router, chosen by process.platform. */
export const systemRouter: Router = process.platform === 'linux' ? linuxRouter : unsupportedRouter(process.platform);

function unsupportedRouter(platform: string): Router {
  const why = `routing through exit nodes is not supported on ${platform} yet (Linux only for now)`;
  return {
    localNetworks: () => [],
    addRoute: () => {
      throw new Error(why);
    },
    removeRoute: () => false,
    removeRecordedRoute: () => false,
    fullTunnel: () => ({
      enabled: false,
      families: { ipv4: false, ipv6: false },
      killSwitchActive: false,
      enable: () => {
        throw new Error(why);
      },
      disable: () => undefined,
    }),
    recover: () => undefined,
  };
}
