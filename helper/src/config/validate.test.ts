import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProfileError } from '../../../src-shared/lib/errors.js';
import { formatKey, generatePrivateKey, publicKeyFromPrivate } from '../../../src-shared/lib/keys.js';
import { parseCidr } from '../../../src-shared/lib/ip/ipv4.js';
import { identityFromPublicKey } from '../../../src-shared/lib/identity.js';
import { validateProfile } from './validate.js';
import { toProfileJson } from './schema.js';

const OWN_PRIVATE = 'yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=';
const OWN_PUBLIC = 'HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=';
const BETA = 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=';
const GAMMA = 'TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=';

type Json = Record<string, unknown>;

function good(): Json {
  return {
    PrivateKey: OWN_PRIVATE,
    ListenPort: 51820,
    VirtualAddress: '100.64.0.1',
    Peers: [
      {
        Name: 'beta',
        PublicKey: BETA,
        Endpoint: '192.0.2.2:51820',
        AllowedIPs: ['100.64.0.2/32'],
        PersistentKeepalive: 25,
      },
      { PublicKey: GAMMA, AllowedIPs: ['100.64.0.3/32', '10.9.0.0/16'] },
    ],
  };
}

function peer(p: Json, i: number): Json {
  return (p.Peers as Json[])[i]!;
}

test('a good profile is normalised with defaults filled in', () => {
  const p = validateProfile(good(), 'a.profile');
  assert.equal(formatKey(p.publicKey), OWN_PUBLIC);
  assert.match(p.identity, /^[0-9A-HJKMNP-TV-Z]{5}$/);
  assert.equal(p.listenPort, 51820);
  assert.equal(p.listenAddress, '::', 'dual-stack by default');
  assert.equal(p.virtualAddress, '100.64.0.1');
  assert.deepEqual(p.virtualNetwork, { addr: 0x64400000, bits: 10 });
  assert.deepEqual(p.adapter, { name: 'warren0', mtu: 1420, explicit: false });
  const named = validateProfile({ ...good(), Adapter: { Name: 'warren0' } }, 'p');
  assert.equal(named.adapter.explicit, true, 'a name the profile sets is kept, even the default one');
  assert.equal(p.peers.length, 2);
  assert.deepEqual(p.peers[0]!.endpoint, { addr: { family: 4, v4: 0xc0000202 }, port: 51820 });
  assert.deepEqual(p.peers[0]!.allowedIps, [parseCidr('100.64.0.2/32')]);
  assert.equal(p.peers[0]!.name, 'beta');
  assert.equal(p.peers[0]!.persistentKeepalive, 25);
  assert.equal(p.peers[1]!.endpoint, null);
  assert.equal(p.peers[1]!.name, null);
  assert.equal(p.peers[1]!.presharedKey, null);
  assert.equal(p.peers[1]!.persistentKeepalive, 0);
  assert.deepEqual(p.reserved, {});
});

test('an IPv6 endpoint in brackets and an IPv6 ListenAddress are taken, and written back the same way', () => {
  const j = good();
  j.ListenAddress = '2001:db8::53';
  peer(j, 0).Endpoint = '[2001:DB8:0:0::2]:51820';
  const p = validateProfile(j, 'a.profile');
  assert.equal(p.listenAddress, '2001:db8::53');
  assert.deepEqual(p.peers[0]!.endpoint, { addr: { family: 6, w0: 0x20010db8, w1: 0, w2: 0, w3: 2 }, port: 51820 });
  assert.equal(toProfileJson(p).Peers![0]!.Endpoint, '[2001:db8::2]:51820', 'in RFC 5952 form');
});

/** coordinator is a valid Coordinator section (keys are arbitrary 32-byte values). */
function coordinator(): Record<string, string> {
  return { Url: 'https://c.example:8443/', PublicKey: BETA, SystemId: 'sys_1', MachineKey: OWN_PUBLIC };
}

