// An in-memory router for tests (DESIGN.md convention 2): a pretend route table that the
// exit-node logic changes, the machine's own networks that a test sets, a full tunnel that only
// flips a flag and marks the socket, and a list of every call in order.
import { formatIpPrefix, type IpPrefix } from '../../../src-shared/lib/ip/addr.js';
import { FULL_TUNNEL_MARK } from './full-tunnel.js';
import type { FullTunnelOptions, FullTunnelSwitch, LocalNetwork, Router, TunnelFamilies } from './index.js';

/** FakeFullTunnel is a full tunnel that sets the socket's mark like the real one and records the rest. */
export class FakeFullTunnel implements FullTunnelSwitch {
  enabled = false;
  killSwitchActive = false;
  families: TunnelFamilies = { ipv4: false, ipv6: false };
  /** failEnable, when set, is what the next enable() throws (once). */
  failEnable: Error | null = null;

  constructor(
    readonly opts: FullTunnelOptions,
    private readonly calls: string[],
  ) {}

  enable(families: TunnelFamilies): void {
    if (this.enabled && this.families.ipv4 === families.ipv4 && this.families.ipv6 === families.ipv6) return;
    this.calls.push(`full tunnel on ${this.opts.adapter}${describe(families)}`);
    const fail = this.failEnable;
    this.failEnable = null;
    if (fail !== null) throw fail;
    if (families.ipv6 && this.opts.virtualAddress6 === null)
      throw new Error('::/0: this system has no IPv6 overlay address');
    this.opts.setMark(FULL_TUNNEL_MARK);
    this.enabled = true;
    this.families = { ...families };
    this.killSwitchActive = this.opts.killSwitch;
  }

  disable(): void {
    if (!this.enabled) return;
    this.calls.push(`full tunnel off ${this.opts.adapter}`);
    this.opts.setMark(0);
    this.enabled = false;
    this.killSwitchActive = false;
    this.families = { ipv4: false, ipv6: false };
  }
}

// describe names the families in a call, leaving the IPv4-only case as it always read.
function describe(f: TunnelFamilies): string {
  if (f.ipv4 && !f.ipv6) return '';
  return f.ipv4 ? ' (IPv4 and IPv6)' : ' (IPv6 only)';
}

/** FakeRouter is a Router whose routes live in a map (prefix of either family → adapter and
 * source address). */
export class FakeRouter implements Router {
  readonly routes = new Map<string, { dev: string; src: string }>();
  /** local is the machine's own networks, which a test sets. */
  local: LocalNetwork[] = [];
  /** failRoutes makes addRoute throw for these prefixes, as the kernel does for a bad route. */
  readonly failRoutes = new Set<string>();
  readonly fullTunnels: FakeFullTunnel[] = [];
  /** recorded is the routes a crashed helper left, as its state file wrote them. */
  readonly recorded = new Set<string>();
  readonly recovered: string[] = [];

  /** calls may be shared with the other fakes, so a test sees the order across all of them. */
  constructor(readonly calls: string[] = []) {}

  localNetworks(adapter: string): LocalNetwork[] {
    return this.local.filter((l) => l.dev !== adapter);
  }

  addRoute(route: IpPrefix, adapter: string, src: string): void {
    const cidr = formatIpPrefix(route);
    this.calls.push(`route add ${cidr} dev ${adapter}`);
    if (this.failRoutes.has(cidr))
      throw new Error(`ip route replace ${cidr} dev ${adapter}: Nexthop has invalid gateway`);
    this.routes.set(cidr, { dev: adapter, src });
  }

  removeRoute(route: IpPrefix, adapter: string): boolean {
    const cidr = formatIpPrefix(route);
    this.calls.push(`route del ${cidr} dev ${adapter}`);
    if (this.routes.get(cidr)?.dev !== adapter) return false;
    return this.routes.delete(cidr);
  }

  removeRecordedRoute(spec: string): boolean {
    this.calls.push(`route del ${spec}`);
    return this.recorded.delete(spec);
  }

  fullTunnel(opts: FullTunnelOptions): FullTunnelSwitch {
    const ft = new FakeFullTunnel(opts, this.calls);
    this.fullTunnels.push(ft);
    return ft;
  }

  recover(stateDir: string): void {
    this.calls.push('router recover');
    this.recovered.push(stateDir);
  }
}
