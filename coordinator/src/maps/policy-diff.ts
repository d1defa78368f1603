// The policy dry run's diff (POST /v1/admin/policy/test): which ordered pairs of active systems
// would reach each other differently, and which exit-node route grants would change, if a new
// file replaced the policy in force. Both sides come from buildWorld, the evaluation the maps
// are made from (selectors expanded to active systems, disabled policies dropped, PublicIp
// requirements met or not), so the diff says what the helpers would be told.
//
// Pairs are N² (10⁸ for 10,000 systems), so they are never enumerated blindly. Systems named by
// exactly the same policies on the same sides, before and after, are interchangeable: they form
// one class, and access is decided per pair of classes (few, in a network of tagged systems).
// Only the classes a sender class's policies reach are visited, and the listed pairs stop at the
// limit; the count beyond it is arithmetic.
import type { AccessChange, RouteChange } from '../../../src-shared/wire/admin.js';
import type { Acl, PortRange } from '../../../src-shared/wire/policy.js';
import type { PolicyFile } from '../policy/policy-file.js';
import type { Registry } from '../store/registry.js';
import { buildWorld, type World } from './netmap.js';

/** DIFF_LIMIT bounds the pairs and the route changes a dry run lists. */
export const DIFF_LIMIT = 1000;

/** CLASS_PAIR_BUDGET bounds the pairs of classes compared: only a network where most systems
 * are named one by one and also share a policy gets near it. Past it the diff stops early
 * (truncated, and changedPairs counts only what was compared). */
export const CLASS_PAIR_BUDGET = 4_000_000;

/** PolicyDiff is what would change. */
export interface PolicyDiff {
  changes: AccessChange[];
  routes: RouteChange[];
  /** changedPairs counts every changed pair, listed or not. */
  changedPairs: number;
  truncated: boolean;
}

/** Klass is a set of systems named by the same policies, on the same sides, in both Worlds. */
interface Klass {
  members: string[];
  sendOld: number[];
  recvOld: number[];
  sendNew: number[];
  recvNew: number[];
}

/** diffPolicy compares the policy in force with after, over the registry's active systems. */
export function diffPolicy(registry: Registry, after: PolicyFile, limit = DIFF_LIMIT): PolicyDiff {
  const before = buildWorld(registry);
  const next = buildWorld(registry, after);
  const { pairs, count, exhausted } = changedPairs(before, next, limit);
  const routes = routeChanges(before, next, limit);
  return {
    changes: pairs,
    routes: routes.list,
    changedPairs: count,
    truncated: exhausted || count > pairs.length || routes.truncated,
  };
}

function classesOf(before: World, next: World): Klass[] {
  const sig = new Map<string, number[][]>();
  const side = (w: World, which: 0 | 1, slot: number): void => {
    w.policies.forEach((p, i) => {
      for (const id of which === 0 ? p.senders : p.receivers) {
        let s = sig.get(id);
        if (!s) sig.set(id, (s = [[], [], [], []]));
        s[slot]!.push(i);
      }
    });
  };
  side(before, 0, 0);
  side(before, 1, 1);
  side(next, 0, 2);
  side(next, 1, 3);
  const byKey = new Map<string, Klass>();
  for (const [id, s] of sig) {
    const key = s.map((l) => l.join(',')).join('|');
    let k = byKey.get(key);
    if (!k) byKey.set(key, (k = { members: [], sendOld: s[0]!, recvOld: s[1]!, sendNew: s[2]!, recvNew: s[3]! }));
    k.members.push(id);
  }
  const out = [...byKey.values()];
  for (const k of out) k.members.sort();
  return out;
}

/** changedPairs finds the class pairs whose access differs, counts their system pairs and lists
 * the first `limit` of them by sender, then receiver identity. */
function changedPairs(
  before: World,
  next: World,
  limit: number,
): { pairs: AccessChange[]; count: number; exhausted: boolean } {
  const classes = classesOf(before, next);
  const recvOld: number[][] = before.policies.map(() => []);
  const recvNew: number[][] = next.policies.map(() => []);
  classes.forEach((k, c) => {
    for (const i of k.recvOld) recvOld[i]!.push(c);
    for (const i of k.recvNew) recvNew[i]!.push(c);
  });
  const portsOld = memoPorts(before);
  const portsNew = memoPorts(next);
  /** changed[sender class] lists receiver classes with the ports before and after. */
  const changed = new Map<number, { to: number; before: string[]; after: string[] }[]>();
  let count = 0;
  let budget = CLASS_PAIR_BUDGET;
  classes.forEach((a, ca) => {
    if (budget <= 0) return;
    const reach = new Set<number>();
    for (const i of a.sendOld) for (const c of recvOld[i]!) reach.add(c);
    for (const i of a.sendNew) for (const c of recvNew[i]!) reach.add(c);
    budget -= reach.size;
    for (const cb of reach) {
      const b = classes[cb]!;
      const was = portsOld(intersect(a.sendOld, b.recvOld));
      const now = portsNew(intersect(a.sendNew, b.recvNew));
      if (was.text === now.text) continue;
      const pairs = a.members.length * b.members.length - (ca === cb ? a.members.length : 0);
      if (pairs === 0) continue;
      count += pairs;
      let list = changed.get(ca);
      if (!list) changed.set(ca, (list = []));
      list.push({ to: cb, before: was.ports, after: now.ports });
    }
  });
  return { pairs: listPairs(before, next, classes, changed, limit), count, exhausted: budget < 0 };
}

