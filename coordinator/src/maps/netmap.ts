// Network maps (control.ts NetworkMap): what each active system may reach, from the policy file and the
// systems. The policy is resolved once per map version (a World: selectors expanded to identities, PublicIp
// and UserAuthentication evaluated for each sender); each system's map is then stitched together from JSON
// fragments cached per peer, so 2,000 maps cost one pass over the policy plus joins, not 2,000 resolutions.
import { hash } from 'node:crypto';
import { observedEndpoint } from '../../../src-shared/lib/ip/underlay.js';
import { CONTROL_LIMITS, CONTROL_PROTOCOL, type MapPeer, type RelayInfo } from '../../../src-shared/wire/control.js';
import { formatCidr, formatIPv4 } from '../../../src-shared/lib/ip/ipv4.js';
import { formatIpPrefix } from '../../../src-shared/lib/ip/addr.js';
import type { LiveSystem, Registry } from '../store/registry.js';
import { noteWorld } from './lapse-timer.js';
import { buildWorld, samePeerFacts, type World } from './world.js';
import { classKey, PeerClasses, peerListOf } from './peer-classes.js';
import { PolicyTexts } from './policy-texts.js';
import { joinedUtf8, LazyContent, type MapContent } from './map-content.js';

export { buildWorld, type ResolvedPolicy, type World } from './world.js';
export type { MapContent } from './map-content.js';

/** JOINED_CACHE_BYTES bounds MapBuilder's joined peer lists (a shared service's is 3 MB at
 * 10,000 systems). */
const JOINED_CACHE_BYTES = 8 << 20;

/** FULL_TUNNELS are the full tunnel of each family (canonical text, as the policy parser writes it). */
const FULL_TUNNELS = ['0.0.0.0/0', '::/0'];

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
  /** coordinators are the URLs of every coordinator on the same database (control.ts). */
  coordinators?: string[];
}

/** natFieldsJson renders MapNatFields once as `"discovery":...,"relays":[...],` (or ''), so
 * maps pay a string join for them, not a JSON.stringify each. */
function natFieldsJson(f: MapNatFields): string {
  let out = '';
  if (f.discovery !== undefined) out += `"discovery":${JSON.stringify(f.discovery)},`;
  if (f.discovery6 !== undefined) out += `"discovery6":${JSON.stringify(f.discovery6)},`;
  if (f.relays !== undefined && f.relays.length > 0) out += `"relays":${JSON.stringify(f.relays)},`;
  if (f.coordinators !== undefined && f.coordinators.length > 0)
    out += `"coordinators":${JSON.stringify(f.coordinators)},`;
  return out;
}

function dnsNamesOf(w: World, s: LiveSystem): string[] {
  const records = w.recordNames.get(s.identity);
  // Most systems have no names but their own: no set to build (a policy pass asks for every
  // system's, once as a peer and once for its own map).
  if (s.dnsNames.length === 0 && records === undefined) return [s.name];
  return [...new Set([s.name, ...s.dnsNames, ...(records ?? [])])];
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
  /** policiesDigest is the policies' class template's SHA-256, or null (policy-texts.ts). */
  policiesDigest: Buffer | null;
  routes: string;
  routeGrants: string;
}

