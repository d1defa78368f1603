// ExitRoutes: the client side of exit nodes. Subnets listed in AvailableRoutes, IPv4 or IPv6,
// are routed through the adapter to the peer that provides them: the OS gets a route via the
// adapter (from this system's overlay address of the subnet's family) and the peer's allowed
// IPs grow by the subnet (cryptokey routing both ways). A subnet that overlaps one of the
// machine's own networks of its family is reported, not applied, so Warren never hijacks a LAN;
// so is an IPv6 subnet while this system has no IPv6 overlay address. 0.0.0.0/0 and ::/0 are
// the full tunnel (full-tunnel.ts), for IPv4 and IPv6 respectively. Routes can be switched off
// and on at run time.
import type { Logger } from '../../../src-shared/lib/log.js';
import {
  formatIpPrefix,
  prefixEquals,
  prefixesOverlap,
  prefixNetwork,
  type IpPrefix,
} from '../../../src-shared/lib/ip/addr.js';
import type { Device } from '../wireguard/device/device.js';
import type { DevicePeer } from '../wireguard/device/peer.js';
import type { FullTunnelSwitch, LocalNetwork, Router, TunnelFamilies } from './index.js';

/** ExitRouteState is one exit node as this system uses it. */
export interface ExitRouteState {
  identity: string;
  /** name is the peer's name (the map's, in coordinated mode), or null. */
  name: string | null;
  routes: string[];
  inUse: boolean;
  /** conflicts name the routes left out because they overlap a local network. */
  conflicts: string[];
}

interface Entry {
  identity: string;
  peer: DevicePeer;
  routes: IpPrefix[];
  applied: IpPrefix[];
  conflicts: string[];
  inUse: boolean;
}

/** AvailableExitNode is one exit node's routes as the profile gives them, with its peer. */
export interface AvailableExitNode {
  identity: string;
  peer: DevicePeer;
  routes: IpPrefix[];
}

/** fmt writes a route canonically (host bits cleared; RFC 5952 for IPv6), for status and logs. */
const fmt = (p: IpPrefix): string => formatIpPrefix(prefixNetwork(p));

/** NO_IPV6 is why an IPv6 route is left out on a system without an IPv6 overlay address. */
const NO_IPV6 = 'this system has no IPv6 overlay address';

/** Refusal says why a subnet is left out, and what to do about it. */
interface Refusal {
  why: string;
  hint: string;
}

/** noIpv6 refuses an IPv6 subnet on a system without an IPv6 overlay address. */
function noIpv6(r: IpPrefix): Refusal {
  return { why: `${fmt(r)}: ${NO_IPV6}`, hint: 'IPv6 routes need one' };
}

