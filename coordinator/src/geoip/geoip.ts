// The country database PublicIp's Countries and BlockedCountries are judged by: one or two
// GeoIP Legacy country files (legacy-country.ts), an IPv4 one and an IPv6 one, loaded once at
// start (`serve --geoip FILE[,FILE6]`; by default Debian's geoip-database files when installed).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { unmapIPv4, type IpAddress } from '../../../src-shared/lib/ip/addr.js';
import { GeoIpFileError, MAX_FILE_BYTES, parseCountryTree, type CountryTree } from './legacy-country.js';

/** DEBIAN_GEOIP_FILES are where Debian's geoip-database installs the two country files. */
export const DEBIAN_GEOIP_FILES = ['/usr/share/GeoIP/GeoIP.dat', '/usr/share/GeoIP/GeoIPv6.dat'] as const;

/** NO_GEOIP_HINT says how to get a country database. */
export const NO_GEOIP_HINT =
  'install the geoip-database package (apt-get install geoip-database) or start the coordinator with serve --geoip FILE[,FILE6]';

/** CountryDb answers the country of a public address. */
export interface CountryDb {
  /** country returns the ISO 3166-1 alpha-2 code (or a region code such as "EU") of addr, or
   * null when the database does not know it or has no file for its family. */
  country(addr: IpAddress): string | null;
  /** describe names the loaded files, for the log. */
  readonly describe: string;
}

/** countryDb combines an IPv4 tree and an IPv6 tree (either may be missing). An IPv4-mapped
 * IPv6 address is looked up as the IPv4 address it carries. */
export function countryDb(v4: CountryTree | null, v6: CountryTree | null, describe: string): CountryDb {
  return {
    describe,
    country(addr) {
      const a = unmapIPv4(addr);
      if (a.family === 4) return v4 ? v4.country((i) => (a.v4 >>> (31 - i)) & 1) : null;
      if (!v6) return null;
      const words = [a.w0, a.w1, a.w2, a.w3];
      return v6.country((i) => (words[i >> 5]! >>> (31 - (i & 31))) & 1);
    },
  };
}

/** loadCountryDb reads one or two files, each a country edition of its own family (the
 * edition in the file decides which, so the order does not matter). */
export function loadCountryDb(files: readonly string[]): CountryDb {
  if (files.length === 0 || files.length > 2)
    throw new GeoIpFileError('give one or two country database files (an IPv4 one and an IPv6 one)');
  const trees: { file: string; tree: CountryTree }[] = [];
  for (const file of files) {
    const tree = parseCountryTree(readBounded(file), file);
    const twin = trees.find((t) => t.tree.family === tree.family);
    if (twin)
      throw new GeoIpFileError(
        `${twin.file} and ${file} are both IPv${tree.family} country databases; give at most one of each family`,
      );
    trees.push({ file, tree });
  }
  const v4 = trees.find((t) => t.tree.family === 4) ?? null;
  const v6 = trees.find((t) => t.tree.family === 6) ?? null;
  const describe = trees.map((t) => `${t.file} (IPv${t.tree.family}${t.tree.info ? `, ${t.tree.info}` : ''})`);
  return countryDb(v4?.tree ?? null, v6?.tree ?? null, describe.join(' and '));
}

/** defaultCountryDb loads Debian's files that are present, or returns null when neither is. */
export function defaultCountryDb(): CountryDb | null {
  const present = DEBIAN_GEOIP_FILES.filter((f) => existsSync(f));
  return present.length === 0 ? null : loadCountryDb(present);
}

function readBounded(file: string): Uint8Array {
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new GeoIpFileError(`${file} is not a regular file`);
    size = st.size;
  } catch (e) {
    if (e instanceof GeoIpFileError) throw e;
    throw new GeoIpFileError(`cannot read ${file}: ${(e as Error).message}`);
  }
  if (size > MAX_FILE_BYTES)
    throw new GeoIpFileError(`${file} has ${size} bytes, more than a country database (${MAX_FILE_BYTES})`);
  try {
    return readFileSync(file);
  } catch (e) {
    throw new GeoIpFileError(`cannot read ${file}: ${(e as Error).message}`);
  }
}
