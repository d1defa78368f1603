// Warnings for a valid policy file: names that match nothing. A selector naming an identity no
// enrolled system has, or a tag no system and no usable enrolment key carries, is legal (the
// system may enrol later) but is most often a typo (DG0RN for DG0RM, "lapto" for "laptop"), and a
// typo in a zero-trust policy fails closed and silently. So apply says so, with the place and a
// likely intended name; `policy apply --strict` refuses the file instead.
import type { PolicyWarning } from '../../../src-shared/wire/admin.js';
import {
  GROUP_PREFIX,
  isGroupSelector,
  isTagSelector,
  isUserSelector,
  USER_PREFIX,
  type Selector,
} from '../../../src-shared/wire/policy.js';
import { childPath, didYouMean, indexPath, isObject, quote } from '../../../src-shared/lib/errors.js';
import { parseJson } from '../../../src-shared/lib/json.js';
import { normaliseTag, parseSelector } from '../../../src-shared/lib/policy-parse.js';
import { locateJson } from './json-locate.js';
import { POLICY_FILE_LIMITS, type PolicyFile } from './policy-file.js';

/** KnownNames are what selectors may match now: identities of enrolled systems (not revoked),
 * and the tags those systems or usable enrolment keys carry. */
export interface KnownNames {
  identities: ReadonlySet<string>;
  tags: ReadonlySet<string>;
  /** users and groups: the emails and groups of the users who signed in (not disabled). */
  users?: ReadonlySet<string>;
  groups?: ReadonlySet<string>;
}

/** SelectorAt is one selector as written in the file, by its key path. */
interface SelectorAt {
  key: string;
  selector: Selector;
}

/** policyWarnings lists the selectors of a valid file (text parsed to file) that match nothing
 * in known, and declared tags that nothing carries and nothing names, sorted by position. */
export function policyWarnings(text: string, file: PolicyFile, known: KnownNames): PolicyWarning[] {
  const raw = parseJson(text);
  if (!isObject(raw)) return [];
  const found = selectorsIn(raw);
  // Tags AutoTags give are carried as soon as someone signs in: they are not typos.
  known = { ...known, tags: new Set([...known.tags, ...file.autoTags.flatMap((a) => a.tags)]) };
  const tagCandidates = [...new Set([...known.tags, ...file.tags])];
  // didYouMean over every identity is bounded: identities are 5 characters, and at most
  // reportedIssues warnings are worded.
  const identityCandidates = [...known.identities];
  const out: Omit<PolicyWarning, 'line' | 'column'>[] = [];
  const named = new Set<string>();
  for (const { key, selector } of found) {
    const person = personWarning(key, selector, known);
    if (person !== undefined) {
      if (person !== null) out.push(person);
    } else if (isTagSelector(selector)) {
      const tag = selector.slice(4);
      named.add(tag);
      if (known.tags.has(tag)) continue;
      const others = tagCandidates.filter((t) => t !== tag);
      out.push({
        key,
        kind: 'unknown-tag',
        problem: `tag ${quote(tag)} is carried by no system and no usable enrolment key${didYouMean(tag, others)}`,
      });
    } else if (!known.identities.has(selector)) {
      out.push({
        key,
        kind: 'unknown-identity',
        problem: `no enrolled system has the identity ${quote(selector)}${didYouMean(selector, identityCandidates)}`,
      });
    }
  }
  // A declared tag that nothing carries and no selector names is harmless but probably a
  // leftover or a typo; one a selector names is reported there, where the fix is.
  const declared = Array.isArray(raw.Tags) ? raw.Tags : [];
  const reported = new Set<string>();
  declared.forEach((t, i) => {
    const tag = typeof t === 'string' ? normaliseTag(t) : null;
    if (tag === null || known.tags.has(tag) || named.has(tag) || reported.has(tag)) return;
    reported.add(tag);
    out.push({
      key: indexPath('Tags', i),
      kind: 'unknown-tag',
      problem: `tag ${quote(tag)} is declared, but no system or usable enrolment key carries it and nothing names it`,
    });
  });
  return locate(text, out);
}

/** personWarning checks a user: or group: selector against the users who signed in: undefined
 * for other selectors, null when it matches someone. */
