// PublicIp, evaluated for each sender while the World is built (world.ts): its address is the
// remote address the coordinator last saw it connect from. Every condition written must hold:
// inside one of Ranges (if given), inside none of Blocked, in one of Countries (if given), in
// none of BlockedCountries. It fails closed: a sender whose address is unknown meets no
// requirement, and without a country database (serve --geoip) neither Countries nor
// BlockedCountries can be met. An address the database places in no country is in none of
// Countries and none of BlockedCountries.
import type { PublicIpRequirement } from '../../../src-shared/wire/policy.js';
import {
  parseIp,
  parseIpPrefix,
  prefixContains,
  unmapIPv4,
  type IpAddress,
  type IpPrefix,
} from '../../../src-shared/lib/ip/addr.js';
import type { CountryDb } from '../geoip/geoip.js';

/** PublicIpCheck is one requirement with its prefixes parsed once per World. */
export interface PublicIpCheck {
  ranges: IpPrefix[];
  blocked: IpPrefix[];
  countries: ReadonlySet<string> | null;
  blockedCountries: ReadonlySet<string> | null;
}

const prefixes = (list: readonly string[] | undefined): IpPrefix[] =>
  (list ?? []).map((x) => parseIpPrefix(x)).filter((p): p is IpPrefix => p !== null);

/** publicIpCheck parses r (validated by the policy file: public-ip-check.ts). */
export function publicIpCheck(r: PublicIpRequirement): PublicIpCheck {
  return {
    ranges: prefixes(r.ranges),
    blocked: prefixes(r.blocked),
    countries: r.countries ? new Set(r.countries) : null,
    blockedCountries: r.blockedCountries ? new Set(r.blockedCountries) : null,
  };
}

/** publicIpMet tells whether a sender observed at observedIp meets every check. */
export function publicIpMet(
  checks: readonly PublicIpCheck[],
  observedIp: string | null,
  db: CountryDb | null,
): boolean {
  if (checks.length === 0) return true;
  const parsed = observedIp === null ? null : parseIp(observedIp);
  if (parsed === null) return false;
  const addr = unmapIPv4(parsed);
  let country: string | null | undefined;
  const countryOf = (): string | null => (country ??= db?.country(addr) ?? null);
  return checks.every((c) => met(c, addr, db !== null, countryOf));
}

function met(c: PublicIpCheck, addr: IpAddress, haveDb: boolean, countryOf: () => string | null): boolean {
  if (c.ranges.length > 0 && !c.ranges.some((p) => prefixContains(p, addr))) return false;
  if (c.blocked.some((p) => prefixContains(p, addr))) return false;
  if (c.countries === null && c.blockedCountries === null) return true;
  if (!haveDb) return false;
  const cc = countryOf();
  if (c.countries !== null && (cc === null || !c.countries.has(cc))) return false;
  return c.blockedCountries === null || cc === null || !c.blockedCountries.has(cc);
}
