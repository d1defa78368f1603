// The World: the policy file resolved against the active systems once per world epoch
// (netmap.ts builds every map from it). Selectors (tags, identities, user: and group:) are
// expanded to identities, and the requirements only the coordinator can judge are evaluated for
// each sender: PublicIp against its observed address, UserAuthentication against its user's
// last sign-in (user-auth.ts). Maps carry the outcome, not those requirements.
//
// A World for a new policy file reuses the last World's Members (world-members.ts: the systems
// each selector names, and the member lists selectors expand to), so the file costs what its
// policies decide, not a walk over every system's membership again.
import type { Acl, Policy, TrustRequirement, UserAuthenticationRequirement } from '../../../src-shared/wire/policy.js';
import { comparePrefix, formatIpPrefix, parseIpPrefix } from '../../../src-shared/lib/ip/addr.js';
import type { LiveSystem, Registry } from '../store/registry.js';
import type { PolicyFile } from '../policy/policy-file.js';
import { membersOf, type Members } from './world-members.js';
import { peopleVia } from './people.js';
import { earliest, filterByUserAuth, noteSignInExpiries, selfSignIn, type Lapse } from './user-auth.js';
import type { SelfSignIn } from '../../../src-shared/wire/control.js';
import { publicIpCheck, publicIpMet, type PublicIpCheck } from './public-ip.js';
import type { CountryDb } from '../geoip/geoip.js';

/** ResolvedPolicy is one enabled policy with its selectors expanded to active identities. */
export interface ResolvedPolicy {
  /** senders and receivers are shared with other Worlds of the same Members when no
   * requirement filtered them (world-members.ts Expansion.set): never change them. */
  senders: ReadonlySet<string>;
  receivers: ReadonlySet<string>;
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
  /** members: the systems and what selectors name (kept across policy files). */
  members: Members;
  byIdentity: Map<string, LiveSystem>;
  policies: ResolvedPolicy[];
  /** involved[identity] lists the indexes of policies naming that system (either side); the
   * same object as the last World's when every policy has the same members on each side. */
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
  /** signIns are the map's self.signIn of the systems people enrolled by signing in. */
  signIns: Map<string, SelfSignIn>;
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}

function resolvePolicy(
  p: Policy,
  m: Members,
  now: number,
  countryDb: CountryDb | null,
  expiries: Map<string, number>,
): ResolvedPolicy {
  const ipReqs: PublicIpCheck[] = [];
  const userReqs: UserAuthenticationRequirement[] = [];
  const kept: TrustRequirement[] = [];
  for (const r of p.trustRequirements) {
    if (r.type === 'public-ip') ipReqs.push(publicIpCheck(r));
    else if (r.type === 'user-authentication') userReqs.push(r);
    else kept.push(r);
  }
  const from = m.expand(p.senders);
  const to = m.expand(p.receivers);
  const base = {
    receivers: to.set,
    acls: p.acls,
    nameJson: JSON.stringify(p.name),
    receiversJson: to.json,
    tailJson: `"acls":${JSON.stringify(p.acls)},"trustRequirements":${JSON.stringify(kept)},"enabled":${p.enabled}`,
    via: peopleVia(p, m.bySelector, m.byIdentity, m.users),
  };
  // Without requirements to judge, the senders are the expansion as it is (shared, not copied).
  if (ipReqs.length === 0 && userReqs.length === 0)
    return { ...base, senders: from.set, sendersJson: from.json, nextLapseAt: null, lapses: [] };
  const byIp = from.ids.filter((id) => publicIpMet(ipReqs, m.byIdentity.get(id)!.observedIp, countryDb));
  const userOf = (id: string) => m.users.get(m.byIdentity.get(id)!.ownerId ?? null);
  const { senders, nextLapseAt, lapses } = filterByUserAuth(p.name, userReqs, byIp, userOf, now);
  noteSignInExpiries(userReqs, byIp, userOf, expiries);
  return { ...base, senders: new Set(senders), sendersJson: JSON.stringify(senders), nextLapseAt, lapses };
}

