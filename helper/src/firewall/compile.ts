// Policies → rule set. Compiling resolves selectors, evaluates enabled flags
// and trust requirements at `now`, and merges every grant between this system and each peer into
// per-protocol sorted, coalesced port ranges, so that a decision is a couple of array reads and a
// binary search whatever the number of policies. A rule set is data only and never changes; a
// policy change or a schedule boundary builds a new one (nextChangeAt says when).
import {
  tagSelector,
  type Acl,
  type Policy,
  type PolicyMode,
  type PortRange,
  type Selector,
  type TrustRequirement,
} from '../../../src-shared/wire/policy.js';
import { normaliseTag } from '../../../src-shared/lib/policy-parse.js';
import { DROP, PASS } from './reasons.js';
import { nextScheduleChange, scheduleActive } from '../../../src-shared/lib/schedule.js';

/** PROTO numbers from the IANA protocol registry. */
export const PROTO = { icmp: 1, tcp: 6, udp: 17 } as const;

/** SystemInfo is a system as policies see it: its identity and tags (with or without tag:). */
export interface SystemInfo {
  identity: string;
  tags: readonly string[];
}

/** PeerInfo is a peer and the slot the device gave it. */
export interface PeerInfo extends SystemInfo {
  index: number;
}

/** CompileInput is everything a rule set depends on. */
export interface CompileInput {
  local: SystemInfo;
  peers: readonly PeerInfo[];
  policies: readonly Policy[];
  now: number;
  mode: PolicyMode;
  /** publicIpMet evaluates PublicIp requirements; absent, they are unmet (the coordinator's job). */
  publicIpMet?: (req: TrustRequirement & { type: 'public-ip' }, policy: Policy) => boolean;
}

/** DirectionGrants is what may start in one direction with one peer. tcp and udp hold
 * [from, to] pairs, sorted and coalesced. */
export interface DirectionGrants {
  readonly icmp: boolean;
  /** other covers protocols besides TCP, UDP and ICMP (only an 'any' ACL grants them). */
  readonly other: boolean;
  readonly tcp: Uint16Array;
  readonly udp: Uint16Array;
}

/** PeerRules are the grants with one peer: egress (this system starts), ingress (peer starts). */
export interface PeerRules {
  readonly index: number;
  readonly identity: string;
  readonly tags: readonly string[];
  readonly egress: DirectionGrants;
  readonly ingress: DirectionGrants;
}

/** RequirementState is one trust requirement as evaluated at compile time. */
export interface RequirementState {
  readonly requirement: TrustRequirement;
  readonly met: boolean;
  /** until is when a schedule next flips, or null (never within a week, not a schedule, or a
   * policy that does not name this system). */
  readonly until: number | null;
}

/** PolicyState is one policy as evaluated at compile time. */
export interface PolicyState {
  readonly policy: Policy;
  readonly requirements: readonly RequirementState[];
  /** active: enabled and every requirement met. */
  readonly active: boolean;
}

/** RuleSet is a compiled, immutable rule set. */
export interface RuleSet {
  readonly mode: PolicyMode;
  readonly local: SystemInfo;
  readonly compiledAt: number;
  /** nextChangeAt is when a schedule that matters here flips next (recompile then), or null. */
  readonly nextChangeAt: number | null;
  /** byIndex holds each configured peer's rules at its device slot. */
  readonly byIndex: readonly (PeerRules | undefined)[];
  /** states holds every policy's evaluation, in profile order, for `warren why`. */
  readonly states: readonly PolicyState[];
}

const NONE: DirectionGrants = Object.freeze({
  icmp: false,
  other: false,
  tcp: new Uint16Array(0),
  udp: new Uint16Array(0),
});
// "All ports" includes 0, which no explicit range may name, so allow-all really is everything.
const FULL_RANGE = Uint16Array.of(0, 65535);
const ALL: DirectionGrants = Object.freeze({ icmp: true, other: true, tcp: FULL_RANGE, udp: FULL_RANGE });

