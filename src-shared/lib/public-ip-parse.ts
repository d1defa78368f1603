// The PublicIp trust requirement as written in a profile or a coordinator's policy file:
// { "Type": "PublicIp", "Ranges": [...], "Blocked": [...], "Countries": [...],
// "BlockedCountries": [...] }. Only the shapes are read here (bounded lists of short strings,
// country codes in upper case); the coordinator, which evaluates it, checks the prefixes and
// codes (coordinator/src/policy/public-ip-check.ts).
import type { PublicIpRequirement } from '../wire/policy.js';
import { childPath, didYouMean, typeName } from './errors.js';

const KEYS = ['Type', 'Ranges', 'Blocked', 'Countries', 'BlockedCountries'] as const;
type ListKey = Exclude<(typeof KEYS)[number], 'Type'>;

/** parsePublicIp reads one requirement object r at path; problems go to add. Lists hold at
 * most limit entries. */
export function parsePublicIp(
  r: Record<string, unknown>,
  path: string,
  add: (key: string, problem: string) => void,
  limit: number,
): PublicIpRequirement | undefined {
  for (const k of Object.keys(r))
    if (!(KEYS as readonly string[]).includes(k)) add(childPath(path, k), `unknown key${didYouMean(k, KEYS)}`);
  const lists: Partial<Record<ListKey, string[]>> = {};
  let ok = true;
  for (const key of KEYS.slice(1) as ListKey[]) {
    if (!Object.hasOwn(r, key)) continue;
    const v = r[key];
    const at = childPath(path, key);
    const countries = key.endsWith('Countries');
    if (!Array.isArray(v)) add(at, `must be an array, not ${typeName(v)}`);
    else if (v.length > limit) add(at, `has ${v.length} entries (the limit is ${limit})`);
    else if (!v.every((x) => typeof x === 'string' && x.length <= 64))
      add(at, `must be an array of ${countries ? 'country codes' : 'CIDR strings'}`);
    else {
      lists[key] = countries ? v.map((x: string) => x.toUpperCase()) : (v as string[]);
      continue;
    }
    ok = false;
  }
  if (!ok) return undefined;
  return {
    type: 'public-ip',
    ranges: lists.Ranges ?? [],
    ...(lists.Blocked ? { blocked: lists.Blocked } : {}),
    ...(lists.Countries ? { countries: lists.Countries } : {}),
    ...(lists.BlockedCountries ? { blockedCountries: lists.BlockedCountries } : {}),
  };
}