function listPairs(
  before: World,
  next: World,
  classes: Klass[],
  changed: Map<number, { to: number; before: string[]; after: string[] }[]>,
  limit: number,
): AccessChange[] {
  const name = (id: string): string => (before.byIdentity.get(id) ?? next.byIdentity.get(id))?.name ?? id;
  const senders: { id: string; klass: number }[] = [];
  for (const ca of changed.keys()) for (const id of classes[ca]!.members) senders.push({ id, klass: ca });
  senders.sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
  const out: AccessChange[] = [];
  for (const { id, klass } of senders) {
    if (out.length >= limit) break;
    const mine: AccessChange[] = [];
    for (const ch of changed.get(klass)!) {
      for (const to of classes[ch.to]!.members) {
        if (to === id) continue;
        mine.push({ from: id, fromName: name(id), to, toName: name(to), before: ch.before, after: ch.after });
      }
    }
    mine.sort((x, y) => (x.to < y.to ? -1 : x.to > y.to ? 1 : 0));
    out.push(...mine.slice(0, limit - out.length));
  }
  return out;
}

function intersect(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i]! < b[j]!) i++;
    else if (a[i]! > b[j]!) j++;
    else {
      out.push(a[i]!);
      i++;
      j++;
    }
  }
  return out;
}

/** memoPorts returns the ports a set of a World's policies grants together, memoised, with
 * their text for comparing. */
function memoPorts(w: World): (policies: number[]) => { ports: string[]; text: string } {
  const memo = new Map<string, { ports: string[]; text: string }>();
  return (policies) => {
    const key = policies.join(',');
    let v = memo.get(key);
    if (!v) {
      const ports = formatPorts(policies.flatMap((i) => w.policies[i]!.acls));
      memo.set(key, (v = { ports, text: ports.join(',') }));
    }
    return v;
  };
}

/** formatPorts renders what ACLs grant together, as the helper's firewall merges them
 * (protocol 'any' is TCP, UDP, ICMP and every other protocol; no ports means every port):
 * ["all"], or "tcp/22", "tcp/8000-8100", "tcp/all", then udp, "icmp", "other"; [] for nothing. */
export function formatPorts(acls: readonly Acl[]): string[] {
  const tcp: PortRange[] = [];
  const udp: PortRange[] = [];
  let tcpAll = false;
  let udpAll = false;
  let icmp = false;
  let other = false;
  for (const a of acls) {
    const all = a.ports.length === 0;
    if (a.protocol === 'icmp' || a.protocol === 'any') icmp = true;
    if (a.protocol === 'any') other = true;
    if (a.protocol === 'tcp' || a.protocol === 'any') {
      if (all) tcpAll = true;
      else tcp.push(...a.ports);
    }
    if (a.protocol === 'udp' || a.protocol === 'any') {
      if (all) udpAll = true;
      else udp.push(...a.ports);
    }
  }
  if (tcpAll && udpAll && icmp && other) return ['all'];
  const out = [...ranges('tcp', tcpAll, tcp), ...ranges('udp', udpAll, udp)];
  if (icmp) out.push('icmp');
  if (other) out.push('other');
  return out;
}

function ranges(proto: string, all: boolean, list: PortRange[]): string[] {
  if (all) return [`${proto}/all`];
  const sorted = [...list].sort((a, b) => a.from - b.from || a.to - b.to);
  const merged: PortRange[] = [];
  for (const r of sorted) {
    const last = merged[merged.length - 1];
    if (last && r.from <= last.to + 1) last.to = Math.max(last.to, r.to);
    else merged.push({ ...r });
  }
  return merged.map((r) => `${proto}/${r.from === r.to ? r.from : `${r.from}-${r.to}`}`);
}

/** routeChanges lists route grants (sender, exit node, subnet) gained or withdrawn. */
function routeChanges(before: World, next: World, limit: number): { list: RouteChange[]; truncated: boolean } {
  const out: RouteChange[] = [];
  const name = (id: string): string => (before.byIdentity.get(id) ?? next.byIdentity.get(id))?.name ?? id;
  const clients = [...new Set([...before.grants.keys(), ...next.grants.keys()])].sort();
  let total = 0;
  for (const c of clients) {
    const was = before.grants.get(c);
    const now = next.grants.get(c);
    const exits = [...new Set([...(was?.keys() ?? []), ...(now?.keys() ?? [])])].sort();
    for (const e of exits) {
      const a = new Set(was?.get(e) ?? []);
      const b = new Set(now?.get(e) ?? []);
      const push = (subnet: string, change: RouteChange['change']): void => {
        total++;
        if (out.length < limit) out.push({ sender: c, senderName: name(c), exitNode: e, subnet, change });
      };
      for (const s of b) if (!a.has(s)) push(s, 'granted');
      for (const s of a) if (!b.has(s)) push(s, 'withdrawn');
    }
  }
  return { list: out, truncated: total > out.length };
}
