// Network maps (control.ts NetworkMap): what each active system may reach, computed from the
// policy file and the systems. The policy is resolved once per map version (a World: tags
// expanded to identities, PublicIp requirements evaluated against each sender's observed
// address); each system's map is then stitched together from JSON fragments cached per peer,
// so 2,000 maps cost one pass over the policy plus string joins, not 2,000 resolutions.
import { CONTROL_PROTOCOL, type MapPeer } from '../../../src-shared/wire/control.js';
import {
  GROUP_PREFIX,
  tagSelector,
  USER_PREFIX,
  type Acl,
  type Policy,
  type Selector,
  type TrustRequirement,
} from '../../../src-shared/wire/policy.js';
import {
  cidrContains,
  formatCidr,
  formatIPv4,
  parseCidr,
  parseIPv4,
  type Cidr,
} from '../../../src-shared/lib/ip/ipv4.js';
import { formatIpPrefix } from '../../../src-shared/lib/ip/addr.js';
import type { LiveSystem, Registry } from '../store/registry.js';
import type { PolicyFile } from '../policy/policy-file.js';
import { usersOf, type UserDirectory } from '../store/users.js';
import { peopleVia, viaJson } from './people.js';
import { endpointsOf, FULL_TUNNELS, natFieldsJson, sortCidrs, type MapNatFields } from './map-parts.js';

export { endpointsOf, type MapNatFields } from './map-parts.js';

/** ResolvedPolicy is one enabled policy with its selectors expanded to active identities. */
export interface ResolvedPolicy {
  senders: Set<string>;
  receivers: Set<string>;
  /** acls are what the helpers' firewalls grant from senders to receivers (policy dry run). */
  acls: Acl[];
  nameJson: string;
  sendersJson: string;
  receiversJson: string;
  /** tailJson is `"acls":...,"trustRequirements":...,"enabled":...` (PublicIp removed). */
  tailJson: string;
  /** via: systems named only through a person, and how (people.ts). */
  via: Map<string, string>;
}

/** World is the policy resolved against the active systems at one Registry.worldEpoch. */
export interface World {
  epoch: number;
  byIdentity: Map<string, LiveSystem>;
  policies: ResolvedPolicy[];
  /** involved[identity] lists the indexes of policies naming that system (either side). */
  involved: Map<string, number[]>;
  recordNames: Map<string, string[]>;
  provides: Map<string, string[]>;
  /** grants[client][exit] are the subnets client may route through exit. */
  grants: Map<string, Map<string, string[]>>;
  /** routeClients[exit] are the systems granted any of exit's routes. */
  routeClients: Map<string, Set<string>>;
  /** exitGrants[exit][client] are the subnets exit lets client use (its routeGrants). */
  exitGrants: Map<string, Map<string, string[]>>;
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}

/** expand turns selectors into the identities of active systems, in a stable order. bySelector
 * holds the systems of each tag, user and group selector ("tag:dev", "user:a@b.c", "group:eng"). */
function expand(
  selectors: readonly Selector[],
  bySelector: Map<string, string[]>,
  byIdentity: Map<string, LiveSystem>,
): string[] {
  const out = new Set<string>();
  for (const sel of selectors) {
    if (byIdentity.has(sel)) out.add(sel);
    else for (const id of bySelector.get(sel) ?? []) out.add(id);
  }
  return [...out].sort();
}

/** publicIpMet tells whether a sender's observed address satisfies every PublicIp requirement. */
function publicIpMet(reqs: Cidr[][], s: LiveSystem): boolean {
  if (reqs.length === 0) return true;
  const ip = s.observedIp === null ? null : parseIPv4(s.observedIp.replace(/^::ffff:/, ''));
  if (ip === null) return false;
  return reqs.every((ranges) => ranges.some((c) => cidrContains(c, ip)));
}

