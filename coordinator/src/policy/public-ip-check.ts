// What the coordinator checks of a PublicIp requirement beyond the shared parser's shapes: the
// prefixes of Ranges and Blocked (IPv4 or IPv6, no host bits), the codes of Countries and
// BlockedCountries (ISO 3166-1 alpha-2 codes the country database can answer), no empty list,
// and at least one condition. At apply, countryIssues refuses a file that names countries when
// the coordinator has no country database (serve --geoip), since they could never be judged.
import type { PolicyIssueWire } from '../../../src-shared/wire/admin.js';
import { childPath, indexPath, isObject, quote, typeName } from '../../../src-shared/lib/errors.js';
import { formatIpPrefix, parseIpPrefix, prefixIsCanonical, prefixNetwork } from '../../../src-shared/lib/ip/addr.js';
import { ISO_COUNTRIES } from '../geoip/country-codes.js';
import { NO_GEOIP_HINT } from '../geoip/geoip.js';
import { locateJson } from './json-locate.js';
import type { PolicyFile } from './policy-file.js';

const RANGE_KEYS = ['Ranges', 'Blocked'] as const;
const COUNTRY_KEYS = ['Countries', 'BlockedCountries'] as const;

/** checkPublicIp adds the problems of the raw requirement r, written at `at`. */
export function checkPublicIp(r: Record<string, unknown>, at: string, add: (k: string, p: string) => void): void {
  const present = [...RANGE_KEYS, ...COUNTRY_KEYS].filter((k) => Object.hasOwn(r, k));
  if (present.length === 0)
    return add(
      at,
      'names no condition: give Ranges or Countries (where the address must be), Blocked or BlockedCountries (where it must not be)',
    );
  for (const key of present) {
    const list = r[key];
    if (!Array.isArray(list)) continue;
    if (list.length === 0) {
      add(childPath(at, key), `must list at least one entry; leave ${key} out if it should not restrict`);
      continue;
    }
    const isCountry = (COUNTRY_KEYS as readonly string[]).includes(key);
    list.forEach((v, k) => {
      const problem = isCountry ? countryProblem(v) : prefixProblem(v);
      if (problem) add(indexPath(childPath(at, key), k), problem);
    });
  }
}

function prefixProblem(v: unknown): string | null {
  if (typeof v !== 'string') return `must be a CIDR string like 203.0.113.0/24, not ${typeName(v)}`;
  const p = parseIpPrefix(v);
  if (!p) return `${quote(v)} is not an IPv4 or IPv6 prefix like 203.0.113.0/24 or 2001:db8::/32`;
  if (!prefixIsCanonical(p)) return `${quote(v)} has host bits set; did you mean ${formatIpPrefix(prefixNetwork(p))}?`;
  return null;
}

function countryProblem(v: unknown): string | null {
  if (typeof v !== 'string') return `must be a country code like "DE", not ${typeName(v)}`;
  if (ISO_COUNTRIES.has(v.toUpperCase())) return null;
  return `${quote(v)} is not an ISO 3166-1 alpha-2 country code the country database knows (like "DE", "US", "GB")`;
}

/** countryIssues refuses Countries and BlockedCountries when there is no country database. */
export function countryIssues(text: string, file: PolicyFile, haveDb: boolean): PolicyIssueWire[] {
  if (haveDb) return [];
  const out: PolicyIssueWire[] = [];
  let loc: ReturnType<typeof locateJson> | null = null;
  file.policies.forEach((p, i) =>
    p.trustRequirements.forEach((r, j) => {
      if (r.type !== 'public-ip') return;
      const key = r.countries ? 'Countries' : r.blockedCountries ? 'BlockedCountries' : null;
      if (key === null) return;
      const at = `Policies[${i}].TrustRequirements[${j}].${key}`;
      loc ??= locateJson(text);
      out.push({
        ...loc.locate(at),
        key: at,
        problem: `this coordinator has no country database, so countries cannot be judged: ${NO_GEOIP_HINT}`,
      });
    }),
  );
  return out;
}

/** isPublicIp tells whether a raw requirement is written as PublicIp (any case, - or _). */
export function isPublicIp(r: unknown): r is Record<string, unknown> {
  return isObject(r) && typeof r.Type === 'string' && r.Type.toLowerCase().replace(/[-_]/g, '') === 'publicip';
}
