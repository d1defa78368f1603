// The policy-as-code file (`warren-coordinator policy apply FILE`): tags, policies (the helper's
// model, read by the helper's own parser), DNS records and exit-node route grants. A file is
// accepted whole or refused whole; every problem comes back with its line and column.
import { CONTROL_LIMITS } from '../../../src-shared/wire/control.js';
import type { Policy, Selector } from '../../../src-shared/wire/policy.js';
import { childPath, didYouMean, indexPath, isObject, quote, typeName } from '../../../src-shared/lib/errors.js';
import type { Cidr } from '../../../src-shared/lib/ip/ipv4.js';
import { JsonSyntaxError, parseJson } from '../../../src-shared/lib/json.js';
import { normaliseTag, parsePolicies, parseSelector, parseTags } from '../../../src-shared/lib/policy-parse.js';
import { locateJson } from './json-locate.js';
import { parseAutoTags, type AutoTag } from './auto-tags.js';
import { routeSubnet, type Overlays } from './route-subnets.js';
import type { IpPrefix } from '../../../src-shared/lib/ip/addr.js';
import { isDnsLabel, parseDnsName, TAG_LABEL_PROBLEM } from './names.js';
import { checkPublicIp, isPublicIp } from './public-ip-check.js';

/** POLICY_FILE_LIMITS bound the parts the helper's parser does not. */
export const POLICY_FILE_LIMITS = {
  records: 10_000,
  targetsPerRecord: 1000,
  routes: 1000,
  subnetsPerRoute: 256,
  sendersPerRoute: 1000,
  reportedIssues: 100,
} as const;

/** DnsRecord gives a name (relative to the zone) to every system a target selects. */
export interface DnsRecord {
  name: string;
  targets: Selector[];
}

/** RouteGrant lets senders use the subnets of the exit nodes that exitNode selects. */
export interface RouteGrant {
  exitNode: Selector;
  subnets: string[];
  senders: Selector[];
}

/** PolicyFile is a validated file. */
export interface PolicyFile {
  tags: string[];
  policies: Policy[];
  dnsRecords: DnsRecord[];
  routes: RouteGrant[];
  /** autoTags give tags to systems their users enrol by signing in (auto-tags.ts). */
  autoTags: AutoTag[];
}

/** PolicyFileIssue is one problem, where it is written. */
export interface PolicyFileIssue {
  line: number;
  column: number;
  key: string | null;
  problem: string;
}

/** EMPTY_POLICY is in force before any file is applied: no policies, so nobody reaches anybody. */
export const EMPTY_POLICY: PolicyFile = { tags: [], policies: [], dnsRecords: [], routes: [], autoTags: [] };

const TOP_KEYS = ['Tags', 'Policies', 'Dns', 'Routes', 'AutoTags'] as const;
const DNS_KEYS = ['Records'] as const;
const RECORD_KEYS = ['Name', 'Targets'] as const;
const ROUTE_KEYS = ['ExitNode', 'Subnets', 'Senders'] as const;

type KeyIssue = { key: string | null; problem: string };

/** parsePolicyFile validates text and returns the file, or every issue sorted by position.
 * With network and network6 (the virtual networks), route subnets that overlap them are refused. */