/** MapBuilder computes map contents, caching what does not change between versions. */
export class MapBuilder {
  private worldNow: World | null = null;
  /** changedAt is the registry version at which the peer's JSON last came out different; head
   * is the JSON of what the system's own fields decide (revHead), kept across policy files. */
  private readonly peerJson = new Map<
    string,
    { rev: number; peerEpoch: number; json: string; changedAt: number; head: string; tail: string }
  >();
  /** peerEpoch keys peerJson: it moves with the policy files that change peers' JSON
   * (notePolicy); peerPolicyEpoch is the registry's policy epoch it was last checked at. */
  private peerEpoch = 0;
  private peerPolicyEpoch = -1;
  private readonly layouts = new Map<string, Layout>();
  /** selfs: each system's self JSON (and the head of it its record decides) and its digest. */
  private readonly selfs = new Map<
    string,
    { system: LiveSystem; rev: number; head: string; tail: string; json: string; digest: Buffer }
  >();
  private readonly classes = new PeerClasses();
  private readonly policyTexts = new PolicyTexts();
  /** fresh: for each peer list (shared by a class of systems, peer-classes.ts), when its peers'
   * JSON was last brought up to date and the newest version any of them changed at. A pass
   * then walks each class's list once, not once per member: 20 shared services list 9,000
   * developers each, and 9,000 developers list the same few dozen servers. */
  private readonly fresh = new WeakMap<
    readonly LiveSystem[],
    { version: number; epoch: number; policyEpoch: number; changedAt: number }
  >();
  /** joined holds the joined peer JSON of the lists digested at one registry version (key), up
   * to JOINED_CACHE_BYTES: the maps of a class (20 shared services listing 9,000 developers)
   * then join it once, not once each. Lists of one member (a full mesh) fill it and pass by. */
  private joined = new Map<readonly LiveSystem[], Buffer>();
  private joinedKey = '';
  private joinedBytes = 0;
  private natJson: string;
  private readonly network6Json: string;
  /** head is the text between self and peers, the same in every map (MapContent.head). */
  private head: string;

  constructor(
    private readonly registry: Registry,
    private readonly nat: MapNatFields = {},
  ) {
    this.natJson = natFieldsJson(nat);
    this.network6Json = JSON.stringify(formatIpPrefix(registry.network6));
    this.head = this.headJson();
  }

  private headJson(): string {
    return `"virtualNetwork":${JSON.stringify(formatCidr(this.registry.network))},"virtualNetwork6":${this.network6Json},"dnsZone":${JSON.stringify(this.registry.zone)},${this.natJson}`;
  }

  /** setCoordinators changes the coordinators' URLs every map lists from now on. */
  setCoordinators(urls: string[]): void {
    this.natJson = natFieldsJson({ ...this.nat, coordinators: urls });
    this.head = this.headJson();
  }

  /** world returns the World for the registry's current world epoch. */
  world(): World {
    if (!this.worldNow || this.worldNow.epoch !== this.registry.worldEpoch) {
      const prev = this.worldNow;
      this.worldNow = buildWorld(this.registry, this.registry.policy, Date.now(), prev);
      this.notePolicy(prev, this.worldNow);
      noteWorld(this.registry, this.worldNow);
      if (this.peerJson.size > this.worldNow.byIdentity.size * 2 + 1024) this.prunePeerCache();
    }
    return this.worldNow;
  }

  /** notePolicy moves peerEpoch when a new policy file changes what it decides of peers (their
   * DNS names and routes): a file that changes only what the policies allow (most edits, and
   * the one that alters every map) keeps every peer's JSON, so a pass over 10,000 maps does
   * not render 10,000 peers again to find each the same. Other World changes (a system joins,
   * is re-tagged) change only the peer JSON of systems whose revision moved. */
  private notePolicy(prev: World | null, w: World): void {
    const policyEpoch = this.registry.policyEpoch;
    if (policyEpoch === this.peerPolicyEpoch) return;
    this.peerPolicyEpoch = policyEpoch;
    if (prev === null || !samePeerFacts(prev, w)) this.peerEpoch++;
  }

  /** peer returns the MapPeer JSON of s; it is the same for every recipient. */
  private peer(w: World, s: LiveSystem): string {
    const cached = this.peerJson.get(s.id);
    if (cached && cached.rev === s.rev && cached.peerEpoch === this.peerEpoch) return cached.json;
    // A policy file changes what the World decides of a peer (its DNS names and routes), not its
    // address, endpoints or tags: the head is kept, so a policy change costs each peer a join,
    // not its endpoints and IPv6 address formatted again (40% of a policy pass, profiled).
    const head = cached && cached.rev === s.rev ? cached.head : this.revHead(s);
    const tail =
      `,"dnsNames":${JSON.stringify(dnsNamesOf(w, s))},` +
      `"providesRoutes":${JSON.stringify(w.provides.get(s.identity) ?? [])},"online":${s.online}}`;
    if (cached && cached.head === head && cached.tail === tail) {
      // Unchanged (a policy file leaves most peers alone): the kept entry and its JSON stay,
      // compared by their short World-decided tail, and nothing new reaches the old generation.
      cached.rev = s.rev;
      cached.peerEpoch = this.peerEpoch;
      return cached.json;
    }
    const json = head + tail;
    const changedAt = cached?.json === json ? cached.changedAt : this.registry.version;
    this.peerJson.set(s.id, { rev: s.rev, peerEpoch: this.peerEpoch, json, changedAt, head, tail });
    return json;
  }

