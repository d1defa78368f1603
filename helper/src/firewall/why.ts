// `warren why PEER` (which policy and ACL allow traffic with a peer, in
// which direction, or which missing policy or unmet trust requirement blocks it). Works from a
// compiled rule set, so the answer is exactly what the filter enforces at that moment.
import type { Acl, PolicyMode, TrustRequirement } from '../../../src-shared/wire/policy.js';
import { matches, type PeerRules, type RuleSet } from './compile.js';
import { ipEquals, parseIp } from '../../../src-shared/lib/ip/addr.js';
import type { RoutePrefix } from './scope.js';

/** WhyGrant is a policy that allows new connections in a direction, with its ACLs. */
export interface WhyGrant {
  policy: string;
  acls: Acl[];
  /** people: how the policy names either system through a person (coordinated mode), like
   * "G982V as group:eng (alice@example.com)". */
  people?: string[];
}

/** WhyBlock is a policy that names both systems in a direction but grants nothing now. */
export interface WhyBlock {
  policy: string;
  reason: 'disabled' | 'trust-unmet' | 'no-acls';
  /** unmet lists the requirements that are not met, with when each next changes (or null). */
  unmet: { requirement: TrustRequirement; until: number | null }[];
  people?: string[];
}

/** WhyDirection explains one direction: egress is this system starting, ingress the peer. */
export interface WhyDirection {
  allowed: boolean;
  grants: WhyGrant[];
  blocked: WhyBlock[];
  /** noPolicy: no policy names both systems this way (default deny). */
  noPolicy: boolean;
}

/** WhyResult is the whole explanation for one peer. */
export interface WhyResult {
  mode: PolicyMode;
  at: number;
  local: { identity: string; tags: string[] };
  peer: { index: number; identity: string; tags: string[] } | null;
  egress: WhyDirection;
  ingress: WhyDirection;
  nextChangeAt: number | null;
}

/** explain says why traffic with the peer at peerIndex passes or not under rules. */
export function explain(rules: RuleSet, peerIndex: number): WhyResult {
  const pr = rules.byIndex[peerIndex];
  const local = { identity: rules.local.identity, tags: [...rules.local.tags] };
  const base = { mode: rules.mode, at: rules.compiledAt, local, nextChangeAt: rules.nextChangeAt };
  if (pr === undefined) {
    const none = (): WhyDirection => ({ allowed: false, grants: [], blocked: [], noPolicy: true });
    return { ...base, peer: null, egress: none(), ingress: none() };
  }
  const peer = { index: pr.index, identity: pr.identity, tags: [...pr.tags] };
  if (rules.mode === 'allow-all') {
    const all = (): WhyDirection => ({ allowed: true, grants: [], blocked: [], noPolicy: false });
    return { ...base, peer, egress: all(), ingress: all() };
  }
  return { ...base, peer, egress: direction(rules, pr, true), ingress: direction(rules, pr, false) };
}

/** peerIndexOf finds a peer's slot by identity (any case), or -1. */
export function peerIndexOf(rules: RuleSet, identity: string): number {
  const want = identity.toUpperCase();
  for (const pr of rules.byIndex) if (pr !== undefined && pr.identity === want) return pr.index;
  return -1;
}

/** hostAddressIn tells whether `text` is an IPv4 or IPv6 address (any RFC 4291 §2.2 form, any
 * case) that `prefixes` hold as a host prefix (/32, /128): how `warren why` finds a peer named by
 * its virtual address of either family. */
export function hostAddressIn(text: string, prefixes: readonly RoutePrefix[]): boolean {
  const a = parseIp(text.trim());
  if (a === null) return false;
  return prefixes.some((p) => {
    const addr = typeof p.addr === 'number' ? { family: 4 as const, v4: p.addr } : p.addr;
    return p.bits === (addr.family === 4 ? 32 : 128) && ipEquals(addr, a);
  });
}