export function parsePolicyFile(
  text: string,
  network?: Cidr,
  network6?: IpPrefix,
): { ok: true; file: PolicyFile } | { ok: false; issues: PolicyFileIssue[] } {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > CONTROL_LIMITS.policyFileBytes) {
    return fail([
      {
        line: 1,
        column: 1,
        key: null,
        problem: `the file has ${bytes} bytes (the limit is ${CONTROL_LIMITS.policyFileBytes})`,
      },
    ]);
  }
  let raw: unknown;
  try {
    raw = parseJson(text);
  } catch (e) {
    if (e instanceof JsonSyntaxError) return fail([{ line: e.line, column: e.column, key: null, problem: e.problem }]);
    throw e;
  }
  const issues: KeyIssue[] = [];
  const add = (key: string | null, problem: string): void => void issues.push({ key, problem });
  if (!isObject(raw)) {
    add(null, `the file must hold a JSON object with Tags, Policies, Dns and Routes, not ${typeName(raw)}`);
    return located(text, issues);
  }
  unknownKeys(raw, TOP_KEYS, '', add);

  const tagsResult = Object.hasOwn(raw, 'Tags') ? parseTags(raw.Tags, 'Tags') : { tags: [], issues: [] };
  tagsResult.issues.forEach((i) => add(i.key, i.problem));
  if (tagsResult.issues.length === 0 && Array.isArray(raw.Tags)) {
    raw.Tags.forEach((t, i) => {
      const n = typeof t === 'string' ? normaliseTag(t) : null;
      if (n !== null && !isDnsLabel(n)) add(indexPath('Tags', i), TAG_LABEL_PROBLEM(n));
    });
  }
  const declared = new Set(tagsResult.tags);
  const checkSelector = (s: unknown, at: string): Selector | undefined => {
    const sel = parseSelector(s, { people: true });
    if (typeof sel === 'object') return void add(at, sel.problem);
    if (sel.startsWith('tag:') && !declared.has(sel.slice(4))) {
      return void add(at, `tag ${quote(sel.slice(4))} is not declared in Tags; add it there or fix the spelling`);
    }
    return sel;
  };

  let policies: Policy[] = [];
  if (Object.hasOwn(raw, 'Policies')) {
    const r = parsePolicies(raw.Policies, 'Policies', { people: true });
    r.issues.forEach((i) => add(i.key, i.problem));
    policies = r.policies;
    if (Array.isArray(raw.Policies)) checkPolicyExtras(raw.Policies, declared, add);
  }
  const dnsRecords = Object.hasOwn(raw, 'Dns') ? parseDns(raw.Dns, checkSelector, add) : [];
  const routes = Object.hasOwn(raw, 'Routes')
    ? parseRoutes(raw.Routes, checkSelector, add, { v4: network, v6: network6 })
    : [];
  const autoTags = Object.hasOwn(raw, 'AutoTags') ? parseAutoTags(raw.AutoTags, declared, add) : [];
  if (issues.length > 0) return located(text, issues);
  return { ok: true, file: { tags: tagsResult.tags, policies, dnsRecords, routes, autoTags } };
}

/** formatPolicyIssues renders issues as `FILE:LINE:COL: KEY: problem`, one per line. */
export function formatPolicyIssues(file: string, issues: readonly PolicyFileIssue[]): string {
  return issues
    .map((i) => `${file}:${i.line}:${i.column}: ${i.key === null ? '' : `${i.key}: `}${i.problem}`)
    .join('\n');
}

function fail(issues: PolicyFileIssue[]): { ok: false; issues: PolicyFileIssue[] } {
  return { ok: false, issues };
}

function located(text: string, issues: KeyIssue[]): { ok: false; issues: PolicyFileIssue[] } {
  const loc = locateJson(text);
  const out = issues.map((i) => ({
    ...(i.key === null ? { line: 1, column: 1 } : loc.locate(i.key)),
    key: i.key,
    problem: i.problem,
  }));
  out.sort((a, b) => a.line - b.line || a.column - b.column);
  if (out.length > POLICY_FILE_LIMITS.reportedIssues) {
    const more = out.length - POLICY_FILE_LIMITS.reportedIssues;
    const last = out[POLICY_FILE_LIMITS.reportedIssues - 1]!;
    out.length = POLICY_FILE_LIMITS.reportedIssues;
    out.push({ line: last.line, column: last.column, key: null, problem: `and ${more} more problems` });
  }
  return fail(out);
}

function unknownKeys(
  obj: Record<string, unknown>,
  known: readonly string[],
  parent: string,
  add: (k: string, p: string) => void,
): void {
  for (const k of Object.keys(obj)) {
    if (!known.includes(k)) add(childPath(parent, k), `unknown key${didYouMean(k, known)}`);
  }
}

/** checkPolicyExtras adds what the coordinator needs beyond the helper's parser: declared tags
 * and well-formed PublicIp conditions (the helper only stores them; here they are evaluated). */
function checkPolicyExtras(list: unknown[], declared: Set<string>, add: (k: string, p: string) => void): void {
  list.forEach((p, i) => {
    if (!isObject(p)) return;
    const path = indexPath('Policies', i);
    for (const side of ['Senders', 'Receivers']) {
      const sels = p[side];
      if (!Array.isArray(sels)) continue;
      sels.forEach((s, k) => {
        if (typeof s !== 'string' || !s.toLowerCase().startsWith('tag:')) return;
        const tag = normaliseTag(s);
        if (tag !== null && !declared.has(tag)) {
          add(
            indexPath(childPath(path, side), k),
            `tag ${quote(tag)} is not declared in Tags; add it there or fix the spelling`,
          );
        }
      });
    }
    const reqs = p.TrustRequirements;
    if (!Array.isArray(reqs)) return;
    reqs.forEach((r, j) => {
      if (isPublicIp(r)) checkPublicIp(r, indexPath(childPath(path, 'TrustRequirements'), j), add);
    });
  });
}