  /** revHead is the MapPeer JSON of the fields only the system's own record decides (they change
   * with its rev), without the closing brace: the fields that follow are MapPeer's in order. */
  private revHead(s: LiveSystem): string {
    const p: Omit<MapPeer, 'dnsNames' | 'providesRoutes' | 'online'> = {
      identity: s.identity,
      name: s.name,
      publicKey: s.wgKey,
      virtualAddress: formatIPv4(s.address),
      virtualAddress6: this.registry.address6(s),
      endpoints: endpointsOf(s),
      tags: s.tags,
    };
    return JSON.stringify(p).slice(0, -1);
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
    for (const id of this.selfs.keys()) if (!this.registry.get(id)) this.selfs.delete(id);
  }

  /** layout returns what of s's map depends only on the World: its peers in order, its
   * policies and routes. Cached per world epoch, so a peer going online or reporting an
   * endpoint costs a join of cached strings, even for a map with thousands of peers. */
  private layout(w: World, s: LiveSystem): Layout {
    const cached = this.layouts.get(s.id);
    if (cached && cached.epoch === w.epoch && cached.identity === s.identity) return cached;
    const me = s.identity;
    const key = classKey(w, me);
    const policies = this.policyTexts.of(w, me, w.involved.get(me) ?? [], key);
    const extra: string[] = [];
    const grants = w.grants.get(me);
    const routes: string[] = [];
    if (grants) {
      // A client can send its whole internet traffic of a family through one exit node only:
      // each family's full tunnel goes to the first exit node (by identity) that grants it.
      const taken = new Set<string>();
      for (const exit of [...grants.keys()].sort()) {
        extra.push(exit);
        const subnets = grants.get(exit)!.filter((c) => !taken.has(c));
        for (const c of subnets) if (FULL_TUNNELS.includes(c)) taken.add(c);
        if (subnets.length > 0) routes.push(`${JSON.stringify(exit)}:${JSON.stringify(subnets)}`);
      }
    }
    for (const c of w.routeClients.get(me) ?? []) extra.push(c);
    const exitGrants = w.exitGrants.get(me);
    const routeGrants = exitGrants
      ? [...exitGrants.keys()].sort().map((c) => `${JSON.stringify(c)}:${JSON.stringify(exitGrants.get(c))}`)
      : [];
    // The policies' peers come shared by class (peer-classes.ts); routes add a few of their own.
    const byClass = this.classes.of(w, me, key);
    const peers = extra.length === 0 ? byClass : peerListOf(w, [...byClass.identities, ...extra], me);
    const layout: Layout = {
      epoch: w.epoch,
      identity: me,
      peers: peers.list,
      peerIds: peers.peerIds,
      identities: peers.identities,
      policies: policies.json,
      policiesDigest: policies.digest,
      routes: `{${routes.join(',')}}`,
      routeGrants: `{${routeGrants.join(',')}}`,
    };
    this.layouts.set(s.id, layout);
    return layout;
  }

  /** freshen brings the JSON of a peer list's systems up to date, once per list and registry
   * version, and returns the newest version at which one of them changed. */
  private freshen(w: World, peers: readonly LiveSystem[]): number {
    const version = this.registry.version;
    const policyEpoch = this.registry.policyEpoch;
    const f = this.fresh.get(peers);
    if (f && f.version === version && f.epoch === w.epoch && f.policyEpoch === policyEpoch) return f.changedAt;
    let changedAt = 0;
    for (const p of peers) {
      this.peer(w, p);
      changedAt = Math.max(changedAt, this.peerJson.get(p.id)!.changedAt);
    }
    this.fresh.set(peers, { version, epoch: w.epoch, policyEpoch, changedAt });
    return changedAt;
  }

