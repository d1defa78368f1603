// Profile → policy model (src-shared/wire/policy.ts, docs/profile.md). Reads the profile's PascalCase `Policies` and
// `Tags` into src-shared/wire/policy.ts types, collecting every problem as {key, problem} with key
// paths like Policies[2].Acls[0].Ports, the way helper/src/config/validate.ts reports the rest of a profile.
// The profile is untrusted input read as root, so every list and string is bounded.
import {
  DAYS,
  GROUP_PREFIX,
  TAG_PREFIX,
  USER_PREFIX,
  tagSelector,
  type Acl,
  type Day,
  type Policy,
  type PortRange,
  type Protocol,
  type Selector,
  type TrustRequirement,
} from '../wire/policy.js';
import { childPath, didYouMean, indexPath, isObject, quote, typeName } from './errors.js';
import { isIdentity } from './identity.js';
import { normaliseEmail, normaliseGroup } from './people.js';
import { parseClock, validTimeZone } from './schedule.js';
import { parseUserAuthentication } from './user-auth-parse.js';
import { parsePublicIp } from './public-ip-parse.js';

/** POLICY_LIMITS bound what the policy part of a profile may hold. */
export const POLICY_LIMITS = {
  policies: 10000,
  aclsPerPolicy: 100,
  portRangesPerAcl: 1000,
  selectorsPerList: 1000,
  requirementsPerPolicy: 32,
  tags: 1000,
  nameChars: 128,
  portsChars: 16384,
} as const;

/** PolicyIssue is one problem; key is a path like Policies[2].Acls[0].Ports. */
export interface PolicyIssue {
  key: string;
  problem: string;
}

const POLICY_KEYS = ['Name', 'Senders', 'Receivers', 'Acls', 'TrustRequirements', 'Enabled'] as const;
const ACL_KEYS = ['Protocol', 'Ports'] as const;
const SCHEDULE_KEYS = ['Type', 'Days', 'From', 'To', 'TimeZone'] as const;
const PROTOCOLS: readonly Protocol[] = ['any', 'tcp', 'udp', 'icmp'];
const TAG_NAME = /^[a-z0-9][a-z0-9_.-]{0,62}$/;

type Obj = Record<string, unknown>;

class Collector {
  readonly list: PolicyIssue[] = [];
  add(key: string, problem: string): void {
    this.list.push({ key, problem });
  }
}

/** SelectorOptions: people allows `user:` and `group:` selectors, which only a coordinator can
 * resolve (it knows who enrolled each system); a static profile has no users. */
export interface SelectorOptions {
  people?: boolean;
}

/** parsePolicies reads a profile's Policies array. Policies with problems are left out of
 * `policies`; a caller that refuses a profile with issues never uses a partial list. */
export function parsePolicies(
  raw: unknown,
  keyPrefix = 'Policies',
  opts: SelectorOptions = {},
): { policies: Policy[]; issues: PolicyIssue[] } {
  const is = new Collector();
  const policies: Policy[] = [];
  if (!Array.isArray(raw)) {
    is.add(keyPrefix, `must be an array of policies, not ${typeName(raw)}`);
    return { policies, issues: is.list };
  }
  if (raw.length > POLICY_LIMITS.policies) {
    is.add(keyPrefix, `has ${raw.length} policies (the limit is ${POLICY_LIMITS.policies})`);
    return { policies, issues: is.list };
  }
  const names = new Map<string, number>();
  raw.forEach((p, i) => {
    const path = indexPath(keyPrefix, i);
    const before = is.list.length;
    const policy = parsePolicy(p, path, is, opts);
    if (policy === undefined || is.list.length > before) return;
    const first = names.get(policy.name);
    if (first !== undefined) {
      is.add(childPath(path, 'Name'), `${quote(policy.name)} is already the name of ${indexPath(keyPrefix, first)}`);
      return;
    }
    names.set(policy.name, i);
    policies.push(policy);
  });
  return { policies, issues: is.list };
}

/** parseTags reads a list of own or per-peer tags. The `tag:` prefix is optional in the
 * profile; names are case-insensitive and come out bare and lower case ("dev"). */
export function parseTags(raw: unknown, keyPrefix = 'Tags'): { tags: string[]; issues: PolicyIssue[] } {
  const is = new Collector();
  const tags: string[] = [];
  if (!Array.isArray(raw)) {
    is.add(keyPrefix, `must be an array of tag names, not ${typeName(raw)}`);
    return { tags, issues: is.list };
  }
  if (raw.length > POLICY_LIMITS.tags) {
    is.add(keyPrefix, `has ${raw.length} tags (the limit is ${POLICY_LIMITS.tags})`);
    return { tags, issues: is.list };
  }
  raw.forEach((t, i) => {
    const path = indexPath(keyPrefix, i);
    if (typeof t !== 'string') return is.add(path, `must be a string, not ${typeName(t)}`);
    const name = normaliseTag(t);
    if (name === null) return is.add(path, `${quote(t)} is not a tag name (letters, digits, '-', '_', '.'; up to 63)`);
    if (!tags.includes(name)) tags.push(name);
  });
  return { tags, issues: is.list };
}

