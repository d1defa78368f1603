// PolicyRuntime keeps the firewall's rule set in step with the profile and the clock: it
// compiles the policies for the configured peers, hands the result to the firewall (which
// re-checks existing flows at once), recompiles exactly when a schedule flips, and sweeps the
// connection table every second so that flows no longer allowed disappear within a second.
import { peerAddress6, type Profile } from '../config/schema.js';
import { parseIPv4, formatIPv4 } from '../../../src-shared/lib/ip/ipv4.js';
import { parseIPv6 } from '../../../src-shared/lib/ip/ipv6.js';
import { fromCidr, type IpPrefix } from '../../../src-shared/lib/ip/addr.js';
import { compile, hasAny, type RuleSet } from '../firewall/compile.js';
import { Firewall } from '../firewall/filter.js';
import { explain, formatWhy, hostAddressIn } from '../firewall/why.js';
import { whyRoute, type RouteFacts, type RouteHolder } from '../firewall/why-route.js';
import type { Logger } from '../../../src-shared/lib/log.js';
import type { Device } from '../wireguard/device/device.js';
import { formatKey } from '../../../src-shared/lib/keys.js';
import type { PolicySummary } from '../../../src-shared/wire/status.js';
import type { ExitRouteAllowance } from '../../../src-shared/wire/helper-api.js';
import { devicePeerByIdentity } from './apply.js';

/** SWEEP_MS is how often expired and no-longer-allowed flows are removed. */
const SWEEP_MS = 1000;
/** MAX_TIMER_MS caps one setTimeout (Node's limit is 2^31-1 ms); longer waits are re-armed. */
const MAX_TIMER_MS = 24 * 3600 * 1000;

/** ReachablePeer is a peer policy lets this system start connections to (for DNS). */
export interface ReachablePeer {
  identity: string;
  address: string | null;
  /** address6 is the peer's IPv6 overlay address (schema.ts peerAddress6), or null. */
  address6: string | null;
  names: string[];
  tags: string[];
}

/** PolicyRuntime owns the firewall and its rule set. */
export class PolicyRuntime {
  readonly firewall = new Firewall({});
  private rules: RuleSet | null = null;
  private profile: Profile;
  private sweepTimer: NodeJS.Timeout | null = null;
  private changeTimer: NodeJS.Timeout | null = null;
  /** onChange runs after every new rule set (DNS rebuilds its zone from it). */
  onChange: (() => void) | null = null;
  /** onStatus runs after onChange: the local API's event stream sends a fresh status. */
  onStatus: (() => void) | null = null;

  constructor(
    private readonly device: Device,
    profile: Profile,
    private readonly log: Logger,
    private readonly wallClock: () => number = Date.now,
  ) {
    this.profile = profile;
  }

  /** current is the profile whose policies are in force. */
  get current(): Profile {
    return this.profile;
  }

  get mode(): 'allow-all' | 'policy' {
    return this.profile.policies === null ? 'allow-all' : 'policy';
  }

  /** start compiles the first rule set, attaches the firewall and starts the sweeper. */
  start(): void {
    this.setLocal(this.profile);
    this.recompile('start');
    this.device.filter = this.firewall;
    this.sweepTimer = setInterval(() => this.firewall.sweep(this.device.clock()), SWEEP_MS);
  }

  stop(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    if (this.changeTimer) clearTimeout(this.changeTimer);
    this.sweepTimer = this.changeTimer = null;
    this.device.filter = null;
  }

  /** setLocal tells the firewall this system's addresses (IPv4, and IPv6 when the profile has
   * one) and provided subnets (they can change with a network map). */
  setLocal(profile: Profile): void {
    const a6 = profile.virtualAddress6 === null ? null : parseIPv6(profile.virtualAddress6);
    this.firewall.setLocal(parseIPv4(profile.virtualAddress)!, profile.exitNode.providesRoutes, a6);
  }

  /** update takes a reloaded profile's tags and policies. */
  update(profile: Profile): void {
    this.profile = profile;
    this.recompile('reload');
  }

  /** recompile builds and installs a new rule set and arms the next schedule change. */
  recompile(why: string): void {
    const now = this.wallClock();
    const peers = this.profile.peers.flatMap((p) => {
      const dp = this.device.peersByKey.get(formatKey(p.publicKey));
      return dp ? [{ index: dp.index, identity: p.identity, tags: p.tags }] : [];
    });
    this.rules = compile({
      local: { identity: this.profile.identity, tags: this.profile.tags },
      peers,
      policies: this.profile.policies ?? [],
      now,
      mode: this.mode,
    });
    this.firewall.setRules(this.rules);
    this.firewall.setRouteGrants(
      this.profile.routeGrants === null
        ? null
        : new Map(
            this.profile.routeGrants.flatMap((g) => {
              const dp = devicePeerByIdentity(this.device, this.profile, g.identity);
              return dp ? [[dp.index, g.routes] as const] : [];
            }),
          ),
    );
    const v4 = fromCidr(this.profile.virtualNetwork);
    const overlays = [...(v4 ? [v4] : []), ...(this.profile.virtualNetwork6 ? [this.profile.virtualNetwork6] : [])];
    this.firewall.setRoutesVia(routesVia(this.device, this.profile), overlays);
    // Flows that the new rules no longer allow are cut now rather than on their next packet.
    this.firewall.sweep(this.device.clock());
    const active = this.rules.states.filter((s) => s.active).length;
    this.log.info(
      `policy (${why}): ${this.mode === 'allow-all' ? 'no Policies in the profile: all traffic between configured peers is allowed' : `${active} of ${this.rules.states.length} policies active`}`,
    );
    this.armChangeTimer(now);
    this.onChange?.();
    this.onStatus?.();
  }