  /** joinedPeers returns the peers' JSON of a list (brought up to date by freshen), joined
   * with commas, as UTF-8. */
  private joinedPeers(w: World, peers: readonly LiveSystem[]): Buffer {
    const key = `${this.registry.version}/${w.epoch}/${this.registry.policyEpoch}`;
    if (key !== this.joinedKey) {
      this.joined = new Map();
      this.joinedKey = key;
      this.joinedBytes = 0;
    }
    let b = this.joined.get(peers);
    if (b) return b;
    b = joinedUtf8(peers.map((p) => this.peer(w, p)));
    if (this.joinedBytes + b.length <= JOINED_CACHE_BYTES) {
      this.joined.set(peers, b);
      this.joinedBytes += b.length;
    }
    return b;
  }

  /** peerIdsOf returns the system ids of s's peers in its current map. */
  peerIdsOf(s: LiveSystem): readonly string[] {
    return this.layout(this.world(), s).peerIds;
  }

  /** selfOf returns the JSON of s's map's `self` and its SHA-256. The part its own record
   * decides is kept per revision (as a peer's revHead), and the digest while the JSON stays the
   * same: a policy file changes few systems' self, and each would otherwise cost a hash. */
  private selfOf(w: World, s: LiveSystem): { json: string; digest: Buffer } {
    const cached = this.selfs.get(s.id);
    let head: string;
    if (cached && cached.system === s && cached.rev === s.rev) head = cached.head;
    else {
      const own = {
        identity: s.identity,
        name: s.name,
        virtualAddress: formatIPv4(s.address),
        virtualAddress6: this.registry.address6(s),
        tags: s.tags,
      };
      head = JSON.stringify(own).slice(0, -1);
    }
    // The fields after tags, in NetworkMap self's order (control.ts): what the World decides.
    const signIn = w.signIns.get(s.identity);
    const tail =
      `,"dnsNames":${JSON.stringify(dnsNamesOf(w, s))},` +
      `"providesRoutes":${JSON.stringify(w.provides.get(s.identity) ?? [])}` +
      `${signIn === undefined ? '' : `,"signIn":${JSON.stringify(signIn)}`}}`;
    if (cached && cached.head === head && cached.tail === tail) {
      cached.system = s;
      cached.rev = s.rev;
      return cached;
    }
    const json = head + tail;
    const entry = { system: s, rev: s.rev, head, tail, json, digest: hash('sha256', json, 'buffer') };
    this.selfs.set(s.id, entry);
    return entry;
  }

  /** content returns the map of s without its first three fields (protocol, version,
   * generatedAt), as the JSON text after them (`"systemId":...}`), and the ids of its peers.
   * Equal content means an equal map, so only systems whose content changed get a new map. */
  content(s: LiveSystem): MapContent {
    const w = this.world();
    const l = this.layout(w, s);
    // Each peer's JSON is brought up to date (and with it the version it last changed at, which
    // tells whether this map's peers changed), but collected only if the map needs its text.
    const peersChangedAt = this.freshen(w, l.peers);
    const peerJsonOf = (): string[] => l.peers.map((p) => this.peer(w, p));
    const self = this.selfOf(w, s);
    const start = `"systemId":${JSON.stringify(s.id)},"self":${self.json},${this.head}"peers":[`;
    const tail = `],"policies":${l.policies},"routes":${l.routes},"routeGrants":${l.routeGrants}}`;
    return new LazyContent(start, tail, peerJsonOf, () => this.joinedPeers(w, l.peers), {
      peerIds: l.peerIds,
      identities: l.identities,
      peersChangedAt,
      self: self.json,
      selfDigest: self.digest,
      head: this.head,
      policies: l.policies,
      policiesDigest: l.policiesDigest,
      routes: l.routes,
      routeGrants: l.routeGrants,
    });
  }
}

/** mapPayload puts the version header in front of content: the JSON text of a NetworkMap. */
export function mapPayload(version: number, generatedAt: number, content: string): string {
  return `{"protocol":${CONTROL_PROTOCOL},"version":${version},"generatedAt":${generatedAt},${content}`;
}