test('a Coordinator section makes the profile coordinated and default deny', () => {
  const j = good();
  delete j.Peers;
  j.Coordinator = coordinator();
  const p = validateProfile(j, 'a.profile');
  assert.equal(p.coordinator?.url, 'https://c.example:8443', 'the trailing slash is dropped');
  assert.equal(p.coordinator?.systemId, 'sys_1');
  assert.deepEqual(p.policies, [], 'no policies yet means deny, not allow-all');
  assert.deepEqual(p.peers, []);
  assert.equal(p.coordinator!.allowFullTunnel, false, 'no full tunnel from the coordinator unless allowed');
  j.Coordinator = { ...coordinator(), AllowFullTunnel: true };
  assert.equal(validateProfile(j, 'a.profile').coordinator!.allowFullTunnel, true);
});

test("a coordinated profile's identity is the one issued at enrolment (Coordinator.Identity), else its key's", () => {
  const j = good();
  delete j.Peers;
  j.Coordinator = coordinator();
  const enrolledBefore = validateProfile(j, 'a.profile');
  assert.equal(enrolledBefore.coordinator?.identity, null);
  assert.equal(enrolledBefore.identity, identityFromPublicKey(enrolledBefore.publicKey));
  const issued = enrolledBefore.identity === 'ME123' ? 'ME124' : 'ME123';
  j.Coordinator = { ...coordinator(), Identity: issued };
  const p = validateProfile(j, 'a.profile');
  assert.deepEqual([p.identity, p.coordinator?.identity], [issued, issued]);
});

test('reserved keys are kept raw', () => {
  const j = good();
  j.ExitNode = { ProvidesRoutes: ['192.168.1.0/24'] };
  j.Tags = ['server'];
  const p = validateProfile(j, 'a.profile');
  assert.deepEqual(p.reserved, { ExitNode: { ProvidesRoutes: ['192.168.1.0/24'] }, Tags: ['server'] });
  assert.deepEqual(p.exitNode.providesRoutes, [{ addr: { family: 4, v4: 0xc0a80100 }, bits: 24 }]);
});

interface BadCase {
  name: string;
  edit: (j: Json) => void;
  key: string | null;
  problem: RegExp;
}

