// The router: the OS side of routing through exit nodes, one implementation per OS behind this
// interface (DESIGN.md convention 2). Linux is implemented (router-linux.ts); other platforms
// fail with a clear message; router-fake.ts serves unit tests. ExitRoutes (exit-routes.ts) holds
// the logic: which subnets go to which peer, conflicts with local networks, switching on and off.
import type { Cidr } from '../../../src-shared/lib/ip/ipv4.js';
import type { Logger } from '../../../src-shared/lib/log.js';
import { linuxRouter } from './router-linux.js';

/** LocalNetwork is one of the machine's own routes that does not go through the adapter. */
export interface LocalNetwork {
  cidr: Cidr;
  dev: string;
}

/** FullTunnelOptions is what the full tunnel of one adapter needs (full-tunnel.ts). */
export interface FullTunnelOptions {
  adapter: string;
  virtualAddress: string;
  /** setMark marks the tunnel's own datagrams, so they keep the machine's normal routes. */
  setMark: (mark: number) => void;
  stateDir: string;
  killSwitch: boolean;
  log: Logger;
}

/** FullTunnelSwitch routes all of the machine's traffic through one exit node, or stops. */
export interface FullTunnelSwitch {
  readonly enabled: boolean;
  /** killSwitchActive says whether traffic around the tunnel is being dropped now. */
  readonly killSwitchActive: boolean;
  /** enable throws after undoing its partial work; disable never throws. */
  enable(): void;
  disable(): void;
}

/** Router changes the machine's routes for exit nodes. */
export interface Router {
  /** localNetworks lists the main table's routes that do not go through the adapter (not default). */
  localNetworks(adapter: string): LocalNetwork[];
  /** addRoute routes a subnet through the adapter from src, replacing a route to the same
   * subnet; it throws with the reason. */
  addRoute(route: Cidr, adapter: string, src: string): void;
  /** removeRoute withdraws it; false when it was already gone. */
  removeRoute(route: Cidr, adapter: string): boolean;
  /** removeRecordedRoute deletes a route a crashed helper recorded in its state file, written
   * as `ip route` arguments (daemon/state-file.ts). */
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
      killSwitchActive: false,
      enable: () => {
        throw new Error(why);
      },
      disable: () => undefined,
    }),
    recover: () => undefined,
  };
}
