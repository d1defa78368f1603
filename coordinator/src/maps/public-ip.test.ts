// PublicIp's Ranges, Blocked, Countries and BlockedCountries decide as written: the World the
// coordinator builds keeps exactly the senders whose observed address meets them, judged by
// Debian's country database; an unknown address and a missing database fail closed; the
// policy file refuses malformed prefixes and codes, and a coordinator without a database
// refuses a file naming countries at apply.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCidr } from '../../../src-shared/lib/ip/ipv4.js';
import { buildWorld } from './netmap.js';
import { parsePolicyFile } from '../policy/policy-file.js';
import { Registry } from '../store/registry.js';
import { SqliteStore } from '../store/sqlite-store.js';
import { sampleSystemRow } from '../testing/rows.js';
import { createKey, startTestCoordinator } from '../testing/testing.js';
import { SimAgent } from '../testing/agent-sim.js';
import { DEBIAN_GEOIP_FILES, loadCountryDb, type CountryDb } from '../geoip/geoip.js';

const haveFiles = DEBIAN_GEOIP_FILES.every((f) => existsSync(f));
const noFiles = haveFiles ? false : `needs ${DEBIAN_GEOIP_FILES.join(' and ')}: apt-get install geoip-database`;
let loaded: CountryDb | null = null;
const db = (): CountryDb => (loaded ??= loadCountryDb(DEBIAN_GEOIP_FILES));

// Each sender's observed address and, for reading the tests, where geoiplookup puts it.
const SENDERS: [name: string, observedIp: string | null][] = [
  ['us', '8.8.8.8'], // US
  ['de', '193.99.144.80'], // DE
  ['de6', '2a00:1450:4001:800::200e'], // DE
  ['demapped', '::ffff:193.99.144.80'], // DE, as a dual-stack socket reports it
  ['au', '1.1.1.1'], // AU
  ['private', '10.1.2.3'], // no country
  ['unknown', null],
];

const policy = (req: object): string =>
  JSON.stringify({
    Tags: ['dev', 'server'],
    Policies: [
      {
        Name: 'p',
        Senders: ['tag:dev'],
        Receivers: ['tag:server'],
        Acls: [{ Protocol: 'any' }],
        TrustRequirements: [{ Type: 'PublicIp', ...req }],
      },
    ],
  });