function resolvePolicy(
  p: Policy,
  bySelector: Map<string, string[]>,
  byIdentity: Map<string, LiveSystem>,
  users: UserDirectory,
): ResolvedPolicy {
  const ipReqs: Cidr[][] = [];
  const kept: TrustRequirement[] = [];
  for (const r of p.trustRequirements) {
    if (r.type === 'public-ip') ipReqs.push(r.ranges.map((x) => parseCidr(x)).filter((c): c is Cidr => c !== null));
    else kept.push(r);
  }
  const senders = expand(p.senders, bySelector, byIdentity).filter((id) => publicIpMet(ipReqs, byIdentity.get(id)!));
  const receivers = expand(p.receivers, bySelector, byIdentity);
  return {
    senders: new Set(senders),
    receivers: new Set(receivers),
    acls: p.acls,
    nameJson: JSON.stringify(p.name),
    sendersJson: JSON.stringify(senders),
    receiversJson: JSON.stringify(receivers),
    tailJson: `"acls":${JSON.stringify(p.acls)},"trustRequirements":${JSON.stringify(kept)},"enabled":${p.enabled}`,
    via: peopleVia(p, bySelector, byIdentity, users),
  };
}

/** buildWorld resolves the registry's policy (or another file: the policy dry run compares two
 * Worlds) against its active systems. */
export function buildWorld(registry: Registry, file: PolicyFile = registry.policy): World {
  const active = registry.active();
  const byIdentity = new Map<string, LiveSystem>();
  const byTag = new Map<string, string[]>();
  const users = usersOf(registry);
  for (const s of active) {
    byIdentity.set(s.identity, s);
    for (const sel of selectorsOf(s, users)) push(byTag, sel, s.identity);
  }
  // A disabled policy grants nothing, so it is left out of maps altogether. That keeps a useful
  // rule true: a system appears in another's map exactly when the two are peers, which lets a
  // change to one system touch only its peers' maps (publisher.ts).
  const policies = file.policies.filter((p) => p.enabled).map((p) => resolvePolicy(p, byTag, byIdentity, users));
  const involved = new Map<string, number[]>();
  policies.forEach((p, i) => {
    for (const id of p.senders) push(involved, id, i);
    for (const id of p.receivers) if (!p.senders.has(id)) push(involved, id, i);
  });
  const recordNames = new Map<string, string[]>();
  for (const r of file.dnsRecords) for (const id of expand(r.targets, byTag, byIdentity)) push(recordNames, id, r.name);
  const provides = new Map<string, string[]>();
  const grants = new Map<string, Map<string, string[]>>();
  const routeClients = new Map<string, Set<string>>();
  const exitGrants = new Map<string, Map<string, string[]>>();
  for (const route of file.routes) {
    const exits = expand([route.exitNode], byTag, byIdentity);
    const clients = expand(route.senders, byTag, byIdentity);
    for (const e of exits) {
      const list = provides.get(e) ?? [];
      provides.set(e, sortCidrs([...new Set([...list, ...route.subnets])]));
      for (const c of clients) {
        if (c === e) continue;
        let perExit = grants.get(c);
        if (!perExit) grants.set(c, (perExit = new Map()));
        const subnets = sortCidrs([...new Set([...(perExit.get(e) ?? []), ...route.subnets])]);
        perExit.set(e, subnets);
        let cs = routeClients.get(e);
        if (!cs) routeClients.set(e, (cs = new Set()));
        cs.add(c);
        let perClient = exitGrants.get(e);
        if (!perClient) exitGrants.set(e, (perClient = new Map()));
        perClient.set(c, subnets);
      }
    }
  }
  return {
    epoch: registry.worldEpoch,
    byIdentity,
    policies,
    involved,
    recordNames,
    provides,
    grants,
    routeClients,
    exitGrants,
  };
}

/** selectorsOf lists the tag, user and group selectors that name s. A disabled user's systems
 * are named by none of theirs: the user no longer vouches for them. */
function selectorsOf(s: LiveSystem, users: UserDirectory): string[] {
  const out = s.tags.map(tagSelector);
  const u = users.get(s.ownerId ?? null);
  if (u && !u.disabled) out.push(USER_PREFIX + u.email, ...u.groups.map((g) => GROUP_PREFIX + g));
  return out;
}

function dnsNamesOf(w: World, s: LiveSystem): string[] {
  return [...new Set([s.name, ...s.dnsNames, ...(w.recordNames.get(s.identity) ?? [])])];
}

/** Layout is the part of a system's map that only the World decides. */
interface Layout {
  epoch: number;
  identity: string;
  peers: LiveSystem[];
  peerIds: string[];
  /** identities are the peers' identities, in map order (ascending). */
  identities: string[];
  /** policies, routes and routeGrants are those fields' JSON texts (a delta may carry them). */
  policies: string;
  routes: string;
  routeGrants: string;
}

