// Profile keys for policy and DNS (docs/profile.md): own `Tags`, per-peer `Tags` and `DnsNames`, the
// `Dns` section and `Policies`. Checked like the rest of the profile: every problem collected
// with its key path, nothing half-applied.
import type { Policy } from '../../../src-shared/wire/policy.js';
import { parsePolicies } from '../../../src-shared/lib/policy-parse.js';
import { childPath, indexPath, isObject, quote, typeName, type Issues } from '../../../src-shared/lib/errors.js';

type Obj = Record<string, unknown>;

/** DEFAULT_ZONE is the DNS zone peers' names live in. */
export const DEFAULT_ZONE = 'warren.internal';
/** DNS_KEYS are the keys of the Dns section. */
export const DNS_KEYS = ['Zone', 'LogQueries'] as const;
/** MAX_TAGS and MAX_DNS_NAMES bound the per-system lists. */
export const MAX_TAGS = 64;
export const MAX_DNS_NAMES = 64;

const TAG = /^[a-z0-9](?:[a-z0-9_-]{0,62})$/;
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** DnsConfig is the normalised Dns section. */
export interface DnsConfig {
  zone: string;
  logQueries: boolean;
}

/** PolicyFields are the interpreted policy keys of a profile. */
export interface PolicyFields {
  tags: string[];
  /** policies is null when the profile has no Policies key: allow all between configured peers. */
  policies: Policy[] | null;
  dns: DnsConfig;
}

/** policyFields interprets Tags, Policies and Dns at the top level. */
export function policyFields(raw: Obj, is: Issues): PolicyFields {
  const tags = tagsField(raw, 'Tags', '', is);
  let policies: Policy[] | null = null;
  if (Object.hasOwn(raw, 'Policies')) {
    const parsed = parsePolicies(raw.Policies, 'Policies');
    for (const issue of parsed.issues) is.add(issue.key, issue.problem);
    policies = parsed.policies;
  }
  return { tags, policies, dns: dnsField(raw, is) };
}

/** tagsField reads a list of tag names; `tag:` prefixes are accepted and dropped. */
export function tagsField(obj: Obj, key: string, parent: string, is: Issues): string[] {
  if (!Object.hasOwn(obj, key)) return [];
  const path = childPath(parent, key);
  const v = obj[key];
  if (!Array.isArray(v)) {
    is.add(path, `must be an array of tag names like ["dev", "db"], not ${typeName(v)}`);
    return [];
  }
  if (v.length > MAX_TAGS) is.add(path, `has ${v.length} tags (the limit is ${MAX_TAGS})`);
  const out: string[] = [];
  v.slice(0, MAX_TAGS).forEach((t, i) => {
    const name = typeof t === 'string' ? t.trim().toLowerCase().replace(/^tag:/, '') : null;
    if (name === null || !TAG.test(name)) {
      is.add(
        indexPath(path, i),
        `${typeof t === 'string' ? quote(t) : typeName(t)} is not a tag name (letters, digits, - and _, up to 63)`,
      );
    } else if (!out.includes(name)) out.push(name);
  });
  return out;
}

/** dnsNamesField reads a peer's DnsNames: names relative to the zone, like "db" or "db.prod". */
export function dnsNamesField(obj: Obj, parent: string, zone: string, is: Issues): string[] {
  if (!Object.hasOwn(obj, 'DnsNames')) return [];
  const path = childPath(parent, 'DnsNames');
  const v = obj.DnsNames;
  if (!Array.isArray(v)) {
    is.add(path, `must be an array of names like ["db"], not ${typeName(v)}`);
    return [];
  }
  if (v.length > MAX_DNS_NAMES) is.add(path, `has ${v.length} names (the limit is ${MAX_DNS_NAMES})`);
  const out: string[] = [];
  v.slice(0, MAX_DNS_NAMES).forEach((n, i) => {
    const name = typeof n === 'string' ? relativeName(n, zone) : null;
    if (name === null) {
      is.add(
        indexPath(path, i),
        `${typeof n === 'string' ? quote(n) : typeName(n)} is not a DNS name (labels of letters, digits and -)`,
      );
    } else if (!out.includes(name)) out.push(name);
  });
  return out;
}

// relativeName normalises a name and strips the zone if it was written out; null if invalid.
function relativeName(n: string, zone: string): string | null {
  let name = n.trim().toLowerCase().replace(/\.$/, '');
  if (name.endsWith(`.${zone}`)) name = name.slice(0, -(zone.length + 1));
  if (name.length === 0 || name.length > 200) return null;
  return name.split('.').every((l) => LABEL.test(l)) ? name : null;
}

function dnsField(raw: Obj, is: Issues): DnsConfig {
  const out: DnsConfig = { zone: DEFAULT_ZONE, logQueries: false };
  if (!Object.hasOwn(raw, 'Dns')) return out;
  const v = raw.Dns;
  if (!isObject(v)) {
    is.add('Dns', `must be an object like {"Zone": "${DEFAULT_ZONE}"}, not ${typeName(v)}`);
    return out;
  }
  for (const k of Object.keys(v)) {
    if (!(DNS_KEYS as readonly string[]).includes(k))
      is.add(childPath('Dns', k), `unknown key (known: ${DNS_KEYS.join(', ')})`);
  }
  if (Object.hasOwn(v, 'Zone')) {
    const z = v.Zone;
    const zone = typeof z === 'string' ? z.trim().toLowerCase().replace(/\.$/, '') : '';
    if (zone.length === 0 || zone.length > 200 || !zone.split('.').every((l) => LABEL.test(l))) {
      is.add('Dns.Zone', `${typeof z === 'string' ? quote(z) : typeName(z)} is not a DNS zone like "${DEFAULT_ZONE}"`);
    } else out.zone = zone;
  }
  if (Object.hasOwn(v, 'LogQueries')) {
    if (typeof v.LogQueries !== 'boolean')
      is.add('Dns.LogQueries', `must be true or false, not ${typeName(v.LogQueries)}`);
    else out.logQueries = v.LogQueries;
  }
  return out;
}