const long = 'x'.repeat(257);
const badCases: BadCase[] = [
  { name: 'missing PrivateKey', edit: (j) => delete j.PrivateKey, key: 'PrivateKey', problem: /is required/ },
  { name: 'short PrivateKey', edit: (j) => (j.PrivateKey = 'abc='), key: 'PrivateKey', problem: /has 4 characters/ },
  {
    name: 'PrivateKey not a string',
    edit: (j) => (j.PrivateKey = 7),
    key: 'PrivateKey',
    problem: /must be a string, not a number/,
  },
  {
    name: 'zero PrivateKey',
    edit: (j) => (j.PrivateKey = Buffer.alloc(32).toString('base64')),
    key: 'PrivateKey',
    problem: /all zeros/,
  },
  {
    name: 'ListenPort too big',
    edit: (j) => (j.ListenPort = 70000),
    key: 'ListenPort',
    problem: /from 0 to 65535, not 70000/,
  },
  { name: 'ListenPort string', edit: (j) => (j.ListenPort = '51820'), key: 'ListenPort', problem: /not a string/ },
  { name: 'ListenPort fraction', edit: (j) => (j.ListenPort = 1.5), key: 'ListenPort', problem: /whole number/ },
  {
    name: 'ListenAddress',
    edit: (j) => (j.ListenAddress = 'localhost'),
    key: 'ListenAddress',
    problem: /"localhost" is not an IP address \(expected a\.b\.c\.d, an IPv6 address, or "::" for both\)/,
  },
  {
    name: 'ListenAddress link-local',
    edit: (j) => (j.ListenAddress = 'fe80::1'),
    key: 'ListenAddress',
    problem: /"fe80::1" is link-local/,
  },
  {
    name: 'missing VirtualAddress',
    edit: (j) => delete j.VirtualAddress,
    key: 'VirtualAddress',
    problem: /is required/,
  },
  {
    name: 'VirtualAddress bad',
    edit: (j) => (j.VirtualAddress = '100.64.0'),
    key: 'VirtualAddress',
    problem: /not an IPv4 address/,
  },
  {
    name: 'VirtualAddress outside',
    edit: (j) => (j.VirtualAddress = '10.0.0.1'),
    key: 'VirtualAddress',
    problem: /outside VirtualNetwork 100\.64\.0\.0\/10/,
  },
  {
    name: 'VirtualAddress network',
    edit: (j) => (j.VirtualAddress = '100.64.0.0'),
    key: 'VirtualAddress',
    problem: /network or broadcast/,
  },
  {
    name: 'VirtualAddress broadcast',
    edit: (j) => (j.VirtualAddress = '100.127.255.255'),
    key: 'VirtualAddress',
    problem: /network or broadcast/,
  },
  {
    name: 'VirtualNetwork host bits',
    edit: (j) => (j.VirtualNetwork = '100.64.0.1/10'),
    key: 'VirtualNetwork',
    problem: /host bits set \(did you mean "100\.64\.0\.0\/10"\?\)/,
  },
  {
    name: 'VirtualNetwork too wide',
    edit: (j) => (j.VirtualNetwork = '0.0.0.0/0'),
    key: 'VirtualNetwork',
    problem: /from 8 to 30/,
  },
  {
    name: 'VirtualNetwork not CIDR',
    edit: (j) => (j.VirtualNetwork = '100.64.0.0'),
    key: 'VirtualNetwork',
    problem: /not an IPv4 CIDR/,
  },
  { name: 'Adapter not object', edit: (j) => (j.Adapter = 'warren0'), key: 'Adapter', problem: /must be an object/ },
  {
    name: 'Adapter.Name long',
    edit: (j) => (j.Adapter = { Name: 'a-very-long-name0' }),
    key: 'Adapter.Name',
    problem: /1-15 characters/,
  },
  {
    name: 'Adapter.Name slash',
    edit: (j) => (j.Adapter = { Name: 'wg/0' }),
    key: 'Adapter.Name',
    problem: /not a device name/,
  },
  { name: 'Adapter.Mtu', edit: (j) => (j.Adapter = { Mtu: 100 }), key: 'Adapter.Mtu', problem: /from 576 to 65535/ },
  {
    name: 'Adapter unknown',
    edit: (j) => (j.Adapter = { MTU: 1400 }),
    key: 'Adapter.MTU',
    problem: /unknown key \(did you mean "Mtu"\?\)/,
  },
  {
    name: 'unknown top-level key',
    edit: (j) => (j.ListenPrt = 1),
    key: 'ListenPrt',
    problem: /unknown key \(did you mean "ListenPort"\?\)/,
  },
  { name: 'wrong case', edit: (j) => (j.peers = []), key: 'peers', problem: /did you mean "Peers"/ },
  { name: 'unknown, no suggestion', edit: (j) => (j.Banana = 1), key: 'Banana', problem: /^unknown key$/ },
  { name: 'odd key is quoted', edit: (j) => (j['a\nb'] = 1), key: '["a\\nb"]', problem: /unknown key/ },
  { name: 'Peers not array', edit: (j) => (j.Peers = {}), key: 'Peers', problem: /must be an array/ },
  {
    name: 'peer not object',
    edit: (j) => ((j.Peers as unknown[])[1] = 'x'),
    key: 'Peers[1]',
    problem: /must be an object/,
  },
  {
    name: 'peer unknown key',
    edit: (j) => (peer(j, 0).Endpiont = 'x'),
    key: 'Peers[0].Endpiont',
    problem: /did you mean "Endpoint"/,
  },
  {
    name: 'peer missing key',
    edit: (j) => delete peer(j, 1).PublicKey,
    key: 'Peers[1].PublicKey',
    problem: /is required/,
  },
  {
    name: 'peer bad key',
    edit: (j) => (peer(j, 1).PublicKey = 'not a key'),
    key: 'Peers[1].PublicKey',
    problem: /has 9 characters/,
  },
  {
    name: 'peer zero key',
    edit: (j) => (peer(j, 1).PublicKey = Buffer.alloc(32).toString('base64')),
    key: 'Peers[1].PublicKey',
    problem: /all zeros/,
  },
  {
    name: 'peer bad PSK',
    edit: (j) => (peer(j, 1).PresharedKey = 'abc'),
    key: 'Peers[1].PresharedKey',
    problem: /has 3 characters/,
  },
  {
    name: 'bad CIDR',
    edit: (j) => (peer(j, 1).AllowedIPs = ['100.64.0.3/32', '100.64.0.300/32']),
    key: 'Peers[1].AllowedIPs[1]',
    problem: /^"100\.64\.0\.300\/32" is not an IPv4 CIDR \(expected a\.b\.c\.d\/n\)$/,
  },
  {
    name: 'CIDR host bits',
    edit: (j) => (peer(j, 1).AllowedIPs = ['10.9.0.1/16']),
    key: 'Peers[1].AllowedIPs[0]',
    problem: /did you mean "10\.9\.0\.0\/16"/,
  },
  {
    name: 'AllowedIPs missing',
    edit: (j) => delete peer(j, 0).AllowedIPs,
    key: 'Peers[0].AllowedIPs',
    problem: /is required/,
  },
  {
    name: 'AllowedIPs string',
    edit: (j) => (peer(j, 0).AllowedIPs = '100.64.0.2/32'),
    key: 'Peers[0].AllowedIPs',
    problem: /must be an array of CIDRs/,
  },
  {
    name: 'AllowedIPs entry number',
    edit: (j) => (peer(j, 0).AllowedIPs = [5]),
    key: 'Peers[0].AllowedIPs[0]',
    problem: /must be a string, not a number/,
  },
  {
    name: 'AllowedIPs twice in one peer',
    edit: (j) => (peer(j, 0).AllowedIPs = ['100.64.0.2/32', '100.64.0.2/32']),
    key: 'Peers[0].AllowedIPs[1]',
    problem: /listed twice \(also at \[0\]\)/,
  },
  {
    name: 'AllowedIPs in two peers',
    edit: (j) => (peer(j, 1).AllowedIPs = ['100.64.0.3/32', '100.64.0.2/32']),
    key: 'Peers[1].AllowedIPs[1]',
    problem: /already routed to Peers\[0\] \(AllowedIPs\[0\]\)/,
  },
  {
    name: 'Endpoint host name',
    edit: (j) => (peer(j, 0).Endpoint = 'beta.example:51820'),
    key: 'Peers[0].Endpoint',
    problem: /not an endpoint \(expected a\.b\.c\.d:port or \[ipv6\]:port, port 1-65535\)/,
  },
  {
    name: 'Endpoint IPv6 without brackets',
    edit: (j) => (peer(j, 0).Endpoint = '2001:db8::1:51820'),
    key: 'Peers[0].Endpoint',
    problem: /not an endpoint .*; write an IPv6 address in brackets/,
  },
  {
    name: 'Endpoint IPv6 link-local',
    edit: (j) => (peer(j, 0).Endpoint = '[fe80::1]:51820'),
    key: 'Peers[0].Endpoint',
    problem: /link-local \(fe80::\/10\), which is not supported as an endpoint/,
  },
  {
    name: 'Endpoint ::',
    edit: (j) => (peer(j, 0).Endpoint = '[::]:51820'),
    key: 'Peers[0].Endpoint',
    problem: /not a destination a packet can be sent to/,
  },
  {
    name: 'Endpoint port 0',
    edit: (j) => (peer(j, 0).Endpoint = '192.0.2.2:0'),
    key: 'Peers[0].Endpoint',
    problem: /port 1-65535/,
  },
  {
    name: 'Endpoint unspecified',
    edit: (j) => (peer(j, 0).Endpoint = '0.0.0.0:51820'),
    key: 'Peers[0].Endpoint',
    problem: /not a destination/,
  },
  {
    name: 'Keepalive negative',
    edit: (j) => (peer(j, 0).PersistentKeepalive = -1),
    key: 'Peers[0].PersistentKeepalive',
    problem: /from 0 to 65535/,
  },
  {
    name: 'Name control char',
    edit: (j) => (peer(j, 0).Name = 'be\u001b[31mta'),
    key: 'Peers[0].Name',
    problem: /without control characters/,
  },
  { name: 'Name empty', edit: (j) => (peer(j, 0).Name = ''), key: 'Peers[0].Name', problem: /must be 1-64/ },
  {
    name: 'duplicate peer key',
    edit: (j) => (peer(j, 1).PublicKey = BETA),
    key: 'Peers[1].PublicKey',
    problem: /same key as Peers\[0\]\.PublicKey/,
  },
  {
    name: 'own key as peer',
    edit: (j) => (peer(j, 1).PublicKey = OWN_PUBLIC),
    key: 'Peers[1].PublicKey',
    problem: /own public key/,
  },
  {
    name: 'string too long',
    edit: (j) => (peer(j, 0).Name = long),
    key: 'Peers[0].Name',
    problem: /257 characters long \(the limit is 256\)/,
  },
  {
    name: 'reserved wrong shape',
    edit: (j) => (j.Coordinator = []),
    key: 'Coordinator',
    problem: /must be an object, not an array/,
  },
  { name: 'egress shape', edit: (j) => (j.Egress = []), key: 'Egress', problem: /must be an object/ },
  {
    name: 'egress bad pattern',
    edit: (j) => (j.Egress = { Allow: ['ok.test', 'a*b.test'] }),
    key: 'Egress.Allow[1]',
    problem: /wildcard/,
  },
  {
    name: 'egress port',
    edit: (j) => (j.Egress = { Allow: [], ListenPort: 0 }),
    key: 'Egress.ListenPort',
    problem: /port number/,
  },
  {
    name: 'ingress port 53',
    edit: (j) => (j.Ingress = [{ ListenPort: 53 }]),
    key: 'Ingress[0].ListenPort',
    problem: /DNS server/,
  },
  {
    name: 'ingress duplicate',
    edit: (j) => (j.Ingress = [{ ListenPort: 3000 }, { ListenPort: 3000 }]),
    key: 'Ingress[1].ListenPort',
    problem: /listed twice/,
  },
  { name: 'exit node shape', edit: (j) => (j.ExitNode = []), key: 'ExitNode', problem: /must be an object/ },
  {
    name: 'exit node kill switch',
    edit: (j) => (j.ExitNode = { KillSwitch: 'yes' }),
    key: 'ExitNode.KillSwitch',
    problem: /true or false/,
  },
  {
    name: 'exit route overlaps overlay',
    edit: (j) => (j.ExitNode = { ProvidesRoutes: ['100.64.0.0/16'] }),
    key: 'ExitNode.ProvidesRoutes[0]',
    problem: /overlaps the virtual network/,
  },
  {
    name: 'exit route host bits',
    edit: (j) => (j.ExitNode = { AvailableRoutes: { G982V: ['192.168.1.1/24'] } }),
    key: 'ExitNode.AvailableRoutes.G982V[0]',
    problem: /host bits/,
  },
  {
    name: 'exit route unknown peer',
    edit: (j) => (j.ExitNode = { AvailableRoutes: { G982V: ['192.168.1.0/24'] } }),
    key: 'ExitNode.AvailableRoutes.G982V',
    problem: /no peer in Peers/,
  },
  {
    name: 'exit route bad identity',
    edit: (j) => (j.ExitNode = { AvailableRoutes: { nope: [] } }),
    key: 'ExitNode.AvailableRoutes.nope',
    problem: /is not an identity/,
  },
  { name: 'ingress shape', edit: (j) => (j.Ingress = {}), key: 'Ingress', problem: /must be an array/ },
  {
    name: 'coordinator null',
    edit: (j) => (j.Coordinator = null),
    key: 'Coordinator',
    problem: /must be an object, not null/,
  },
  {
    name: 'coordinator with peers',
    edit: (j) => (j.Coordinator = coordinator()),
    key: 'Peers',
    problem: /comes from the coordinator/,
  },
  {
    name: 'coordinator full tunnel not a boolean',
    edit: (j) => {
      delete j.Peers;
      j.Coordinator = { ...coordinator(), AllowFullTunnel: 'yes' };
    },
    key: 'Coordinator.AllowFullTunnel',
    problem: /must be true or false/,
  },
  {
    name: 'coordinator bad url',
    edit: (j) => {
      delete j.Peers;
      j.Coordinator = { ...coordinator(), Url: 'ftp://c.example' };
    },
    key: 'Coordinator.Url',
    problem: /http:\/\/ or https:\/\/ URL/,
  },
  {
    name: 'coordinator bad key',
    edit: (j) => {
      delete j.Peers;
      j.Coordinator = { ...coordinator(), PublicKey: 'x' };
    },
    key: 'Coordinator.PublicKey',
    problem: /has 1 characters/,
  },
  {
    name: 'coordinator identity not Crockford',
    edit: (j) => {
      delete j.Peers;
      j.Coordinator = { ...coordinator(), Identity: 'ME12I' };
    },
    key: 'Coordinator.Identity',
    problem: /the identity the coordinator issued/,
  },
  {
    name: 'coordinator identity not a string',
    edit: (j) => {
      delete j.Peers;
      j.Coordinator = { ...coordinator(), Identity: 12345 };
    },
    key: 'Coordinator.Identity',
    problem: /the identity the coordinator issued/,
  },
  {
    name: 'coordinator unknown key',
    edit: (j) => {
      delete j.Peers;
      j.Coordinator = { ...coordinator(), Token: 'x' };
    },
    key: 'Coordinator.Token',
    problem: /unknown key/,
  },
  { name: 'policies not an array', edit: (j) => (j.Policies = {}), key: 'Policies', problem: /must be an array/ },
  { name: 'dns null', edit: (j) => (j.Dns = null), key: 'Dns', problem: /must be an object/ },
  { name: 'dns zone', edit: (j) => (j.Dns = { Zone: 'bad zone' }), key: 'Dns.Zone', problem: /not a DNS zone/ },
  { name: 'dns unknown key', edit: (j) => (j.Dns = { Servers: [] }), key: 'Dns.Servers', problem: /unknown key/ },
  { name: 'own tag', edit: (j) => (j.Tags = ['dev', 'no spaces']), key: 'Tags[1]', problem: /not a tag name/ },
  { name: 'peer tags', edit: (j) => (peer(j, 0).Tags = 'dev'), key: 'Peers[0].Tags', problem: /must be an array/ },
  {
    name: 'peer dns name',
    edit: (j) => (peer(j, 0).DnsNames = ['ok', 'under_score']),
    key: 'Peers[0].DnsNames[1]',
    problem: /not a DNS name/,
  },
  {
    name: 'coordinator long url',
    edit: (j) => {
      delete j.Peers;
      j.Coordinator = { ...coordinator(), Url: `https://${long}` };
    },
    key: 'Coordinator.Url',
    problem: /at most 256 characters/,
  },
  {
    name: 'too many peers',
    edit: (j) => (j.Peers = Array.from({ length: 10001 }, () => ({}))),
    key: 'Peers',
    problem: /has 10001 peers \(the limit is 10000\)/,
  },
  {
    name: 'too many AllowedIPs',
    edit: (j) => (peer(j, 0).AllowedIPs = Array.from({ length: 1001 }, (_, i) => `10.0.${i >> 8}.${i & 255}/32`)),
    key: 'Peers[0].AllowedIPs',
    problem: /has 1001 entries \(the limit is 1000\)/,
  },
];

