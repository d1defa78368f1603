// The GeoIP Legacy country reader against Debian's geoip-database: well-known addresses, and
// agreement with libgeoip's own geoiplookup on random IPv4 and IPv6 addresses. Tests that need
// the installed files or geoiplookup skip with the reason when they are missing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { formatIp, parseIp, type IpAddress } from '../../../src-shared/lib/ip/addr.js';
import { DEBIAN_GEOIP_FILES, loadCountryDb, type CountryDb } from './geoip.js';
import { GeoIpFileError } from './legacy-country.js';
import { serveOptions } from '../cli/serve.js';
import { UsageError } from '../../../src-shared/lib/cli-args.js';

const [V4_FILE, V6_FILE] = DEBIAN_GEOIP_FILES;
const haveFiles = existsSync(V4_FILE) && existsSync(V6_FILE);
const noFiles = haveFiles ? false : `needs ${V4_FILE} and ${V6_FILE}: apt-get install geoip-database`;
const haveLookup = (() => {
  try {
    execFileSync('geoiplookup', ['-h'], { stdio: 'ignore' });
    return true;
  } catch (e) {
    // geoiplookup -h exits 1 after printing its usage; only a missing program is ENOENT.
    return (e as NodeJS.ErrnoException).code !== 'ENOENT';
  }
})();
const noReference = noFiles || (haveLookup ? false : 'needs geoiplookup: apt-get install geoip-bin');

let loaded: CountryDb | null = null;
const db = (): CountryDb => (loaded ??= loadCountryDb([V4_FILE, V6_FILE]));
const countryOf = (text: string): string | null => db().country(parseIp(text)!);

test('well-known addresses are in the countries libgeoip puts them in', { skip: noFiles }, () => {
  const expected: [string, string | null][] = [
    ['8.8.8.8', 'US'],
    ['1.1.1.1', 'AU'],
    ['193.99.144.80', 'DE'],
    ['81.2.69.160', 'GB'],
    ['202.12.27.33', 'JP'],
    ['5.255.255.70', 'RU'],
    ['10.1.2.3', null],
    ['192.0.2.1', null],
    ['2001:4860:4860::8888', 'US'],
    ['2a00:1450:4001:800::200e', 'DE'],
    ['::1', null],
    ['fd00::1', null],
    // A dual-stack socket's IPv4-mapped form is looked up as the IPv4 address.
    ['::ffff:8.8.8.8', 'US'],
  ];
  for (const [ip, cc] of expected) assert.equal(countryOf(ip), cc, ip);
  assert.match(db().describe, /GeoIP\.dat \(IPv4, .*\) and .*GeoIPv6\.dat \(IPv6, /);
});

/** reference asks geoiplookup (or geoiplookup6) about every address, one line each. */
function reference(program: string, file: string, ips: string[]): (string | null)[] {
  const out = execFileSync('bash', ['-c', `for ip in "$@"; do ${program} -f ${file} "$ip"; done`, '_', ...ips], {
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  const lines = out.trimEnd().split('\n');
  assert.equal(lines.length, ips.length, 'one geoiplookup line per address');
  return lines.map((l) => {
    if (/IP Address not found/.test(l)) return null;
    const m = /Edition: ([A-Z0-9]{2}),/.exec(l);
    assert.ok(m, `unexpected geoiplookup line ${JSON.stringify(l)}`);
    return m[1]!;
  });
}

function agree(program: string, file: string, addrs: IpAddress[]): void {
  const ips = addrs.map(formatIp);
  const want = reference(program, file, ips);
  const differ = ips.filter((ip, i) => countryOf(ip) !== want[i]);
  assert.deepEqual(differ.slice(0, 10), [], `${differ.length} of ${ips.length} addresses differ from ${program}`);
  // The sample must exercise real answers, not only "not found".
  assert.ok(want.filter((c) => c !== null).length > ips.length / 20, 'enough addresses have a country');
}

test('1000 random IPv4 addresses: the reader agrees with geoiplookup', { skip: noReference }, () => {
  const b = randomBytes(4000);
  const addrs = Array.from({ length: 1000 }, (_, i) => parseIp([...b.subarray(i * 4, i * 4 + 4)].join('.'))!);
  agree('geoiplookup', V4_FILE, addrs);
});

test('1000 random IPv6 addresses: the reader agrees with geoiplookup6', { skip: noReference }, () => {
  // A quarter anywhere in global unicast (2000::/3, nearly all unallocated: "not found"), the
  // rest in /16s the registries allocate densely from, where many addresses have a country.
  const busy = [0x2001, 0x2003, 0x2a00, 0x2a01, 0x2a02, 0x2804, 0x2405, 0x2600];
  const addrs = Array.from({ length: 1000 }, (_, i) => {
    const w = randomBytes(16);
    const groups = Array.from({ length: 8 }, (_, k) => w.readUInt16BE(k * 2));
    groups[0] = i % 4 === 0 ? 0x2000 | (groups[0]! & 0x1fff) : busy[i % busy.length]!;
    return parseIp(groups.map((g) => g.toString(16)).join(':'))!;
  });
  agree('geoiplookup6', V6_FILE, addrs);
});

test('files that are not country databases are refused with a sentence saying what to give', () => {
  assert.throws(
    () => loadCountryDb(['/nonexistent/GeoIP.dat']),
    (e: unknown) => {
      return e instanceof GeoIpFileError && /cannot read \/nonexistent\/GeoIP\.dat/.test(e.message);
    },
  );
  assert.throws(() => loadCountryDb(['/etc/hostname']), /not a GeoIP Legacy database .*country edition file/);
  assert.throws(() => loadCountryDb([]), /one or two country database files/);
});

test('two files of one family are refused', { skip: noFiles }, () => {
  assert.throws(() => loadCountryDb([V4_FILE, V4_FILE]), /both IPv4 country databases; give at most one of each/);
});

test('one file serves its family; the other family has no country', { skip: noFiles }, () => {
  const only4 = loadCountryDb([V4_FILE]);
  assert.equal(only4.country(parseIp('8.8.8.8')!), 'US');
  assert.equal(only4.country(parseIp('2001:4860:4860::8888')!), null);
});

test(
  "serve --geoip loads the files in either order; a wrong file stops the start; the default is Debian's",
  { skip: noFiles },
  () => {
    const io = { stdout: { write: () => true }, stderr: { write: () => true } };
    const base = ['--data', '/tmp/x', '--listen', '127.0.0.1:0'];
    const both = serveOptions([...base, '--geoip', `${V6_FILE},${V4_FILE}`], io).geoip!;
    assert.equal(both.country(parseIp('193.99.144.80')!), 'DE');
    assert.equal(both.country(parseIp('2a00:1450:4001:800::200e')!), 'DE');
    assert.match(serveOptions(base, io).geoip!.describe, /GeoIP\.dat .* and .*GeoIPv6\.dat/);
    assert.throws(
      () => serveOptions([...base, '--geoip', '/etc/hostname'], io),
      (e: unknown) =>
        e instanceof UsageError && /^--geoip: \/etc\/hostname is not a GeoIP Legacy database/.test(e.message),
    );
  },
);
