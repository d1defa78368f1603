// The World: the policy file resolved against the active systems once per world epoch
// (netmap.ts builds every map from it). Selectors (tags, identities, user: and group:) are
// expanded to identities, and the requirements only the coordinator can judge are evaluated for
// each sender: PublicIp against its observed address, UserAuthentication against its user's
// last sign-in (user-auth.ts). Maps carry the outcome, not those requirements.
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
import { comparePrefix, formatIpPrefix, parseIpPrefix } from '../../../src-shared/lib/ip/addr.js';
import type { LiveSystem, Registry } from '../store/registry.js';
import type { PolicyFile } from '../policy/policy-file.js';
import { usersOf, type UserDirectory } from '../store/users.js';
import { peopleVia } from './people.js';
import { earliest, filterByUserAuth, noteSignInExpiries, selfSignIn, type Lapse } from './user-auth.js';
import type { SelfSignIn } from '../../../src-shared/wire/control.js';
import { publicIpCheck, publicIpMet, type PublicIpCheck } from './public-ip.js';
import type { CountryDb } from '../geoip/geoip.js';

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
  /** signIns are the map's self.signIn of the systems people enrolled by signing in. */
  signIns: Map<string, SelfSignIn>;
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

function resolvePolicy(
  p: Policy,
  bySelector: Map<string, string[]>,
  byIdentity: Map<string, LiveSystem>,
  users: UserDirectory,
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
  const byIp = expand(p.senders, bySelector, byIdentity).filter((id) =>
    publicIpMet(ipReqs, byIdentity.get(id)!.observedIp, countryDb),
  );
  const userOf = (id: string) => users.get(byIdentity.get(id)!.ownerId ?? null);
  const { senders, nextLapseAt, lapses } = filterByUserAuth(p.name, userReqs, byIp, userOf, now);
  noteSignInExpiries(userReqs, byIp, userOf, expiries);
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
  const expiries = new Map<string, number>();
  const policies = file.policies
    .filter((p) => p.enabled)
    .map((p) => resolvePolicy(p, byTag, byIdentity, users, now, registry.countryDb, expiries));
  const signIns = new Map<string, SelfSignIn>();
  for (const s of active) {
    const u = users.get(s.ownerId ?? null);
    if (u) signIns.set(s.identity, selfSignIn(u, expiries.get(s.identity)));
  }
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
    signIns,
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

// sortCidrs orders route subnets (canonical IPv4 or IPv6 text, checked by the policy file's
// parser): IPv4 first, then by address and length, so that maps are stable.
function sortCidrs(list: string[]): string[] {
  const parsed = list.map((x) => parseIpPrefix(x)!).sort(comparePrefix);
  return parsed.map(formatIpPrefix);
}
