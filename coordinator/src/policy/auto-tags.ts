// AutoTags in the policy file: the tags a system gets when its user enrols it by signing in
// (docs/coordinator.md "Signing in"), by the user's groups or address:
//   "AutoTags": { "group:eng": ["tag:dev"], "user:alice@example.com": ["tag:laptop"] }
// The admin decides here what a provider's groups are worth; the provider only says who is in
// which group. Tags must be declared in Tags, as everywhere in the file.
import { GROUP_PREFIX, tagSelector, USER_PREFIX, type Selector } from '../../../src-shared/wire/policy.js';
import { childPath, isObject, quote, typeName } from '../../../src-shared/lib/errors.js';
import { normaliseTag, parseSelector } from '../../../src-shared/lib/policy-parse.js';

/** AUTO_TAGS_LIMITS bound the section. */
export const AUTO_TAGS_LIMITS = { entries: 1000, tagsPerEntry: 64 } as const;

/** AutoTag gives tags to the systems of the users a selector names (user: or group:). */
export interface AutoTag {
  selector: Selector;
  tags: string[];
}

/** parseAutoTags reads the AutoTags object; problems go to add with their key path. */
export function parseAutoTags(
  raw: unknown,
  declared: ReadonlySet<string>,
  add: (k: string, p: string) => void,
): AutoTag[] {
  if (!isObject(raw)) {
    add('AutoTags', `must be an object like {"group:eng": ["tag:dev"]}, not ${typeName(raw)}`);
    return [];
  }
  const entries = Object.entries(raw);
  if (entries.length > AUTO_TAGS_LIMITS.entries) {
    add('AutoTags', `has ${entries.length} entries (the limit is ${AUTO_TAGS_LIMITS.entries})`);
    return [];
  }
  const out: AutoTag[] = [];
  for (const [key, value] of entries) {
    const at = childPath('AutoTags', key);
    const sel = parseSelector(key, { people: true });
    if (typeof sel === 'object') {
      add(at, sel.problem);
      continue;
    }
    if (!sel.startsWith(USER_PREFIX) && !sel.startsWith(GROUP_PREFIX)) {
      add(at, `${quote(key)} must name a group ("group:eng") or a user ("user:alice@example.com")`);
      continue;
    }
    const tags = tagList(value, at, declared, add);
    if (tags) out.push({ selector: sel, tags });
  }
  return out;
}

function tagList(
  value: unknown,
  at: string,
  declared: ReadonlySet<string>,
  add: (k: string, p: string) => void,
): string[] | undefined {
  if (!Array.isArray(value)) return void add(at, `must be an array of tags like ["tag:dev"], not ${typeName(value)}`);
  if (value.length > AUTO_TAGS_LIMITS.tagsPerEntry)
    return void add(at, `has ${value.length} tags (the limit is ${AUTO_TAGS_LIMITS.tagsPerEntry})`);
  const tags: string[] = [];
  let ok = true;
  value.forEach((t, i) => {
    const tag = typeof t === 'string' ? normaliseTag(t) : null;
    if (tag === null) {
      ok = false;
      return add(`${at}[${i}]`, `${typeof t === 'string' ? quote(t) : typeName(t)} is not a tag like "tag:dev"`);
    }
    if (!declared.has(tag)) {
      ok = false;
      return add(`${at}[${i}]`, `tag ${quote(tag)} is not declared in Tags; add it there or fix the spelling`);
    }
    if (!tags.includes(tag)) tags.push(tag);
  });
  return ok ? tags : undefined;
}

/** autoTagsFor lists, sorted, the tags AutoTags give a user with this email and these groups,
 * and which entries gave them (for the audit log and the person signing in). */
export function autoTagsFor(
  autoTags: readonly AutoTag[],
  email: string,
  groups: readonly string[],
): { tags: string[]; via: string[] } {
  const mine = new Set([USER_PREFIX + email, ...groups.map((g) => GROUP_PREFIX + g)]);
  const tags = new Set<string>();
  const via: string[] = [];
  for (const a of autoTags) {
    if (!mine.has(a.selector)) continue;
    via.push(a.selector);
    for (const t of a.tags) tags.add(t);
  }
  return { tags: [...tags].sort(), via };
}

/** tagSelectors writes bare tags as selectors ("tag:dev"), for messages. */
export function tagSelectors(tags: readonly string[]): string[] {
  return tags.map(tagSelector);
}

/** Tagged is a system's tags and which of them AutoTags gave (the rest were set by hand). */
export interface Tagged {
  tags: readonly string[];
  autoTags?: readonly string[];
}

/** followAutoTags is what a system's tags become when AutoTags now give wanted: the tags set
 * by hand stay, the AutoTags ones are replaced by wanted. A wanted tag an admin also set by hand
 * counts as the admin's, so it stays when the groups stop giving it. It returns null when
 * nothing changes. */
export function followAutoTags(s: Tagged, wanted: readonly string[]): { tags: string[]; autoTags: string[] } | null {
  const had = new Set(s.autoTags ?? []);
  const byHand = s.tags.filter((t) => !had.has(t));
  const autoTags = [...new Set(wanted)].filter((t) => !byHand.includes(t)).sort();
  const tags = [...byHand, ...autoTags];
  const same = (a: readonly string[], b: readonly string[]): boolean =>
    a.length === b.length && a.every((t) => b.includes(t));
  return same(tags, s.tags) && same(autoTags, s.autoTags ?? []) ? null : { tags, autoTags };
}

/** autoTagsAfterEdit is which of tags still count as AutoTags' after an admin edited a
 * system's tags (added: the ones the admin named to add): a removed one is no longer there, and
 * one the admin added is theirs from now on, so it stays when the groups stop giving it. A tag
 * the admin removes that AutoTags give comes back with the next change of the user's tags. */
export function autoTagsAfterEdit(s: Tagged, tags: readonly string[], added: readonly string[]): string[] {
  return (s.autoTags ?? []).filter((t) => tags.includes(t) && !added.includes(t));
}