/** MapContent is a map's content (see MapBuilder.content) and its parts, which a delta
 * (delta.ts) compares with what the system last got. */
export interface MapContent {
  text: string;
  peerIds: string[];
  identities: string[];
  /** peerJson[i] is the MapPeer JSON of identities[i]. */
  peerJson: string[];
  self: string;
  /** head is the text between self and peers: network, zone, discovery and relays. */
  head: string;
  policies: string;
  routes: string;
  routeGrants: string;
}

/** MapBuilder computes map contents, caching what does not change between versions. */
export class MapBuilder {
  private worldNow: World | null = null;
  /** changedAt is the registry version at which the peer's JSON last came out different. */
  private readonly peerJson = new Map<string, { rev: number; policyEpoch: number; json: string; changedAt: number }>();
  private readonly layouts = new Map<string, Layout>();
  private natJson: string;
  private readonly network6Json: string;

  constructor(
    private readonly registry: Registry,
    private readonly nat: MapNatFields = {},
  ) {
    this.natJson = natFieldsJson(nat);
    this.network6Json = JSON.stringify(formatIpPrefix(registry.network6));
  }

  /** setCoordinators changes the coordinators' URLs every map lists from now on. */
  setCoordinators(urls: string[]): void {
    this.natJson = natFieldsJson({ ...this.nat, coordinators: urls });
  }

  /** world returns the World for the registry's current world epoch. */
  world(): World {
    if (!this.worldNow || this.worldNow.epoch !== this.registry.worldEpoch) {
      this.worldNow = buildWorld(this.registry);
      if (this.peerJson.size > this.worldNow.byIdentity.size * 2 + 1024) this.prunePeerCache();
    }
    return this.worldNow;
  }

  /** peer returns the MapPeer JSON of s; it is the same for every recipient. */
  private peer(w: World, s: LiveSystem): string {
    const cached = this.peerJson.get(s.id);
    if (cached && cached.rev === s.rev && cached.policyEpoch === this.registry.policyEpoch) return cached.json;
    const p: MapPeer = {
      identity: s.identity,
      name: s.name,
      publicKey: s.wgKey,
      virtualAddress: formatIPv4(s.address),
      virtualAddress6: this.registry.address6(s),
      endpoints: endpointsOf(s),
      tags: s.tags,
      dnsNames: dnsNamesOf(w, s),
      providesRoutes: w.provides.get(s.identity) ?? [],
      online: s.online,
    };
    const json = JSON.stringify(p);
    const changedAt = cached?.json === json ? cached.changedAt : this.registry.version;
    this.peerJson.set(s.id, { rev: s.rev, policyEpoch: this.registry.policyEpoch, json, changedAt });
    return json;
  }

  /** peerChangedAt is the registry version at which the system's MapPeer JSON last changed, as
   * of the last map that listed it; a peer never listed yet counts as changed now. A delta
   * against a map of version V carries the peers changed after V. */
  peerChangedAt(id: string): number {
    return this.peerJson.get(id)?.changedAt ?? this.registry.version;
  }

  private prunePeerCache(): void {
    for (const id of this.peerJson.keys()) if (!this.registry.get(id)) this.peerJson.delete(id);
    for (const id of this.layouts.keys()) if (!this.registry.get(id)) this.layouts.delete(id);
  }

