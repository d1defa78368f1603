// The UserAuthentication trust requirement as written in a coordinator's policy file
// (docs/coordinator.md "Requiring a recent sign-in"): { "Type": "UserAuthentication",
// "Authority": "corp", "Groups": ["eng"], "MaxAge": "8h" }. The file is untrusted input, so
// every string and list is bounded.
import type { UserAuthenticationRequirement } from '../wire/policy.js';
import { childPath, didYouMean, indexPath, quote, typeName } from './errors.js';
import { normaliseGroup } from './people.js';

const KEYS = ['Type', 'Authority', 'Groups', 'MaxAge'] as const;
const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
/** MAX_AGE_MS: a year; a longer MaxAge is no requirement at all, and most likely a typo. */
export const MAX_AGE_MS = 366 * 86_400_000;
const MAX_GROUPS = 32;

/** parseMaxAge reads "N" followed by s, m, h or d (the duration syntax of the coordinator's
 * command line) into milliseconds, or says why it is not one. */
export function parseMaxAge(v: unknown): number | string {
  if (typeof v !== 'string') return `must be a duration like "8h", not ${typeName(v)}`;
  const m = /^([0-9]{1,9})([smhd])$/.exec(v.trim());
  if (!m) return `${quote(v.slice(0, 40))} is not a duration like 90s, 10m, 8h or 7d`;
  const ms = Number(m[1]) * UNITS[m[2]!]!;
  if (ms <= 0) return 'must be longer than zero';
  if (ms > MAX_AGE_MS) return 'may be at most a year (366d)';
  return ms;
}

/** formatMaxAge writes milliseconds in the largest unit that divides them evenly ("8h"). */
export function formatMaxAge(ms: number): string {
  for (const u of ['d', 'h', 'm', 's']) {
    const size = UNITS[u]!;
    if (ms >= size && ms % size === 0) return `${ms / size}${u}`;
  }
  return `${ms}ms`;
}

/** parseUserAuthentication reads one requirement object r at path; problems go to add. */
export function parseUserAuthentication(
  r: Record<string, unknown>,
  path: string,
  add: (key: string, problem: string) => void,
): UserAuthenticationRequirement | undefined {
  let ok = true;
  const bad = (key: string, problem: string): void => {
    ok = false;
    add(childPath(path, key), problem);
  };
  for (const k of Object.keys(r))
    if (!(KEYS as readonly string[]).includes(k)) bad(k, `unknown key${didYouMean(k, KEYS)}`);
  const authority = r.Authority;
  if (!Object.hasOwn(r, 'Authority'))
    bad('Authority', "is required (a provider's Name from --oidc, or its issuer URL)");
  else if (typeof authority !== 'string' || authority.trim() === '' || authority.length > 256)
    bad('Authority', `must be a provider's Name or issuer URL, not ${typeName(authority)}`);
  let maxAgeMs: number | string = 'is required (a duration like "8h")';
  if (Object.hasOwn(r, 'MaxAge')) maxAgeMs = parseMaxAge(r.MaxAge);
  if (typeof maxAgeMs === 'string') bad('MaxAge', maxAgeMs);
  const groups: string[] = [];
  if (Object.hasOwn(r, 'Groups')) {
    const list = r.Groups;
    if (!Array.isArray(list) || list.length > MAX_GROUPS)
      bad('Groups', `must be an array of at most ${MAX_GROUPS} group names`);
    else
      list.forEach((g, i) => {
        const n = typeof g === 'string' ? normaliseGroup(g.replace(/^group:/i, '')) : null;
        if (n === null) bad(indexPath('Groups', i), `${quote(g)} is not a group name`);
        else if (!groups.includes(n)) groups.push(n);
      });
  }
  if (!ok || typeof authority !== 'string' || typeof maxAgeMs !== 'number') return undefined;
  return { type: 'user-authentication', authority: authority.trim(), groups, maxAgeMs };
}