for (const c of badCases) {
  test(`bad profile: ${c.name}`, () => {
    const j = good();
    c.edit(j);
    assert.throws(
      () => validateProfile(j, '/etc/warren/profiles/a.profile'),
      (e: unknown) => {
        assert.ok(e instanceof ProfileError, String(e));
        assert.equal(e.file, '/etc/warren/profiles/a.profile');
        const issue = e.issues.find((i) => i.key === c.key);
        assert.ok(issue, `no issue at ${c.key}; got:\n${e.message}`);
        assert.match(issue.problem, c.problem);
        const prefix = c.key === null ? '' : `${c.key}: `;
        assert.ok(e.message.includes(`profile /etc/warren/profiles/a.profile: ${prefix}${issue.problem}`), e.message);
        return true;
      },
    );
  });
}

test('the top level must be an object', () => {
  for (const v of [[], 'x', null, 3]) {
    assert.throws(() => validateProfile(v, 'f'), /^ProfileError: profile f: the top level must be a JSON object/);
  }
});

test('the message has the documented form for one problem', () => {
  const j = good();
  peer(j, 1).AllowedIPs = ['100.64.0.300/32'];
  assert.throws(() => validateProfile(j, '/etc/warren/profiles/a.profile'), {
    message:
      'profile /etc/warren/profiles/a.profile: Peers[1].AllowedIPs[0]: "100.64.0.300/32" is not an IPv4 CIDR (expected a.b.c.d/n)',
  });
});