/** sendersMeeting applies a policy with req and returns the names of the senders it keeps. */
function sendersMeeting(countryDb: CountryDb | null, req: object): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'warren-publicip-'));
  const store = new SqliteStore(join(dir, 'c.db'));
  try {
    const events = { changed() {}, revoked() {}, removed() {} };
    const registry = new Registry(store, parseCidr('100.64.0.0/10')!, 'z', events, 0, { countryDb });
    const names = new Map<string, string>();
    const add = (n: number, name: string, tags: string[], observedIp: string | null): void => {
      const over = { id: `s${n}`, wgKey: `wg${n}`, machineKey: `mk${n}`, name, address: 0x64400000 + n };
      names.set(registry.insert(sampleSystemRow({ ...over, tags, observedIp }), 0).identity, name);
    };
    SENDERS.forEach(([name, ip], i) => add(i + 1, name, ['dev'], ip));
    add(100, 'server', ['server'], '203.0.113.9');
    const text = policy(req);
    const r = parsePolicyFile(text);
    assert.ok(r.ok, JSON.stringify(!r.ok && r.issues));
    registry.applyPolicy(text, r.file, 1);
    const senders = buildWorld(registry, registry.policy, 1).policies[0]!.senders;
    return [...senders].map((id) => names.get(id)!).sort();
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('Countries keeps the senders the database places in them, IPv4, IPv6 and IPv4-mapped', { skip: noFiles }, () => {
  assert.deepEqual(sendersMeeting(db(), { Countries: ['DE'] }), ['de', 'de6', 'demapped']);
  assert.deepEqual(sendersMeeting(db(), { Countries: ['de', 'AU'] }), ['au', 'de', 'de6', 'demapped']);
});

test(
  'BlockedCountries drops the senders in them; no country is not blocked, an unknown address is',
  { skip: noFiles },
  () => {
    assert.deepEqual(sendersMeeting(db(), { BlockedCountries: ['US', 'AU'] }), ['de', 'de6', 'demapped', 'private']);
  },
);

test('Blocked ranges of either family drop the senders inside them, with or without Ranges', () => {
  assert.deepEqual(sendersMeeting(null, { Blocked: ['8.0.0.0/8', '2a00:1450::/32'] }), [
    'au',
    'de',
    'demapped',
    'private',
  ]);
  assert.deepEqual(sendersMeeting(null, { Ranges: ['193.99.144.0/24', '1.0.0.0/8'], Blocked: ['1.1.1.1/32'] }), [
    'de',
    'demapped',
  ]);
  assert.deepEqual(sendersMeeting(null, { Ranges: ['2a00::/12'] }), ['de6']);
});

test('every condition written must hold: Ranges and Countries together', { skip: noFiles }, () => {
  assert.deepEqual(sendersMeeting(db(), { Ranges: ['0.0.0.0/0'], Countries: ['DE', 'AU'] }), ['au', 'de', 'demapped']);
  assert.deepEqual(sendersMeeting(db(), { Countries: ['DE'], Blocked: ['193.99.144.0/24'] }), ['de6']);
});

test('without a country database, country conditions are never met (fail closed)', () => {
  assert.deepEqual(sendersMeeting(null, { Countries: ['DE'] }), []);
  assert.deepEqual(sendersMeeting(null, { BlockedCountries: ['US'] }), []);
});

test('the policy file refuses bad prefixes, unknown codes, empty lists and a requirement with no condition', () => {
  const problems = (req: object): string[] => {
    const r = parsePolicyFile(policy(req));
    return r.ok ? [] : r.issues.map((i) => `${i.key}: ${i.problem}`);
  };
  const at = 'Policies[0].TrustRequirements[0]';
  assert.deepEqual(problems({ Blocked: ['2001:db8::1/32'] }), [
    `${at}.Blocked[0]: "2001:db8::1/32" has host bits set; did you mean 2001:db8::/32?`,
  ]);
  assert.match(
    problems({ Ranges: ['10.0.0.0/33'] })[0]!,
    /Ranges\[0\]: "10\.0\.0\.0\/33" is not an IPv4 or IPv6 prefix/,
  );
  assert.match(problems({ Countries: ['XX'] })[0]!, /Countries\[0\]: "XX" is not an ISO 3166-1 alpha-2 country code/);
  // The database's region codes are not countries.
  assert.match(problems({ BlockedCountries: ['EU'] })[0]!, /BlockedCountries\[0\]: "EU" is not an ISO 3166-1/);
  assert.match(problems({ Countries: [] })[0]!, /Countries: must list at least one entry; leave Countries out/);
  assert.match(
    problems({})[0]!,
    new RegExp(`${at.replace(/[[\]]/g, '\\$&')}: names no condition: give Ranges or Countries`),
  );
  assert.ok(problems({ Country: ['DE'] }).some((p) => /Country: unknown key/.test(p)));
  assert.deepEqual(problems({ Ranges: ['2001:db8::/32'], Blocked: ['2001:db8:1::/48'], Countries: ['gb'] }), []);
});

test('a coordinator without a country database refuses a policy naming countries at apply', async () => {
  const c = await startTestCoordinator({ geoip: null });
  try {
    const refused = await c.admin<{ issues?: { key: string; problem: string }[] }>(
      'PUT',
      '/v1/admin/policy',
      policy({ BlockedCountries: ['US'] }),
    );
    assert.equal(refused.status, 422, JSON.stringify(refused.body));
    assert.match(JSON.stringify(refused.body), /policy-invalid/);
    assert.equal(refused.body.issues?.[0]?.key, 'Policies[0].TrustRequirements[0].BlockedCountries');
    assert.match(
      refused.body.issues?.[0]?.problem ?? '',
      /^this coordinator has no country database.*install the geoip-database package .* or start the coordinator with serve --geoip FILE/,
    );
    const ranges = await c.admin('PUT', '/v1/admin/policy', policy({ Blocked: ['198.51.100.0/24'] }));
    assert.equal(ranges.status, 200);
    assert.ok(c.logLines.some((l) => /no country database: policies naming Countries are refused/.test(l)));
  } finally {
    await c.dispose();
  }
});

test('a coordinator with the country database applies it and logs the files', { skip: noFiles }, async () => {
  const c = await startTestCoordinator({ geoip: db() });
  try {
    const applied = await c.admin('PUT', '/v1/admin/policy', policy({ Countries: ['DE'] }));
    assert.equal(applied.status, 200, JSON.stringify(applied.body));
    assert.ok(c.logLines.some((l) => /country database for PublicIp: \/usr\/share\/GeoIP\/GeoIP\.dat \(IPv4/.test(l)));
  } finally {
    await c.dispose();
  }
});

test('over HTTP, Blocked drops a sender by the address the coordinator sees it connect from', async () => {
  const c = await startTestCoordinator({ geoip: null });
  try {
    const dev = new SimAgent(c.url);
    const server = new SimAgent(c.url);
    await dev.enrol(await createKey(c, { tags: ['dev'] }), 'dev');
    await server.enrol(await createKey(c, { tags: ['server'] }), 'server');
    const apply = async (req: object): Promise<void> =>
      assert.equal((await c.admin('PUT', '/v1/admin/policy', policy(req))).status, 200);
    // The agents connect from 127.0.0.1.
    await apply({ Blocked: ['127.0.0.0/8'] });
    assert.deepEqual((await dev.getMap()).peers, []);
    await apply({ Blocked: ['203.0.113.0/24', '::1/128'] });
    const m = await dev.getMap();
    assert.deepEqual(
      m.peers.map((p) => p.identity),
      [server.identity],
    );
    assert.deepEqual(m.policies[0]!.trustRequirements, [], 'maps carry the outcome, not the requirement');
  } finally {
    await c.dispose();
  }
});