  /** layout returns what of s's map depends only on the World: its peers in order, its
   * policies and routes. Cached per world epoch, so a peer going online or reporting an
   * endpoint costs a join of cached strings, even for a map with thousands of peers. */
  private layout(w: World, s: LiveSystem): Layout {
    const cached = this.layouts.get(s.id);
    if (cached && cached.epoch === w.epoch && cached.identity === s.identity) return cached;
    const me = s.identity;
    const peers = new Set<string>();
    const policyJson: string[] = [];
    for (const i of w.involved.get(me) ?? []) {
      const p = w.policies[i]!;
      const inS = p.senders.has(me);
      const inR = p.receivers.has(me);
      if (inS) for (const r of p.receivers) peers.add(r);
      if (inR) for (const x of p.senders) peers.add(x);
      // Only this system's side matters to its helper, so the other side is all it gets of the
      // list it is on: a sender does not need to know its fellow senders.
      const senders = inS && !inR ? `[${JSON.stringify(me)}]` : p.sendersJson;
      const receivers = inR && !inS ? `[${JSON.stringify(me)}]` : p.receiversJson;
      // Only maps of policies that name people pay for the explanation.
      const via =
        p.via.size === 0
          ? ''
          : viaJson(p.via, [...(inS && !inR ? [me] : p.senders), ...(inR && !inS ? [me] : p.receivers)]);
      policyJson.push(`{"name":${p.nameJson},"senders":${senders},"receivers":${receivers},${p.tailJson}${via}}`);
    }
    const grants = w.grants.get(me);
    const routes: string[] = [];
    if (grants) {
      // A client can send its whole internet traffic of a family through one exit node only:
      // each family's full tunnel goes to the first exit node (by identity) that grants it.
      const taken = new Set<string>();
      for (const exit of [...grants.keys()].sort()) {
        peers.add(exit);
        const subnets = grants.get(exit)!.filter((c) => !taken.has(c));
        for (const c of subnets) if (FULL_TUNNELS.includes(c)) taken.add(c);
        if (subnets.length > 0) routes.push(`${JSON.stringify(exit)}:${JSON.stringify(subnets)}`);
      }
    }
    for (const c of w.routeClients.get(me) ?? []) peers.add(c);
    const exitGrants = w.exitGrants.get(me);
    const routeGrants = exitGrants
      ? [...exitGrants.keys()].sort().map((c) => `${JSON.stringify(c)}:${JSON.stringify(exitGrants.get(c))}`)
      : [];
    peers.delete(me);
    const identities = [...peers].sort();
    const list = identities.map((id) => w.byIdentity.get(id)!);
    const layout: Layout = {
      epoch: w.epoch,
      identity: me,
      peers: list,
      peerIds: list.map((p) => p.id),
      identities,
      policies: `[${policyJson.join(',')}]`,
      routes: `{${routes.join(',')}}`,
      routeGrants: `{${routeGrants.join(',')}}`,
    };
    this.layouts.set(s.id, layout);
    return layout;
  }

  /** peerIdsOf returns the system ids of s's peers in its current map. */
  peerIdsOf(s: LiveSystem): readonly string[] {
    return this.layout(this.world(), s).peerIds;
  }

  /** content returns the map of s without its first three fields (protocol, version,
   * generatedAt), as the JSON text after them (`"systemId":...}`), and the ids of its peers.
   * Equal content means an equal map, so only systems whose content changed get a new map. */
  content(s: LiveSystem): MapContent {
    const w = this.world();
    const l = this.layout(w, s);
    const peerJson: string[] = new Array(l.peers.length);
    for (let i = 0; i < l.peers.length; i++) peerJson[i] = this.peer(w, l.peers[i]!);
    const self = {
      identity: s.identity,
      name: s.name,
      virtualAddress: formatIPv4(s.address),
      virtualAddress6: this.registry.address6(s),
      tags: s.tags,
      dnsNames: dnsNamesOf(w, s),
      providesRoutes: w.provides.get(s.identity) ?? [],
    };
    const selfJson = JSON.stringify(self);
    const head = `"virtualNetwork":${JSON.stringify(formatCidr(this.registry.network))},"virtualNetwork6":${this.network6Json},"dnsZone":${JSON.stringify(this.registry.zone)},${this.natJson}`;
    const text =
      `"systemId":${JSON.stringify(s.id)},"self":${selfJson},${head}` +
      `"peers":[${peerJson.join(',')}],"policies":${l.policies},"routes":${l.routes},"routeGrants":${l.routeGrants}}`;
    return {
      text,
      peerIds: l.peerIds,
      identities: l.identities,
      peerJson,
      self: selfJson,
      head,
      policies: l.policies,
      routes: l.routes,
      routeGrants: l.routeGrants,
    };
  }
}

/** mapPayload puts the version header in front of content: the JSON text of a NetworkMap. */
export function mapPayload(version: number, generatedAt: number, content: string): string {
  return `{"protocol":${CONTROL_PROTOCOL},"version":${version},"generatedAt":${generatedAt},${content}`;
}
