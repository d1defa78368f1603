// Network maps (control.ts NetworkMap): what each active system may reach, from the policy file and the
// systems. The policy is resolved once per map version (a World: selectors expanded to identities, PublicIp
// and UserAuthentication evaluated for each sender); each system's map is then stitched together from JSON
// fragments cached per peer, so 2,000 maps cost one pass over the policy plus joins, not 2,000 resolutions.
import { observedEndpoint } from '../../../src-shared/lib/ip/underlay.js';
import { CONTROL_LIMITS, CONTROL_PROTOCOL, type MapPeer, type RelayInfo } from '../../../src-shared/wire/control.js';
import {
  GROUP_PREFIX,
  tagSelector,
  USER_PREFIX,
  type Acl,
  type Policy,
  type Selector,
  type TrustRequirement,
  type UserAuthenticationRequirement,
} from '../../../src-shared/wire/policy.js';
import {
  cidrContains,
  formatCidr,
  formatIPv4,
  parseCidr,
  parseIPv4,
  type Cidr,
} from '../../../src-shared/lib/ip/ipv4.js';
import { comparePrefix, formatIpPrefix, parseIpPrefix } from '../../../src-shared/lib/ip/addr.js';
import type { LiveSystem, Registry } from '../store/registry.js';
import type { PolicyFile } from '../policy/policy-file.js';
import { usersOf, type UserDirectory } from '../store/users.js';
import { peopleVia, viaJson } from './people.js';
import { earliest, filterByUserAuth, type Lapse } from './user-auth.js';
import { noteWorld } from './lapse-timer.js';

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
  /** nextLapseAt and lapses: UserAuthentication requirements (user-auth.ts). */
  nextLapseAt: number | null;
  lapses: Lapse[];
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
  /** nextLapseAt is when a UserAuthentication requirement met now first lapses (or null). */
  nextLapseAt: number | null;
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
  now: number,
): ResolvedPolicy {
  const ipReqs: Cidr[][] = [];
  const userReqs: UserAuthenticationRequirement[] = [];
  const kept: TrustRequirement[] = [];
  for (const r of p.trustRequirements) {
    if (r.type === 'public-ip') ipReqs.push(r.ranges.map((x) => parseCidr(x)).filter((c): c is Cidr => c !== null));
    else if (r.type === 'user-authentication') userReqs.push(r);
    else kept.push(r);
  }
  const byIp = expand(p.senders, bySelector, byIdentity).filter((id) => publicIpMet(ipReqs, byIdentity.get(id)!));
  const userOf = (id: string) => users.get(byIdentity.get(id)!.ownerId ?? null);
  const { senders, nextLapseAt, lapses } = filterByUserAuth(p.name, userReqs, byIp, userOf, now);
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
    nextLapseAt,
    lapses,
  };
}

/** buildWorld resolves the registry's policy (or another file: the policy dry run compares two
 * Worlds) against its active systems. */
export function buildWorld(registry: Registry, file: PolicyFile = registry.policy, now = Date.now()): World {
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
  const policies = file.policies.filter((p) => p.enabled).map((p) => resolvePolicy(p, byTag, byIdentity, users, now));
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
    nextLapseAt: earliest(policies.map((p) => p.nextLapseAt)),
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

/** FULL_TUNNELS are the full tunnel of each family (canonical text, as the policy parser writes it). */
const FULL_TUNNELS = ['0.0.0.0/0', '::/0'];

// sortCidrs orders route subnets (canonical IPv4 or IPv6 text, checked by the policy file's
// parser): IPv4 first, then by address and length, so that maps are stable.
function sortCidrs(list: string[]): string[] {
  const parsed = list.map((x) => parseIpPrefix(x)!).sort(comparePrefix);
  return parsed.map(formatIpPrefix);
}

/** endpointsOf lists where a system may be reached, best first: the UDP mapping its discovery
 * request was seen from (exactly its WireGuard socket's public address), then the observed
 * address, IPv4 or IPv6, with the reported listen port (not a loopback or link-local one: it
 * would point peers at themselves or at nothing), then the reported endpoints of either family
 * ([ipv6]:port). */
export function endpointsOf(s: LiveSystem): string[] {
  const out: string[] = [];
  if (s.observedUdp !== null) out.push(s.observedUdp);
  const e = s.observedIp === null || s.listenPort === null ? null : observedEndpoint(s.observedIp, s.listenPort);
  if (e !== null && !out.includes(e)) out.push(e);
  for (const e of s.reported) if (!out.includes(e)) out.push(e);
  return out.slice(0, CONTROL_LIMITS.endpointsPerSystem);
}

/** MapNatFields are the NAT traversal fields every map carries alike (control.ts NetworkMap
 * discovery and relays). */
export interface MapNatFields {
  discovery?: string;
  discovery6?: string;
  relays?: RelayInfo[];
}

/** natFieldsJson renders MapNatFields once as `"discovery":...,"relays":[...],` (or ''), so
 * maps pay a string join for them, not a JSON.stringify each. */
function natFieldsJson(f: MapNatFields): string {
  let out = '';
  if (f.discovery !== undefined) out += `"discovery":${JSON.stringify(f.discovery)},`;
  if (f.discovery6 !== undefined) out += `"discovery6":${JSON.stringify(f.discovery6)},`;
  if (f.relays !== undefined && f.relays.length > 0) out += `"relays":${JSON.stringify(f.relays)},`;
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
  /** tail closes the peers array and holds policies, routes and route grants: `],"policies":[...],...}`. */
  tail: string;
}

/** MapBuilder computes map contents, caching what does not change between versions. */
export class MapBuilder {
  private worldNow: World | null = null;
  private readonly peerJson = new Map<string, { rev: number; policyEpoch: number; json: string }>();
  private readonly layouts = new Map<string, Layout>();
  private readonly natJson: string;
  private readonly network6Json: string;

  constructor(
    private readonly registry: Registry,
    nat: MapNatFields = {},
  ) {
    this.natJson = natFieldsJson(nat);
    this.network6Json = JSON.stringify(formatIpPrefix(registry.network6));
  }

  /** world returns the World for the registry's current world epoch. */
  world(): World {
    if (!this.worldNow || this.worldNow.epoch !== this.registry.worldEpoch) {
      this.worldNow = buildWorld(this.registry);
      noteWorld(this.registry, this.worldNow);
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
    this.peerJson.set(s.id, { rev: s.rev, policyEpoch: this.registry.policyEpoch, json });
    return json;
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
    const list = [...peers].sort().map((id) => w.byIdentity.get(id)!);
    const layout: Layout = {
      epoch: w.epoch,
      identity: me,
      peers: list,
      peerIds: list.map((p) => p.id),
      tail: `],"policies":[${policyJson.join(',')}],"routes":{${routes.join(',')}},"routeGrants":{${routeGrants.join(',')}}}`,
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
  content(s: LiveSystem): { text: string; peerIds: string[] } {
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
    const text =
      `"systemId":${JSON.stringify(s.id)},"self":${JSON.stringify(self)},` +
      `"virtualNetwork":${JSON.stringify(formatCidr(this.registry.network))},"virtualNetwork6":${this.network6Json},"dnsZone":${JSON.stringify(this.registry.zone)},${this.natJson}` +
      `"peers":[${peerJson.join(',')}${l.tail}`;
    return { text, peerIds: l.peerIds };
  }
}

/** mapPayload puts the version header in front of content: the JSON text of a NetworkMap. */
export function mapPayload(version: number, generatedAt: number, content: string): string {
  return `{"protocol":${CONTROL_PROTOCOL},"version":${version},"generatedAt":${generatedAt},${content}`;
}