test('all problems are reported, up to a limit', () => {
  const j = good();
  j.ListenPort = -1;
  peer(j, 0).Endpoint = 'nope';
  assert.throws(
    () => validateProfile(j, 'f'),
    (e: ProfileError) => e.issues.length === 2 && e.message.split('\n').length === 2,
  );
  const many = good();
  many.Peers = Array.from({ length: 30 }, () => ({ PublicKey: 'bad', AllowedIPs: [] }));
  assert.throws(
    () => validateProfile(many, 'f'),
    (e: ProfileError) => {
      const lines = e.message.split('\n');
      return e.issues.length === 30 && lines.length === 21 && lines[20] === 'profile f: and 10 more problems';
    },
  );
});

test('a PrivateKey never appears in an error message', () => {
  const j = good();
  const key = formatKey(generatePrivateKey());
  j.PrivateKey = key.slice(0, 40) + '!!!=';
  assert.throws(
    () => validateProfile(j, 'f'),
    (e: Error) => e instanceof ProfileError && /PrivateKey/.test(e.message) && !e.message.includes(key.slice(0, 20)),
  );
});

test('overlapping but different prefixes across peers are allowed (longest prefix wins)', () => {
  const j = good();
  peer(j, 0).AllowedIPs = ['100.64.0.0/10'];
  peer(j, 1).AllowedIPs = ['100.64.0.3/32'];
  const p = validateProfile(j, 'f');
  assert.equal(p.peers[0]!.allowedIps[0]!.bits, 10);
});

