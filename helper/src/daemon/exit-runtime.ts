// The daemon's exit-node wiring (issue 5): as an exit node, forwarding and source NAT for the
// provided subnets (helper/src/exitnode); as a client, routes to the subnets other peers
// provide (helper/src/router/exit-routes.ts).
import type { Profile } from '../config/schema.js';
import { formatKey } from '../config/keys.js';
import { applyExitNode, type ExitNode } from '../exitnode/index.js';
import type { Logger } from '../log.js';
import { ExitRoutes } from '../router/exit-routes.js';
import type { Device } from '../wireguard/device/device.js';

/** ExitRuntime is both sides of exit nodes for one helper. */
export interface ExitRuntime {
  routes: ExitRoutes;
  node: ExitNode | null;
  /** unsolicitedDropped is the nft drop counter, refreshed every few seconds (0 if not an exit node). */
  unsolicitedDropped(): number;
  close(): Promise<void>;
}

/** COUNTER_REFRESH_MS: how often the exit node's nft counter is read for status. */
const COUNTER_REFRESH_MS = 2000;

/** startExitRuntime applies ProvidesRoutes and AvailableRoutes; it undoes its own work on failure. */
export async function startExitRuntime(opts: {
  profile: Profile; device: Device; adapter: string; stateDir: string; log: Logger;
}): Promise<ExitRuntime> {
  const { profile, device, log } = opts;
  let node: ExitNode | null = null;
  if (profile.exitNode.providesRoutes.length > 0) {
    node = await applyExitNode({
      adapter: opts.adapter, overlay: profile.virtualNetwork, routes: profile.exitNode.providesRoutes,
      stateDir: opts.stateDir, log,
    });
    log.info(`exit node for ${node.routes.map((r) => `${r.cidr} (via ${r.via} as ${r.snatTo})`).join(', ')}`);
  }
  const routes = new ExitRoutes(device, opts.adapter, profile.virtualAddress, log);
  try {
    routes.configure(profile.exitNode.availableRoutes.flatMap((a) => {
      const pc = profile.peers.find((p) => p.identity === a.identity);
      const dp = pc ? device.peersByKey.get(formatKey(pc.publicKey)) : undefined;
      return dp ? [{ identity: a.identity, peer: dp, routes: a.routes }] : [];
    }));
  } catch (e) {
    routes.close();
    await node?.undo();
    throw e;
  }
  let dropped = 0;
  const refresh = (): void => {
    void node?.counters().then((c) => { dropped = c.unsolicitedDropped; }, () => undefined);
  };
  const timer = node ? setInterval(refresh, COUNTER_REFRESH_MS) : null;
  timer?.unref();
  refresh();
  return {
    routes,
    node,
    unsolicitedDropped: () => dropped,
    async close() {
      if (timer) clearInterval(timer);
      routes.close();
      await node?.undo();
    },
  };
}