  private armChangeTimer(now: number): void {
    if (this.changeTimer) clearTimeout(this.changeTimer);
    this.changeTimer = null;
    const at = this.rules?.nextChangeAt ?? null;
    if (at === null) return;
    const wait = Math.min(Math.max(at - now, 0), MAX_TIMER_MS);
    this.changeTimer = setTimeout(() => {
      if (this.wallClock() >= at) this.recompile('schedule');
      else this.armChangeTimer(this.wallClock());
    }, wait);
  }

  /** summary counts the policies that grant something now. */
  summary(): PolicySummary {
    const states = this.rules?.states ?? [];
    return {
      mode: this.mode,
      active: states.filter((x) => x.active).length,
      total: states.length,
      flows: this.firewall.flows(),
      evictions: this.firewall.evictionCounters(),
    };
  }

  /** reachable lists the peers this system may start connections to. */
  reachable(): ReachablePeer[] {
    const rules = this.rules;
    if (rules === null) return [];
    const net = this.profile.virtualNetwork;
    return this.profile.peers.flatMap((p) => {
      const dp = this.device.peersByKey.get(formatKey(p.publicKey));
      const r = dp ? rules.byIndex[dp.index] : undefined;
      if (!r || !hasAny(r.egress)) return [];
      // The peer's virtual address is its /32 inside the overlay.
      const host = p.allowedIps.find(
        (c) => c.bits === 32 && c.addr >>> (32 - net.bits) === net.addr >>> (32 - net.bits),
      );
      return [
        {
          identity: p.identity,
          address: host ? formatIPv4(host.addr) : null,
          address6: peerAddress6(p, this.profile.virtualNetwork6),
          names: p.dnsNames,
          tags: p.tags,
        },
      ];
    });
  }

  /** routeAllowance says what lets this system's traffic into the routes of exit node `identity`
   * past its own firewall (scope.ts admit): the grant in coordinated mode, else policy. */
  routeAllowance(identity: string): ExitRouteAllowance {
    if (this.profile.routeGrants !== null) return 'route-grant';
    if (this.mode === 'allow-all') return 'allow-all';
    const dp = devicePeerByIdentity(this.device, this.profile, identity);
    const r = dp ? this.rules?.byIndex[dp.index] : undefined;
    return r !== undefined && hasAny(r.egress) ? 'policy' : null;
  }

  /** routeFacts is what `warren why ADDRESS` needs about routes through and into this system. */
  private routeFacts(): RouteFacts {
    const pr = this.profile;
    const named = (xs: ReadonlyArray<{ identity: string; routes: IpPrefix[] }>): RouteHolder[] =>
      xs.map((x) => ({ ...x, name: pr.peers.find((p) => p.identity === x.identity)?.name ?? '' }));
    const v4 = fromCidr(pr.virtualNetwork);
    return {
      overlays: [...(v4 ? [v4] : []), ...(pr.virtualNetwork6 ? [pr.virtualNetwork6] : [])],
      coordinated: pr.routeGrants !== null,
      via: named(pr.exitNode.availableRoutes),
      provided: pr.exitNode.providesRoutes,
      unserved: pr.exitNode.unserved ?? [],
      grants: named(pr.routeGrants ?? []),
    };
  }

  /** why explains traffic with one peer, named by identity, name, public key or one of its
   * host addresses (an IPv4 /32 or IPv6 /128 of its AllowedIPs, in any textual form: compared
   * as parsed addresses, so `fd00::1` and `FD00:0:0::1` name the same peer). Any other address is
   * explained by the routes: the exit node that carries it, or the subnet this system provides. */
  why(selector: string): { text: string; detail: unknown } | null {
    const rules = this.rules;
    if (rules === null) return null;
    const q = selector.trim();
    const p = this.profile.peers.find(
      (x) =>
        x.identity.toUpperCase() === q.toUpperCase() ||
        x.name === q ||
        formatKey(x.publicKey) === q ||
        hostAddressIn(q, x.allowedIps) ||
        hostAddressIn(q, x.allowedIps6),
    );
    if (!p) return whyRoute(q, this.routeFacts());
    const dp = this.device.peersByKey.get(formatKey(p.publicKey));
    if (!dp) return null;
    const detail = explain(rules, dp.index);
    return { text: formatWhy(detail), detail };
  }
}

/** routesVia maps each exit node's device slot to the subnets this system routes through it by the
 * coordinator's route grants (coordinated mode only: a static profile's AvailableRoutes is no
 * grant, and policy to the exit node keeps governing them). */
function routesVia(device: Device, profile: Profile): Map<number, IpPrefix[]> {
  if (profile.routeGrants === null) return new Map();
  return new Map(
    profile.exitNode.availableRoutes.flatMap((a) => {
      const dp = devicePeerByIdentity(device, profile, a.identity);
      return dp ? [[dp.index, a.routes] as const] : [];
    }),
  );
}