/** normaliseTag returns the bare lower-case tag name of "dev", "tag:dev" or "TAG:Dev", or null. */
export function normaliseTag(s: string): string | null {
  if (s.length > 70) return null;
  const lower = s.toLowerCase();
  const name = lower.startsWith(TAG_PREFIX) ? lower.slice(TAG_PREFIX.length) : lower;
  return TAG_NAME.test(name) ? name : null;
}

/** parsePorts reads "22,443,8000-8100" (or a single number) into sorted ranges, or a problem. */
export function parsePorts(v: unknown): PortRange[] | string {
  if (typeof v === 'number') v = String(v);
  if (typeof v !== 'string') return `must be a string like "22,443,8000-8100", not ${typeName(v)}`;
  if (v.length > POLICY_LIMITS.portsChars)
    return `is ${v.length} characters long (the limit is ${POLICY_LIMITS.portsChars})`;
  const text = v.trim();
  if (text === '' || text === '*' || text.toLowerCase() === 'any') return [];
  const parts = text.split(',');
  if (parts.length > POLICY_LIMITS.portRangesPerAcl)
    return `has ${parts.length} ranges (the limit is ${POLICY_LIMITS.portRangesPerAcl})`;
  const out: PortRange[] = [];
  for (const raw of parts) {
    const m = /^\s*(\d{1,5})\s*(?:-\s*(\d{1,5})\s*)?$/.exec(raw);
    if (!m) return `${quote(raw.trim())} is not a port or a range like 8000-8100`;
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (from < 1 || from > 65535 || to < 1 || to > 65535) return `${quote(raw.trim())}: ports go from 1 to 65535`;
    if (from > to) return `${quote(raw.trim())}: the range ends before it starts`;
    out.push({ from, to });
  }
  return out.sort((a, b) => a.from - b.from || a.to - b.to);
}

function parsePolicy(p: unknown, path: string, is: Collector, opts: SelectorOptions): Policy | undefined {
  if (!isObject(p)) {
    is.add(path, `must be an object, not ${typeName(p)}`);
    return undefined;
  }
  knownKeys(p, POLICY_KEYS, path, is);
  const name = nameField(p, path, is);
  const senders = selectorList(p, 'Senders', path, is, opts);
  const receivers = selectorList(p, 'Receivers', path, is, opts);
  const acls = aclList(p, path, is);
  const trustRequirements = requirementList(p, path, is, opts);
  let enabled = true;
  if (Object.hasOwn(p, 'Enabled')) {
    if (typeof p.Enabled === 'boolean') enabled = p.Enabled;
    else is.add(childPath(path, 'Enabled'), `must be true or false, not ${typeName(p.Enabled)}`);
  }
  if (name === undefined || !senders || !receivers || !acls || !trustRequirements) return undefined;
  return { name, senders, receivers, acls, trustRequirements, enabled };
}

function knownKeys(obj: Obj, known: readonly string[], parent: string, is: Collector): void {
  for (const k of Object.keys(obj)) {
    if (!known.includes(k)) is.add(childPath(parent, k), `unknown key${didYouMean(k, known)}`);
  }
}

function nameField(p: Obj, path: string, is: Collector): string | undefined {
  const key = childPath(path, 'Name');
  if (!Object.hasOwn(p, 'Name')) return void is.add(key, 'is required');
  const v = p.Name;
  if (typeof v !== 'string') return void is.add(key, `must be a string, not ${typeName(v)}`);
  if (v.trim() === '') return void is.add(key, 'must not be empty');
  if (v.length > POLICY_LIMITS.nameChars)
    return void is.add(key, `is ${v.length} characters long (the limit is ${POLICY_LIMITS.nameChars})`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(v)) return void is.add(key, 'must not contain control characters');
  return v;
}

function arrayField(
  p: Obj,
  key: string,
  path: string,
  is: Collector,
  limit: number,
  required: boolean,
): unknown[] | undefined {
  const at = childPath(path, key);
  if (!Object.hasOwn(p, key)) {
    if (required) is.add(at, 'is required');
    return required ? undefined : [];
  }
  const v = p[key];
  if (!Array.isArray(v)) return void is.add(at, `must be an array, not ${typeName(v)}`);
  if (v.length > limit) return void is.add(at, `has ${v.length} entries (the limit is ${limit})`);
  return v;
}

