// ExitRoutes: the client side of exit nodes. Subnets listed in AvailableRoutes are
// routed through the adapter to the peer that provides them: the OS gets a route via the
// adapter and the peer's allowed IPs grow by the subnet (cryptokey routing both ways). A
// subnet that overlaps one of the machine's own networks is reported, not applied, so Warren
// never hijacks a LAN. Routes can be switched off and on at run time.
import { formatCidr, type Cidr } from '../../../src-shared/lib/ip/ipv4.js';
import type { Logger } from '../../../src-shared/lib/log.js';
import { prefixEquals, type IpPrefix } from '../../../src-shared/lib/ip/addr.js';
import type { Device } from '../wireguard/device/device.js';
import type { DevicePeer } from '../wireguard/device/peer.js';
import type { FullTunnelSwitch, Router } from './index.js';

/** ExitRouteState is one exit node as this system uses it. */
export interface ExitRouteState {
  identity: string;
  routes: string[];
  inUse: boolean;
  /** conflicts name the routes left out because they overlap a local network. */
  conflicts: string[];
}

interface Entry {
  identity: string;
  peer: DevicePeer;
  routes: Cidr[];
  applied: Cidr[];
  conflicts: string[];
  inUse: boolean;
}

/** overlaps says whether two prefixes share any address. */
function overlaps(a: Cidr, b: Cidr): boolean {
  const bits = Math.min(a.bits, b.bits);
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return (a.addr & mask) >>> 0 === (b.addr & mask) >>> 0;
}

/** asPrefix gives an exit route (IPv4 only for now) the form the device's table takes. */
function asPrefix(c: Cidr): IpPrefix {
  return { addr: { family: 4, v4: c.addr }, bits: c.bits };
}

/** ExitRoutes manages the routes through exit nodes. */
export class ExitRoutes {
  private readonly entries: Entry[] = [];
  /** switchedOff remembers the exit nodes the person turned off, across reconfigures. */
  private readonly switchedOff = new Set<string>();
  private suspended = false;

  constructor(
    private readonly device: Device,
    private readonly adapter: string,
    private readonly virtualAddress: string,
    private readonly log: Logger,
    /** router changes the machine's routes (router/index.ts). */
    private readonly router: Router,
    /** fullTunnel carries an exit node's 0.0.0.0/0 (policy routing, not a main-table route). */
    private readonly fullTunnel: FullTunnelSwitch | null = null,
  ) {}

  /** configure sets the available routes (from the profile) and applies them. */
  configure(available: Array<{ identity: string; peer: DevicePeer; routes: Cidr[] }>): void {
    for (const a of available) {
      const e: Entry = {
        identity: a.identity,
        peer: a.peer,
        routes: a.routes,
        applied: [],
        conflicts: [],
        inUse: false,
      };
      this.entries.push(e);
      this.apply(e);
    }
  }