/** clashWith refuses a subnet that overlaps a local network of its family (never across families). */
function clashWith(r: IpPrefix, local: readonly LocalNetwork[]): Refusal | null {
  const l = local.find((n) => prefixesOverlap(n.cidr, r));
  if (l === undefined) return null;
  const hint = 'a local network wins; remove the route or the overlap';
  return { why: `${fmt(r)} overlaps ${fmt(l.cidr)} on ${l.dev}`, hint };
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
    /** virtualAddress6 is the source of IPv6 routes; null: IPv6 routes are reported, not applied. */
    private readonly virtualAddress6: string | null,
    private readonly log: Logger,
    /** router changes the machine's routes (router/index.ts). */
    private readonly router: Router,
    /** fullTunnel carries an exit node's 0.0.0.0/0 and ::/0 (policy routing, not a main-table route). */
    private readonly fullTunnel: FullTunnelSwitch | null = null,
  ) {}

  /** configure sets the available routes (from the profile) and applies them. */
  configure(available: AvailableExitNode[]): void {
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
  reconfigure(available: AvailableExitNode[]): void {
    const same = (a: IpPrefix[], b: IpPrefix[]): boolean => a.map(fmt).join() === b.map(fmt).join();
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

  /** use switches the routes through one exit node, named by identity or peer name (any case),
   * on or off; null if there is no such node or the name is not unique. */
  use(ref: string, on: boolean): ExitRouteState | null {
    const found = this.matchingEntries(ref);
    if (found.length !== 1) return null;
    const e = found[0]!;
    if (on) this.switchedOff.delete(e.identity);
    else this.switchedOff.add(e.identity);
    if (on && !e.inUse && !this.suspended) this.apply(e);
    if (!on && e.inUse) this.withdraw(e);
    return this.stateOf(e);
  }

  /** matching lists the exit nodes ref names: the one with that identity, else those with that
   * peer name (a static profile's names need not be unique). */
  matching(ref: string): ExitRouteState[] {
    return this.matchingEntries(ref).map((e) => this.stateOf(e));
  }

  private matchingEntries(ref: string): Entry[] {
    const byIdentity = this.entries.filter((x) => x.identity === ref.toUpperCase());
    if (byIdentity.length > 0) return byIdentity;
    const lower = ref.toLowerCase();
    return this.entries.filter((x) => x.peer.name !== null && x.peer.name.toLowerCase() === lower);
  }

  state(): ExitRouteState[] {
    return this.entries.map((e) => this.stateOf(e));
  }

  /** routesOf lists the subnets a peer provides to this system, for status. */
  routesOf(peer: DevicePeer): { routes: string[]; inUse: boolean } | null {
    const e = this.entries.find((x) => x.peer === peer);
    return e ? { routes: e.routes.map(fmt), inUse: e.inUse } : null;
  }

  /** close removes every route this manager added. */
  close(): void {
    for (const e of this.entries) if (e.inUse) this.withdraw(e);
  }

  private stateOf(e: Entry): ExitRouteState {
    return {
      identity: e.identity,
      name: e.peer.name,
      routes: e.routes.map(fmt),
      inUse: e.inUse,
      conflicts: [...e.conflicts],
    };
  }

  private apply(e: Entry): void {
    const local = this.router.localNetworks(this.adapter);
    e.conflicts = [];
    for (const r of e.routes) {
      if (r.bits === 0) continue; // the full tunnel, below
      const src = r.addr.family === 4 ? this.virtualAddress : this.virtualAddress6;
      if (src === null) {
        this.refuse(e, noIpv6(r));
        continue;
      }
      const clash = clashWith(r, local);
      if (clash !== null) {
        this.refuse(e, clash);
        continue;
      }
      try {
        this.router.addRoute(r, this.adapter, src);
      } catch (err) {
        e.conflicts.push(`${fmt(r)}: ${(err as Error).message}`);
        this.log.warn(`exit node ${e.identity}: ${(err as Error).message}`);
        continue;
      }
      this.device.routes.insert(r, e.peer);
      e.applied.push(r);
    }
    this.applyFullTunnel(e);
    e.inUse = true;
    if (e.applied.length) this.log.info(`exit node ${e.identity}: routing ${e.applied.map(fmt).join(', ')}`);
  }

  private refuse(e: Entry, r: Refusal): void {
    e.conflicts.push(r.why);
    this.log.warn(`exit node ${e.identity}: not routing ${r.why} (${r.hint})`);
  }

  // applyFullTunnel routes everything not more specific through the exit node (full-tunnel.ts),
  // for each family whose default route (0.0.0.0/0, ::/0) the exit node provides. The tunnel is
  // shared: another exit node may carry the other family, so it is asked for the union.
  private applyFullTunnel(e: Entry): void {
    let defaults = e.routes.filter((r) => r.bits === 0);
    if (defaults.length === 0) return;
    const refuse = (rs: IpPrefix[], why: string): void => {
      for (const r of rs) e.conflicts.push(`${fmt(r)}: ${why}`);
    };
    if (this.fullTunnel === null) return refuse(defaults, 'the full tunnel is not available here');
    if (this.virtualAddress6 === null) {
      refuse(
        defaults.filter((r) => r.addr.family === 6),
        NO_IPV6,
      );
      defaults = defaults.filter((r) => r.addr.family === 4);
      if (defaults.length === 0) return;
    }
    const families = this.tunnelledFamilies(e);
    for (const r of defaults) families[r.addr.family === 4 ? 'ipv4' : 'ipv6'] = true;
    try {
      this.fullTunnel.enable(families);
    } catch (err) {
      refuse(defaults, (err as Error).message);
      this.log.warn(`exit node ${e.identity}: full tunnel not enabled: ${(err as Error).message}`);
      return;
    }
    for (const r of defaults) {
      this.device.routes.insert(r, e.peer);
      e.applied.push(r);
    }
  }

  /** tunnelledFamilies is what the full tunnel carries for the exit nodes in use other than e. */
  private tunnelledFamilies(e: Entry): TunnelFamilies {
    const f = { ipv4: false, ipv6: false };
    for (const x of this.entries) {
      if (x === e || !x.inUse) continue;
      for (const r of x.applied) if (r.bits === 0) f[r.addr.family === 4 ? 'ipv4' : 'ipv6'] = true;
    }
    return f;
  }

  private withdraw(e: Entry): void {
    for (const r of e.applied) {
      if (r.bits !== 0) this.router.removeRoute(r, this.adapter);
      // Only remove the prefix if it still points at this peer (a peer's own AllowedIPs win).
      if (this.device.routes.exact(r) === e.peer && !e.peer.allowedIps.some((a) => prefixEquals(a, r))) {
        this.device.routes.remove(r);
      }
    }
    if (e.applied.some((r) => r.bits === 0)) this.narrowFullTunnel(e);
    e.applied = [];
    e.inUse = false;
    this.log.info(`exit node ${e.identity}: routes off (${e.routes.map(fmt).join(', ')})`);
  }

  // narrowFullTunnel keeps the full tunnel for the families other exit nodes still carry, or
  // turns it off when none does.
  private narrowFullTunnel(e: Entry): void {
    const rest = this.tunnelledFamilies(e);
    if (!rest.ipv4 && !rest.ipv6) return this.fullTunnel?.disable();
    try {
      this.fullTunnel?.enable(rest);
    } catch (err) {
      this.log.warn(`full tunnel not rebuilt without exit node ${e.identity}: ${(err as Error).message}`);
    }
  }
}