/** selectorList reads Senders or Receivers: "tag:NAME" (any case) or an identity like G982V. */
function selectorList(p: Obj, key: string, path: string, is: Collector, opts: SelectorOptions): Selector[] | undefined {
  const list = arrayField(p, key, path, is, POLICY_LIMITS.selectorsPerList, true);
  if (!list) return undefined;
  const out: Selector[] = [];
  let ok = true;
  list.forEach((s, i) => {
    const at = indexPath(childPath(path, key), i);
    const sel = parseSelector(s, opts);
    if (typeof sel === 'object') {
      ok = false;
      is.add(at, sel.problem);
    } else if (!out.includes(sel)) {
      out.push(sel);
    }
  });
  return ok ? out : undefined;
}

/** parseSelector normalises one selector, or says why it is not one. A bare word is refused
 * rather than guessed: "dev12" could be a tag or an identity written in lower case. */
export function parseSelector(s: unknown, opts: SelectorOptions = {}): Selector | { problem: string } {
  if (typeof s !== 'string') return { problem: `must be a string, not ${typeName(s)}` };
  const people = peopleSelector(s, opts);
  if (people !== null) return people;
  if (s.toLowerCase().startsWith(TAG_PREFIX)) {
    const name = normaliseTag(s);
    return name === null ? { problem: `${quote(s)} is not a valid tag name` } : tagSelector(name);
  }
  if (isIdentity(s)) return s;
  const hint = normaliseTag(s) !== null ? ` (did you mean "tag:${normaliseTag(s)}"?)` : '';
  return { problem: `${quote(s)} is neither a tag ("tag:NAME") nor an identity (5 characters like G982V)${hint}` };
}

/** peopleSelector reads "user:EMAIL" and "group:NAME" (any case), or returns null for other text. */
function peopleSelector(s: string, opts: SelectorOptions): Selector | { problem: string } | null {
  const lower = s.toLowerCase();
  const isUser = lower.startsWith(USER_PREFIX);
  if (!isUser && !lower.startsWith(GROUP_PREFIX)) return null;
  if (!opts.people)
    return {
      problem: `${quote(s.slice(0, 80))} names ${isUser ? 'a user' : 'a group'}; only a coordinator's policy file can (it knows who signed in on each system): here name tags or identities`,
    };
  if (isUser) {
    const email = normaliseEmail(s.slice(USER_PREFIX.length));
    return email === null
      ? { problem: `${quote(s.slice(0, 80))} is not "user:" and an email address` }
      : USER_PREFIX + email;
  }
  const group = normaliseGroup(s.slice(GROUP_PREFIX.length));
  return group === null
    ? {
        problem: `${quote(s.slice(0, 80))} is not "group:" and a group name (letters, digits, _ . - / @ : +; up to 128)`,
      }
    : GROUP_PREFIX + group;
}

function aclList(p: Obj, path: string, is: Collector): Acl[] | undefined {
  const list = arrayField(p, 'Acls', path, is, POLICY_LIMITS.aclsPerPolicy, true);
  if (!list) return undefined;
  const out: Acl[] = [];
  let ok = true;
  list.forEach((a, i) => {
    const acl = parseAcl(a, indexPath(childPath(path, 'Acls'), i), is);
    if (acl) out.push(acl);
    else ok = false;
  });
  return ok ? out : undefined;
}

function parseAcl(a: unknown, path: string, is: Collector): Acl | undefined {
  if (!isObject(a)) return void is.add(path, `must be an object, not ${typeName(a)}`);
  knownKeys(a, ACL_KEYS, path, is);
  const pkey = childPath(path, 'Protocol');
  let protocol: Protocol | undefined;
  if (!Object.hasOwn(a, 'Protocol')) is.add(pkey, 'is required (any, tcp, udp or icmp)');
  else if (typeof a.Protocol !== 'string') is.add(pkey, `must be a string, not ${typeName(a.Protocol)}`);
  else {
    const lower = a.Protocol.toLowerCase();
    protocol = PROTOCOLS.find((x) => x === lower);
    if (!protocol) is.add(pkey, `${quote(a.Protocol)} is not one of any, tcp, udp, icmp`);
  }
  let ports: PortRange[] = [];
  if (Object.hasOwn(a, 'Ports')) {
    const r = parsePorts(a.Ports);
    if (typeof r === 'string') {
      is.add(childPath(path, 'Ports'), r);
      return undefined;
    }
    ports = r;
  }
  if (!protocol) return undefined;
  // ICMP has no ports; a Ports key there is ignored rather than refused.
  return { protocol, ports: protocol === 'icmp' ? [] : ports };
}