test('peer identity is derived from its key', () => {
  const pub = publicKeyFromPrivate(generatePrivateKey());
  const j = good();
  peer(j, 1).PublicKey = formatKey(pub);
  const p = validateProfile(j, 'f');
  assert.deepEqual(p.peers[1]!.publicKey, pub);
  assert.match(p.peers[1]!.identity, /^[0-9A-Z]{5}$/);
});

test('tags, DNS names, zone and policies are interpreted and normalised', () => {
  const j = good();
  j.Tags = ['Dev', 'tag:db', 'dev'];
  j.Dns = { Zone: 'Corp.Internal.' };
  peer(j, 0).Tags = ['web'];
  peer(j, 0).DnsNames = ['B', 'db.prod.corp.internal'];
  j.Policies = [
    { Name: 'dev to web', Senders: ['tag:dev'], Receivers: ['tag:web'], Acls: [{ Protocol: 'tcp', Ports: '22,443' }] },
  ];
  const p = validateProfile(j, 'x.profile');
  assert.deepEqual(p.tags, ['dev', 'db']);
  assert.equal(p.dns.zone, 'corp.internal');
  assert.deepEqual(p.peers[0]!.tags, ['web']);
  assert.deepEqual(p.peers[0]!.dnsNames, ['b', 'db.prod']);
  assert.equal(p.policies?.length, 1);
  assert.equal(p.policies?.[0]?.name, 'dev to web');
});