function arrayAt(
  v: unknown,
  at: string,
  limit: number,
  add: (k: string, p: string) => void,
  nonEmpty: boolean,
): unknown[] | undefined {
  if (!Array.isArray(v)) return void add(at, `must be an array, not ${typeName(v)}`);
  if (v.length > limit) return void add(at, `has ${v.length} entries (the limit is ${limit})`);
  if (nonEmpty && v.length === 0) return void add(at, 'must not be empty');
  return v;
}

function parseDns(
  raw: unknown,
  checkSelector: (s: unknown, at: string) => Selector | undefined,
  add: (k: string, p: string) => void,
): DnsRecord[] {
  if (!isObject(raw)) {
    add('Dns', `must be an object with Records, not ${typeName(raw)}`);
    return [];
  }
  unknownKeys(raw, DNS_KEYS, 'Dns', add);
  if (!Object.hasOwn(raw, 'Records')) return [];
  const list = arrayAt(raw.Records, 'Dns.Records', POLICY_FILE_LIMITS.records, add, false) ?? [];
  const out: DnsRecord[] = [];
  list.forEach((r, i) => {
    const path = indexPath('Dns.Records', i);
    if (!isObject(r)) return add(path, `must be an object with Name and Targets, not ${typeName(r)}`);
    unknownKeys(r, RECORD_KEYS, path, add);
    let name: string | undefined;
    if (!Object.hasOwn(r, 'Name')) add(childPath(path, 'Name'), 'is required (a name relative to the zone, like "db")');
    else {
      const n = parseDnsName(r.Name);
      if (typeof n === 'object') add(childPath(path, 'Name'), n.problem);
      else name = n;
    }
    const targets = selectors(r, 'Targets', path, POLICY_FILE_LIMITS.targetsPerRecord, checkSelector, add);
    if (name !== undefined && targets) out.push({ name, targets });
  });
  return out;
}

function selectors(
  obj: Record<string, unknown>,
  key: string,
  path: string,
  limit: number,
  checkSelector: (s: unknown, at: string) => Selector | undefined,
  add: (k: string, p: string) => void,
): Selector[] | undefined {
  const at = childPath(path, key);
  if (!Object.hasOwn(obj, key)) return void add(at, 'is required (tags like "tag:dev" or identities like "G982V")');
  const list = arrayAt(obj[key], at, limit, add, true);
  if (!list) return undefined;
  const out: Selector[] = [];
  let ok = true;
  list.forEach((s, i) => {
    const sel = checkSelector(s, indexPath(at, i));
    if (sel === undefined) ok = false;
    else if (!out.includes(sel)) out.push(sel);
  });
  return ok ? out : undefined;
}

function parseRoutes(
  raw: unknown,
  checkSelector: (s: unknown, at: string) => Selector | undefined,
  add: (k: string, p: string) => void,
  overlays: Overlays,
): RouteGrant[] {
  const list = arrayAt(raw, 'Routes', POLICY_FILE_LIMITS.routes, add, false) ?? [];
  const out: RouteGrant[] = [];
  list.forEach((r, i) => {
    const path = indexPath('Routes', i);
    if (!isObject(r)) return add(path, `must be an object with ExitNode, Subnets and Senders, not ${typeName(r)}`);
    unknownKeys(r, ROUTE_KEYS, path, add);
    let exitNode: Selector | undefined;
    if (!Object.hasOwn(r, 'ExitNode'))
      add(childPath(path, 'ExitNode'), 'is required (a tag like "tag:exit" or an identity)');
    else exitNode = checkSelector(r.ExitNode, childPath(path, 'ExitNode'));
    let subnets: string[] | undefined;
    const sat = childPath(path, 'Subnets');
    if (!Object.hasOwn(r, 'Subnets')) add(sat, 'is required (the subnets the exit node serves, like "192.168.1.0/24")');
    else {
      const sl = arrayAt(r.Subnets, sat, POLICY_FILE_LIMITS.subnetsPerRoute, add, true);
      if (sl) {
        const checked = sl.map((s) => routeSubnet(s, overlays));
        checked.forEach((c, k) => {
          if (!c.ok) add(indexPath(sat, k), c.problem);
        });
        if (checked.every((c) => c.ok)) subnets = [...new Set(checked.map((c) => (c.ok ? c.text : '')))];
      }
    }
    const senders = selectors(r, 'Senders', path, POLICY_FILE_LIMITS.sendersPerRoute, checkSelector, add);
    if (exitNode !== undefined && subnets && senders) out.push({ exitNode, subnets, senders });
  });
  return out;
}