/** compile builds a rule set; cost is linear in policies, selectors and matches. */
export function compile(input: CompileInput): RuleSet {
  const local: SystemInfo = { identity: input.local.identity, tags: normTags(input.local.tags) };
  const byIndex: (PeerRules | undefined)[] = [];
  const localSel = selectorsOf(local);
  // Only policies that name this system can change its rules, so only theirs get the (costly)
  // search for the next schedule flip.
  const states = input.policies.map((p) =>
    evaluate(p, input, p.senders.some((x) => localSel.has(x)) || p.receivers.some((x) => localSel.has(x))),
  );

  if (input.mode === 'allow-all') {
    for (const p of input.peers)
      byIndex[p.index] = { index: p.index, identity: p.identity, tags: normTags(p.tags), egress: ALL, ingress: ALL };
    return Object.freeze({
      mode: input.mode,
      local,
      compiledAt: input.now,
      nextChangeAt: null,
      byIndex: Object.freeze(byIndex),
      states,
    });
  }

  const bySelector = new Map<Selector, PeerInfo[]>();
  for (const p of input.peers) {
    for (const s of selectorsOf(p)) {
      const list = bySelector.get(s);
      if (list) list.push(p);
      else bySelector.set(s, [p]);
    }
  }
  const egress = new Map<number, Builder>();
  const ingress = new Map<number, Builder>();
  let nextChangeAt: number | null = null;
  for (const st of states) {
    const p = st.policy;
    const localSends = p.senders.some((s) => localSel.has(s));
    const localReceives = p.receivers.some((s) => localSel.has(s));
    if (!localSends && !localReceives) continue;
    for (const r of st.requirements) {
      if (p.enabled && r.until !== null && (nextChangeAt === null || r.until < nextChangeAt)) nextChangeAt = r.until;
    }
    if (!st.active) continue;
    if (localSends) grant(p.receivers, bySelector, egress, p.acls, local.identity);
    if (localReceives) grant(p.senders, bySelector, ingress, p.acls, local.identity);
  }
  for (const p of input.peers) {
    byIndex[p.index] = {
      index: p.index,
      identity: p.identity,
      tags: normTags(p.tags),
      egress: egress.get(p.index)?.build() ?? NONE,
      ingress: ingress.get(p.index)?.build() ?? NONE,
    };
  }
  return Object.freeze({
    mode: input.mode,
    local,
    compiledAt: input.now,
    nextChangeAt,
    byIndex: Object.freeze(byIndex),
    states,
  });
}

/** checkNew says whether a new flow may start: PASS, or why not. port is the responder's. */
export function checkNew(g: DirectionGrants, proto: number, port: number): number {
  if (proto === PROTO.tcp)
    return inRanges(g.tcp, port) ? PASS : g.tcp.length > 0 ? DROP.portNotAllowed : DROP.protocolNotAllowed;
  if (proto === PROTO.udp)
    return inRanges(g.udp, port) ? PASS : g.udp.length > 0 ? DROP.portNotAllowed : DROP.protocolNotAllowed;
  if (proto === PROTO.icmp) return g.icmp ? PASS : DROP.protocolNotAllowed;
  return g.other ? PASS : DROP.protocolNotAllowed;
}

/** hasAny tells whether a direction grants anything at all. */
export function hasAny(g: DirectionGrants): boolean {
  return g.icmp || g.other || g.tcp.length > 0 || g.udp.length > 0;
}

/** inRanges finds port in sorted, disjoint [from, to] pairs by binary search. */
export function inRanges(r: Uint16Array, port: number): boolean {
  let lo = 0;
  let hi = (r.length >> 1) - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (port < r[mid << 1]!) hi = mid - 1;
    else if (port > r[(mid << 1) + 1]!) lo = mid + 1;
    else return true;
  }
  return false;
}

/** selectorsOf lists the selectors that name a system. */
export function selectorsOf(s: SystemInfo): Set<Selector> {
  const out = new Set<Selector>([s.identity]);
  for (const t of normTags(s.tags)) out.add(tagSelector(t));
  return out;
}

/** matches tells whether a list of selectors names the system. */
export function matches(list: readonly Selector[], s: SystemInfo): boolean {
  const sel = selectorsOf(s);
  return list.some((x) => sel.has(x));
}

