// Exit node, system side (docs/architecture.md, "Exit nodes"): forwarding, source NAT from the
// overlay into each provided subnet, and a drop of unsolicited traffic from those subnets into
// the overlay, for IPv4 and IPv6 subnets alike. One implementation per OS behind this factory (DESIGN.md convention 2); Linux
// is implemented, other platforms fail with a clear message.
import type { Cidr } from '../../../src-shared/lib/ip/ipv4.js';
import type { IpPrefix } from '../../../src-shared/lib/ip/addr.js';
import type { Logger } from '../../../src-shared/lib/log.js';
import type { CommandRunner } from '../../../src-shared/lib/command.js';

// Re-exported so that tests and fakes build an ExitNodeEnv from this module alone.
export type { CommandResult, CommandRunner } from '../../../src-shared/lib/command.js';

/** ExitNodeEnv holds what tests replace; the defaults are the real machine. */
export interface ExitNodeEnv {
  run?: CommandRunner;
  /** sysctlDir defaults to /proc/sys (which reflects the caller's network namespace). */
  sysctlDir?: string;
}

/** ExitNodeOptions is what the daemon passes once the adapter is up. */
export interface ExitNodeOptions extends ExitNodeEnv {
  adapter: string;
  /** overlay is the IPv4 overlay (the profile's virtualNetwork). */
  overlay: Cidr;
  /** overlay6 is the IPv6 overlay (the network's ULA /48), or null when the network has none:
   * then no overlay traffic is IPv6 and IPv6 routes are refused. */
  overlay6: IpPrefix | null;
  /** routes are the subnets to provide, IPv4 and IPv6 mixed. */
  routes: IpPrefix[];
  stateDir: string;
  log: Logger;
}

/** ExitRouteInfo is one provided route as set up: the LAN interface and our address on it
 * (cidr is canonical, RFC 5952 for IPv6; snatTo is of the route's family). */
export interface ExitRouteInfo {
  cidr: string;
  via: string;
  snatTo: string;
}

/** ExitNode is an applied exit node; undo removes exactly what apply added and never throws. */
export interface ExitNode {
  readonly routes: ExitRouteInfo[];
  readonly table: string;
  /** counters reads the unsolicited-drop counters of both families (0 if unreadable). */
  counters(): Promise<{ unsolicitedDropped: number }>;
  undo(): Promise<void>;
}

/** MAX_ROUTES bounds the number of provided routes (each is one nft rule). */
export const MAX_ROUTES = 256;

/** applyExitNode sets the exit node up; it throws with a clear message after undoing partial work. */
export async function applyExitNode(opts: ExitNodeOptions): Promise<ExitNode> {
  switch (process.platform) {
    case 'linux': {
      const { applyLinuxExitNode } = await import('./exitnode-linux.js');
      return applyLinuxExitNode(opts);
    }
    default:
      throw new Error(`acting as an exit node is not supported on ${process.platform} yet (Linux only for now)`);
  }
}

/** recoverExitNode undoes what an exit node of a helper that did not stop cleanly left behind. */
export async function recoverExitNode(stateDir: string, log: Logger, env: ExitNodeEnv = {}): Promise<void> {
  if (process.platform !== 'linux') return;
  const { recoverLinuxExitNode } = await import('./exitnode-linux.js');
  await recoverLinuxExitNode(stateDir, log, env);
}

/** ExitNodeDriver is the exit node as the daemon uses it: this machine's (applyExitNode and
 * recoverExitNode choose by process.platform), or exitnode-fake.ts in tests. */
export interface ExitNodeDriver {
  apply(opts: ExitNodeOptions): Promise<ExitNode>;
  recover(stateDir: string, log: Logger): Promise<void>;
}

/** systemExitNode is this machine's exit node. */
export const systemExitNode: ExitNodeDriver = {
  apply: (opts) => applyExitNode(opts),
  recover: (stateDir, log) => recoverExitNode(stateDir, log),
};
