// The daemon's exit-node wiring: as an exit node, forwarding and source NAT for the
// provided subnets (helper/src/exitnode); as a client, routes to the subnets other peers
// provide (helper/src/router/exit-routes.ts).
import type { Profile } from '../config/schema.js';
import { formatIpPrefix, type IpPrefix } from '../../../src-shared/lib/ip/addr.js';
import { devicePeerByIdentity } from './apply.js';
import type { ExitNode, ExitNodeDriver } from '../exitnode/index.js';
import type { Logger } from '../../../src-shared/lib/log.js';
import { ExitRoutes } from '../router/exit-routes.js';
import type { FullTunnelSwitch, Router } from '../router/index.js';
import type { Device } from '../wireguard/device/device.js';

/** ExitRuntime is both sides of exit nodes for one helper. */
export interface ExitRuntime {
  routes: ExitRoutes;
  node: ExitNode | null;
  fullTunnel: FullTunnelSwitch;
  /** unsolicitedDropped is the nft drop counter, refreshed every few seconds (0 if not an exit node). */
  unsolicitedDropped(): number;
  /** reconfigure applies a new profile's ExitNode section (reload or network map). */
  reconfigure(profile: Profile): Promise<void>;
  close(): Promise<void>;
}

// availableFor pairs each AvailableRoutes entry with the device peer that provides it.
function availableFor(profile: Profile, device: Device): Parameters<ExitRoutes['configure']>[0] {
  return profile.exitNode.availableRoutes.flatMap((a) => {
    const dp = devicePeerByIdentity(device, profile, a.identity);
    return dp ? [{ identity: a.identity, peer: dp, routes: a.routes }] : [];
  });
}

const cidrList = (rs: readonly IpPrefix[]): string => rs.map(formatIpPrefix).join();

/** COUNTER_REFRESH_MS: how often the exit node's nft counter is read for status. */
const COUNTER_REFRESH_MS = 2000;

/** ExitRuntimeOptions: exitNode and router are the OS seams (the daemon's DaemonEnv). */
export interface ExitRuntimeOptions {
  profile: Profile;
  device: Device;
  adapter: string;
  stateDir: string;
  log: Logger;
  exitNode: ExitNodeDriver;
  router: Router;
  /** virtualAddress6 is this system's IPv6 overlay address if the adapter carries it, else null. */
  virtualAddress6: string | null;
}

/** startExitRuntime applies ProvidesRoutes and AvailableRoutes; it undoes its own work on failure. */
export async function startExitRuntime(opts: ExitRuntimeOptions): Promise<ExitRuntime> {
  const { profile, device, log } = opts;
  const provide = async (p: Profile): Promise<ExitNode | null> => {
    if (p.exitNode.providesRoutes.length === 0) return null;
    const n = await opts.exitNode.apply({
      adapter: opts.adapter,
      overlay: p.virtualNetwork,
      overlay6: p.virtualNetwork6,
      routes: p.exitNode.providesRoutes,
      stateDir: opts.stateDir,
      log,
    });
    log.info(`exit node for ${n.routes.map((r) => `${r.cidr} (via ${r.via} as ${r.snatTo})`).join(', ')}`);
    return n;
  };
  let node = await provide(profile);
  let provided = cidrList(profile.exitNode.providesRoutes);
  const fullTunnel = opts.router.fullTunnel({
    adapter: opts.adapter,
    virtualAddress: profile.virtualAddress,
    virtualAddress6: opts.virtualAddress6,
    setMark: (m) => device.bind.setMark(m),
    stateDir: opts.stateDir,
    killSwitch: profile.exitNode.killSwitch,
    log,
  });
  const v6 = opts.virtualAddress6;
  const routes = new ExitRoutes(device, opts.adapter, profile.virtualAddress, v6, log, opts.router, fullTunnel);
  try {
    routes.configure(availableFor(profile, device));
  } catch (e) {
    routes.close();
    await node?.undo();
    throw e;
  }
  let dropped = 0;
  const refresh = (): void => {
    void node?.counters().then(
      (c) => {
        dropped = c.unsolicitedDropped;
      },
      () => undefined,
    );
  };
  // It runs even without a node: a network map can make this system an exit node later.
  const timer = setInterval(refresh, COUNTER_REFRESH_MS);
  timer.unref();
  refresh();
  return {
    routes,
    fullTunnel,
    get node() {
      return node;
    },
    unsolicitedDropped: () => dropped,
    async reconfigure(next: Profile) {
      routes.reconfigure(availableFor(next, device));
      if (cidrList(next.exitNode.providesRoutes) === provided) return;
      // The old table goes first: the new one has the same name.
      await node?.undo();
      node = null;
      provided = '';
      node = await provide(next);
      provided = cidrList(next.exitNode.providesRoutes);
    },
    async close() {
      clearInterval(timer);
      routes.close();
      await node?.undo();
    },
  };
}