/** involvedOf indexes which policies name each system; prev's index is kept when every policy
 * has the same member sets on each side as prev's (a policy file that changed only what the
 * policies allow, not whom they name). */
function involvedOf(policies: readonly ResolvedPolicy[], prev: World | null): Map<string, number[]> {
  const same =
    prev !== null &&
    prev.policies.length === policies.length &&
    policies.every((p, i) => p.senders === prev.policies[i]!.senders && p.receivers === prev.policies[i]!.receivers);
  if (same) return prev.involved;
  const involved = new Map<string, number[]>();
  policies.forEach((p, i) => {
    for (const id of p.senders) push(involved, id, i);
    for (const id of p.receivers) if (!p.senders.has(id)) push(involved, id, i);
  });
  return involved;
}

/** buildWorld resolves the registry's policy (or another file: the policy dry run compares two
 * Worlds) against its active systems; with prev (the last World built for this registry), its
 * Members are reused when no system or user changed since (world-members.ts). */
export function buildWorld(
  registry: Registry,
  file: PolicyFile = registry.policy,
  now = Date.now(),
  prev: World | null = null,
): World {
  const members = membersOf(registry, prev?.members ?? null);
  members.startWorld();
  const { byIdentity, active, users } = members;
  // A disabled policy grants nothing, so it is left out of maps altogether. That keeps a useful
  // rule true: a system appears in another's map exactly when the two are peers, which lets a
  // change to one system touch only its peers' maps (publisher.ts).
  const expiries = new Map<string, number>();
  const policies = file.policies
    .filter((p) => p.enabled)
    .map((p) => resolvePolicy(p, members, now, registry.countryDb, expiries));
  const signIns = new Map<string, SelfSignIn>();
  for (const s of active) {
    const u = users.get(s.ownerId ?? null);
    if (u) signIns.set(s.identity, selfSignIn(u, expiries.get(s.identity)));
  }
  const involved = involvedOf(policies, prev !== null && prev.members === members ? prev : null);
  const recordNames = new Map<string, string[]>();
  for (const r of file.dnsRecords) for (const id of members.expand(r.targets).ids) push(recordNames, id, r.name);
  const provides = new Map<string, string[]>();
  const grants = new Map<string, Map<string, string[]>>();
  const routeClients = new Map<string, Set<string>>();
  const exitGrants = new Map<string, Map<string, string[]>>();
  for (const route of file.routes) {
    const exits = members.expand([route.exitNode]).ids;
    const clients = members.expand(route.senders).ids;
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
    members,
    byIdentity,
    policies,
    involved,
    recordNames,
    provides,
    grants,
    routeClients,
    exitGrants,
    nextLapseAt: earliest(policies.map((p) => p.nextLapseAt)),
    signIns,
  };
}

/** samePeerFacts tells whether two Worlds decide the same of every system as a peer: the DNS
 * names records give it and the routes it provides (netmap.ts peer). */
export function samePeerFacts(a: World, b: World): boolean {
  return sameLists(a.recordNames, b.recordNames) && sameLists(a.provides, b.provides);
}

function sameLists(a: ReadonlyMap<string, readonly string[]>, b: ReadonlyMap<string, readonly string[]>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, x] of a) {
    const y = b.get(k);
    if (y === undefined || y.length !== x.length || x.some((v, i) => v !== y[i])) return false;
  }
  return true;
}

// sortCidrs orders route subnets (canonical IPv4 or IPv6 text, checked by the policy file's
// parser): IPv4 first, then by address and length, so that maps are stable.
function sortCidrs(list: string[]): string[] {
  const parsed = list.map((x) => parseIpPrefix(x)!).sort(comparePrefix);
  return parsed.map(formatIpPrefix);
}