function requirementList(p: Obj, path: string, is: Collector, opts: SelectorOptions): TrustRequirement[] | undefined {
  const list = arrayField(p, 'TrustRequirements', path, is, POLICY_LIMITS.requirementsPerPolicy, false);
  if (!list) return undefined;
  const out: TrustRequirement[] = [];
  let ok = true;
  list.forEach((r, i) => {
    const req = parseRequirement(r, indexPath(childPath(path, 'TrustRequirements'), i), is, opts);
    if (req) out.push(req);
    else ok = false;
  });
  return ok ? out : undefined;
}

function parseRequirement(
  r: unknown,
  path: string,
  is: Collector,
  opts: SelectorOptions,
): TrustRequirement | undefined {
  if (!isObject(r)) return void is.add(path, `must be an object, not ${typeName(r)}`);
  const type = typeof r.Type === 'string' ? r.Type.toLowerCase().replace(/[-_]/g, '') : undefined;
  if (type === 'schedule') return parseSchedule(r, path, is);
  if (type === 'userauthentication') {
    // Only a coordinator knows who signed in and when; a static profile has no users.
    if (!opts.people)
      return void is.add(childPath(path, 'Type'), "UserAuthentication is only for a coordinator's policy file");
    return parseUserAuthentication(r, path, (k, m) => is.add(k, m));
  }
  if (type === 'publicip') return parsePublicIp(r, path, (k, m) => is.add(k, m), POLICY_LIMITS.selectorsPerList);
  const kinds = opts.people ? 'Schedule, PublicIp or UserAuthentication' : 'Schedule or PublicIp';
  is.add(
    childPath(path, 'Type'),
    Object.hasOwn(r, 'Type') ? `${quote(r.Type)} is not ${kinds}` : `is required (${kinds})`,
  );
  return undefined;
}

function parseSchedule(r: Obj, path: string, is: Collector): TrustRequirement | undefined {
  knownKeys(r, SCHEDULE_KEYS, path, is);
  const before = is.list.length;
  const days = arrayField(r, 'Days', path, is, 7 * 4, true);
  const parsedDays: Day[] = [];
  days?.forEach((d, i) => {
    const day =
      typeof d === 'string'
        ? DAYS.find((x) => d.length >= 3 && x.toLowerCase() === d.slice(0, 3).toLowerCase())
        : undefined;
    if (!day || (typeof d === 'string' && d.length > 9))
      is.add(indexPath(childPath(path, 'Days'), i), `${quote(d)} is not a day (Mon, Tue, ... Sun)`);
    else if (!parsedDays.includes(day)) parsedDays.push(day);
  });
  if (days && days.length === 0) is.add(childPath(path, 'Days'), 'must name at least one day');
  const from = clockField(r, 'From', path, is, false);
  const to = clockField(r, 'To', path, is, true);
  if (from !== undefined && to !== undefined && parseClock(from, false) === parseClock(to, true)) {
    is.add(childPath(path, 'To'), 'equals From, so the window would be empty');
  }
  const tkey = childPath(path, 'TimeZone');
  let timeZone: string | undefined;
  if (!Object.hasOwn(r, 'TimeZone')) is.add(tkey, 'is required (an IANA name like "Europe/London" or "UTC")');
  else if (typeof r.TimeZone !== 'string' || r.TimeZone.length > 64)
    is.add(tkey, `must be a time zone name, not ${typeName(r.TimeZone)}`);
  else if (!validTimeZone(r.TimeZone)) is.add(tkey, `${quote(r.TimeZone)} is not a time zone this system knows`);
  else timeZone = r.TimeZone;
  if (is.list.length > before || from === undefined || to === undefined || timeZone === undefined) return undefined;
  parsedDays.sort((a, b) => DAYS.indexOf(a) - DAYS.indexOf(b));
  return { type: 'schedule', days: parsedDays, from, to, timeZone };
}

function clockField(r: Obj, key: string, path: string, is: Collector, isEnd: boolean): string | undefined {
  const at = childPath(path, key);
  if (!Object.hasOwn(r, key)) return void is.add(at, 'is required (HH:MM, 24-hour)');
  const v = r[key];
  if (typeof v !== 'string' || parseClock(v, isEnd) === null) {
    return void is.add(
      at,
      `${typeof v === 'string' ? quote(v) : typeName(v)} is not a time of day (HH:MM, 00:00 to ${isEnd ? '24:00' : '23:59'})`,
    );
  }
  // Normalise "9:00" to "09:00" so explanations read the same everywhere.
  const m = parseClock(v, isEnd)!;
  return `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
}