  /**
   * reconfigure replaces the available routes (a reloaded profile or a new network map):
   * routes of exit nodes that are gone or changed are withdrawn, new ones applied. A node the
   * person switched off stays off while it keeps the same routes.
   */
  reconfigure(available: Array<{ identity: string; peer: DevicePeer; routes: Cidr[] }>): void {
    const same = (a: Cidr[], b: Cidr[]): boolean => a.map(formatCidr).join() === b.map(formatCidr).join();
    const keep = new Set<Entry>();
    for (const a of available) {
      const old = this.entries.find((x) => x.identity === a.identity && x.peer === a.peer && same(x.routes, a.routes));
      if (old) {
        keep.add(old);
        continue;
      }
      const e: Entry = {
        identity: a.identity,
        peer: a.peer,
        routes: a.routes,
        applied: [],
        conflicts: [],
        inUse: false,
      };
      keep.add(e);
      this.entries.push(e);
    }
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const e = this.entries[i]!;
      if (keep.has(e)) continue;
      if (e.inUse) this.withdraw(e);
      this.entries.splice(i, 1);
    }
    // Withdrawals come first so that a route moving from one exit node to another is free.
    for (const e of this.entries) {
      if (!this.suspended && !e.inUse && !this.switchedOff.has(e.identity)) this.apply(e);
    }
  }

  /** suspend withdraws every route (the tunnel is disconnected); resume applies again every
   * route the person has not switched off. While suspended, nothing is applied. */
  suspend(): void {
    this.suspended = true;
    for (const e of this.entries) if (e.inUse) this.withdraw(e);
  }

  resume(): void {
    this.suspended = false;
    for (const e of this.entries) if (!e.inUse && !this.switchedOff.has(e.identity)) this.apply(e);
  }

  /** use switches the routes through one exit node on or off; false if there is no such node. */
  use(identity: string, on: boolean): ExitRouteState | null {
    const e = this.entries.find((x) => x.identity === identity.toUpperCase());
    if (!e) return null;
    if (on) this.switchedOff.delete(e.identity);
    else this.switchedOff.add(e.identity);
    if (on && !e.inUse && !this.suspended) this.apply(e);
    if (!on && e.inUse) this.withdraw(e);
    return this.stateOf(e);
  }

  state(): ExitRouteState[] {
    return this.entries.map((e) => this.stateOf(e));
  }

  /** routesOf lists the subnets a peer provides to this system, for status. */
  routesOf(peer: DevicePeer): { routes: string[]; inUse: boolean } | null {
    const e = this.entries.find((x) => x.peer === peer);
    return e ? { routes: e.routes.map(formatCidr), inUse: e.inUse } : null;
  }

  /** close removes every route this manager added. */
  close(): void {
    for (const e of this.entries) if (e.inUse) this.withdraw(e);
  }

  private stateOf(e: Entry): ExitRouteState {
    return { identity: e.identity, routes: e.routes.map(formatCidr), inUse: e.inUse, conflicts: [...e.conflicts] };
  }

  private apply(e: Entry): void {
    const local = this.router.localNetworks(this.adapter);
    e.conflicts = [];
    for (const r of e.routes) {
      if (r.bits === 0) {
        this.applyFullTunnel(e, r);
        continue;
      }
      const clash = local.find((l) => overlaps(l.cidr, r));
      if (clash) {
        const why = `${formatCidr(r)} overlaps ${formatCidr(clash.cidr)} on ${clash.dev}`;
        e.conflicts.push(why);
        this.log.warn(
          `exit node ${e.identity}: not routing ${why} (a local network wins; remove the route or the overlap)`,
        );
        continue;
      }
      try {
        this.router.addRoute(r, this.adapter, this.virtualAddress);
      } catch (err) {
        e.conflicts.push(`${formatCidr(r)}: ${(err as Error).message}`);
        this.log.warn(`exit node ${e.identity}: ${(err as Error).message}`);
        continue;
      }
      this.device.routes.insert(asPrefix(r), e.peer);
      e.applied.push(r);
    }
    e.inUse = true;
    if (e.applied.length) this.log.info(`exit node ${e.identity}: routing ${e.applied.map(formatCidr).join(', ')}`);
  }

  // applyFullTunnel routes everything not more specific through the exit node (full-tunnel.ts).
  private applyFullTunnel(e: Entry, r: Cidr): void {
    if (this.fullTunnel === null) {
      e.conflicts.push('0.0.0.0/0: the full tunnel is not available here');
      return;
    }
    try {
      this.fullTunnel.enable();
    } catch (err) {
      e.conflicts.push(`0.0.0.0/0: ${(err as Error).message}`);
      this.log.warn(`exit node ${e.identity}: full tunnel not enabled: ${(err as Error).message}`);
      return;
    }
    this.device.routes.insert(asPrefix(r), e.peer);
    e.applied.push(r);
  }

  private withdraw(e: Entry): void {
    for (const r of e.applied) {
      if (r.bits === 0) this.fullTunnel?.disable();
      else this.router.removeRoute(r, this.adapter);
      // Only remove the prefix if it still points at this peer (a peer's own AllowedIPs win).
      const p = asPrefix(r);
      if (this.device.routes.exact(p) === e.peer && !e.peer.allowedIps.some((a) => prefixEquals(a, p))) {
        this.device.routes.remove(p);
      }
    }
    e.applied = [];
    e.inUse = false;
    this.log.info(`exit node ${e.identity}: routes off (${e.routes.map(formatCidr).join(', ')})`);
  }
}