function direction(rules: RuleSet, pr: PeerRules, egress: boolean): WhyDirection {
  const out: WhyDirection = { allowed: false, grants: [], blocked: [], noPolicy: false };
  for (const st of rules.states) {
    const p = st.policy;
    const [from, to] = egress ? [rules.local, pr] : [pr, rules.local];
    if (!matches(p.senders, from) || !matches(p.receivers, to)) continue;
    const unmet = st.requirements.filter((r) => !r.met).map((r) => ({ requirement: r.requirement, until: r.until }));
    const people = [from, to].flatMap((x) => (p.via?.[x.identity] ? [`${x.identity} as ${p.via[x.identity]}`] : []));
    const named = { policy: p.name, ...(people.length > 0 ? { people } : {}) };
    if (!p.enabled) out.blocked.push({ ...named, reason: 'disabled', unmet });
    else if (unmet.length > 0) out.blocked.push({ ...named, reason: 'trust-unmet', unmet });
    else if (p.acls.length === 0) out.blocked.push({ ...named, reason: 'no-acls', unmet });
    else out.grants.push({ ...named, acls: p.acls });
  }
  out.allowed = out.grants.length > 0;
  out.noPolicy = out.grants.length === 0 && out.blocked.length === 0;
  return out;
}

/** formatWhy renders an explanation for a terminal; time formats instants (ISO by default). */
export function formatWhy(r: WhyResult, time: (t: number) => string = (t) => new Date(t).toISOString()): string {
  const lines: string[] = [];
  if (r.peer === null) return 'that peer is not configured: nothing passes either way';
  const who = `${r.peer.identity}${r.peer.tags.length ? ` (${r.peer.tags.map((t) => `tag:${t}`).join(', ')})` : ''}`;
  if (r.mode === 'allow-all') {
    return `${who}: all traffic allowed both ways (static profile without Policies: plain WireGuard behaviour)`;
  }
  lines.push(`${who}:`);
  lines.push(...directionLines(`${r.local.identity} → ${r.peer.identity} (this system starts)`, r.egress, time));
  lines.push(...directionLines(`${r.peer.identity} → ${r.local.identity} (peer starts)`, r.ingress, time));
  lines.push('Replies of allowed connections pass both ways.');
  if (r.nextChangeAt !== null) lines.push(`A schedule changes the rules next at ${time(r.nextChangeAt)}.`);
  return lines.join('\n');
}

function directionLines(title: string, d: WhyDirection, time: (t: number) => string): string[] {
  const out = [`  ${title}: ${d.allowed ? 'allowed' : 'blocked'}`];
  // A policy that names a system through a person says whom: "policy "x" (G982V as group:eng (a@b.c))".
  const name = (w: { policy: string; people?: string[] }): string =>
    `policy ${JSON.stringify(w.policy)}${w.people ? ` (${w.people.join(', ')})` : ''}`;
  for (const g of d.grants) out.push(`    allowed by ${name(g)}: ${g.acls.map(formatAcl).join('; ')}`);
  for (const b of d.blocked) {
    if (b.reason === 'disabled') out.push(`    ${name(b)} is disabled`);
    else if (b.reason === 'no-acls') out.push(`    ${name(b)} has no ACLs`);
    for (const u of b.unmet) {
      const until = u.until === null ? '' : ` (changes at ${time(u.until)})`;
      out.push(`    ${name(b)}: trust requirement not met: ${formatRequirement(u.requirement)}${until}`);
    }
  }
  if (d.noPolicy) out.push('    no policy names both systems in this direction (default deny)');
  return out;
}

/** formatAcl renders an ACL like "tcp 22, 8000-8100" or "icmp". */
export function formatAcl(a: Acl): string {
  if (a.protocol === 'icmp') return 'icmp';
  const ports =
    a.ports.length === 0
      ? 'all ports'
      : a.ports.map((p) => (p.from === p.to ? `${p.from}` : `${p.from}-${p.to}`)).join(', ');
  return `${a.protocol} ${ports}`;
}

function formatRequirement(r: TrustRequirement): string {
  if (r.type === 'schedule') return `schedule ${r.days.join(',')} ${r.from}-${r.to} ${r.timeZone}`;
  if (r.type === 'user-authentication')
    return `a sign-in at ${r.authority} within ${Math.round(r.maxAgeMs / 1000)}s (evaluated by the coordinator)`;
  return `public IP in ${r.ranges.join(', ') || '(none)'} (evaluated by the coordinator)`;
}