function personWarning(
  key: string,
  selector: Selector,
  known: KnownNames,
): Omit<PolicyWarning, 'line' | 'column'> | null | undefined {
  if (isUserSelector(selector)) {
    const email = selector.slice(USER_PREFIX.length);
    if (known.users?.has(email)) return null;
    return {
      key,
      kind: 'unknown-user',
      problem: `no user ${quote(email)} has signed in here (yet)${didYouMean(email, [...(known.users ?? [])])}`,
    };
  }
  if (isGroupSelector(selector)) {
    const group = selector.slice(GROUP_PREFIX.length);
    if (known.groups?.has(group)) return null;
    return {
      key,
      kind: 'unknown-group',
      problem: `no user who signed in here is in the group ${quote(group)}${didYouMean(group, [...(known.groups ?? [])])}`,
    };
  }
  return undefined;
}

/** selectorsIn walks the places selectors are written: policies' Senders and Receivers, DNS
 * records' Targets, routes' ExitNode and Senders, and AutoTags' keys. */
function selectorsIn(raw: Record<string, unknown>): SelectorAt[] {
  const out: SelectorAt[] = [];
  const one = (v: unknown, key: string): void => {
    const sel = parseSelector(v, { people: true });
    if (typeof sel === 'string') out.push({ key, selector: sel });
  };
  if (isObject(raw.AutoTags)) for (const k of Object.keys(raw.AutoTags)) one(k, childPath('AutoTags', k));
  const many = (obj: unknown, parent: string, field: string): void => {
    if (!isObject(obj) || !Array.isArray(obj[field])) return;
    const at = childPath(parent, field);
    obj[field].forEach((v, k) => one(v, indexPath(at, k)));
  };
  const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
  list(raw.Policies).forEach((p, i) => {
    many(p, indexPath('Policies', i), 'Senders');
    many(p, indexPath('Policies', i), 'Receivers');
  });
  const records = isObject(raw.Dns) ? list(raw.Dns.Records) : [];
  records.forEach((r, i) => many(r, indexPath('Dns.Records', i), 'Targets'));
  list(raw.Routes).forEach((r, i) => {
    const path = indexPath('Routes', i);
    if (isObject(r)) one(r.ExitNode, childPath(path, 'ExitNode'));
    many(r, path, 'Senders');
  });
  return out;
}

function locate(text: string, list: Omit<PolicyWarning, 'line' | 'column'>[]): PolicyWarning[] {
  if (list.length === 0) return [];
  const loc = locateJson(text);
  const out: PolicyWarning[] = list.map((w) => ({ ...loc.locate(w.key!), ...w }));
  out.sort((a, b) => a.line - b.line || a.column - b.column);
  const max = POLICY_FILE_LIMITS.reportedIssues;
  if (out.length > max) {
    const more = out.length - max;
    const last = out[max - 1]!;
    out.length = max;
    out.push({ ...last, key: null, problem: `and ${more} more names that match nothing` });
  }
  return out;
}

/** tagsNamed are the tags the policy file's selectors name: policies, DNS records, routes. */
export function tagsNamed(file: PolicyFile): Set<string> {
  const out = new Set<string>();
  const add = (sels: readonly Selector[]): void => {
    for (const s of sels) if (isTagSelector(s)) out.add(s.slice(4));
  };
  for (const p of file.policies) {
    add(p.senders);
    add(p.receivers);
  }
  for (const r of file.dnsRecords) add(r.targets);
  for (const r of file.routes) add([r.exitNode, ...r.senders]);
  return out;
}

/** tagWarnings words a warning for each of tags (given to a key or a system) that no policy in
 * force names: the key or system gets it all the same, but it grants nothing. */
export function tagWarnings(file: PolicyFile, tags: readonly string[]): string[] {
  const named = tagsNamed(file);
  const candidates = [...new Set([...named, ...file.tags])];
  return tags
    .filter((t) => !named.has(t))
    .map(
      (t) =>
        `tag ${quote(t)} is named by no policy${didYouMean(
          t,
          candidates.filter((c) => c !== t),
        )}`,
    );
}