function normTags(tags: readonly string[]): string[] {
  const out: string[] = [];
  for (const t of tags) {
    const n = normaliseTag(t);
    if (n !== null && !out.includes(n)) out.push(n);
  }
  return out;
}

function evaluate(policy: Policy, input: CompileInput, concernsLocal: boolean): PolicyState {
  const requirements = policy.trustRequirements.map((r): RequirementState => {
    if (r.type === 'schedule') {
      return {
        requirement: r,
        met: scheduleActive(r, input.now),
        until: concernsLocal ? cachedNextChange(r, input.now) : null,
      };
    }
    // UserAuthentication, like PublicIp, is the coordinator's to evaluate (it leaves it out of maps).
    if (r.type === 'user-authentication') return { requirement: r, met: false, until: null };
    return { requirement: r, met: input.publicIpMet?.(r, policy) ?? false, until: null };
  });
  return { policy, requirements, active: policy.enabled && requirements.every((r) => r.met) };
}

// Many policies share a schedule; the search costs up to a hundred Intl calls, so memoise per
// (schedule, minute). The cache is small and dropped when it grows.
const changeCache = new Map<string, number | null>();
function cachedNextChange(r: TrustRequirement & { type: 'schedule' }, now: number): number | null {
  const key = `${Math.floor(now / 60000)}|${r.timeZone}|${r.from}|${r.to}|${r.days.join(',')}`;
  if (changeCache.has(key)) {
    const v = changeCache.get(key)!;
    // A cached flip within the same minute may already be past `now`; recompute then.
    if (v === null || v > now) return v;
  }
  if (changeCache.size > 4096) changeCache.clear();
  const v = nextScheduleChange(r, now);
  changeCache.set(key, v);
  return v;
}

function grant(
  sel: readonly Selector[],
  bySelector: Map<Selector, PeerInfo[]>,
  into: Map<number, Builder>,
  acls: readonly Acl[],
  self: string,
): void {
  for (const s of sel) {
    for (const peer of bySelector.get(s) ?? []) {
      if (peer.identity === self) continue;
      let b = into.get(peer.index);
      if (!b) into.set(peer.index, (b = new Builder()));
      for (const acl of acls) b.add(acl);
    }
  }
}

/** Builder gathers the ACLs granted in one direction with one peer. */
class Builder {
  icmp = false;
  other = false;
  private readonly tcp: PortRange[] = [];
  private readonly udp: PortRange[] = [];
  private tcpAll = false;
  private udpAll = false;

  add(acl: Acl): void {
    const all = acl.ports.length === 0;
    switch (acl.protocol) {
      case 'icmp':
        this.icmp = true;
        return;
      case 'any':
        this.icmp = true;
        this.other = true;
        this.addTcp(acl.ports, all);
        this.addUdp(acl.ports, all);
        return;
      case 'tcp':
        this.addTcp(acl.ports, all);
        return;
      case 'udp':
        this.addUdp(acl.ports, all);
    }
  }

  private addTcp(ports: readonly PortRange[], all: boolean): void {
    if (this.tcpAll) return;
    if (all) this.tcpAll = true;
    else this.tcp.push(...ports);
  }

  private addUdp(ports: readonly PortRange[], all: boolean): void {
    if (this.udpAll) return;
    if (all) this.udpAll = true;
    else this.udp.push(...ports);
  }

  build(): DirectionGrants {
    return Object.freeze({
      icmp: this.icmp,
      other: this.other,
      tcp: this.tcpAll ? FULL_RANGE : coalesce(this.tcp),
      udp: this.udpAll ? FULL_RANGE : coalesce(this.udp),
    });
  }
}

/** coalesce sorts ranges and merges those that overlap or touch, into [from, to] pairs. */
export function coalesce(ranges: readonly PortRange[]): Uint16Array {
  const sorted = [...ranges].sort((a, b) => a.from - b.from);
  const out: number[] = [];
  for (const r of sorted) {
    const last = out.length - 1;
    if (last > 0 && r.from <= out[last]! + 1) out[last] = Math.max(out[last]!, r.to);
    else out.push(r.from, r.to);
  }
  return Uint16Array.from(out);
}
