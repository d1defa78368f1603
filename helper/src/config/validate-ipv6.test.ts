// The profile's IPv6 keys: VirtualAddress6, VirtualNetwork6 and IPv6 AllowedIPs (docs/profile.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProfileError } from '../../../src-shared/lib/errors.js';
import { formatIpPrefix } from '../../../src-shared/lib/ip/addr.js';
import { validateProfile } from './validate.js';
import { toProfileJson } from './schema.js';
import { identityFromPublicKey } from '../../../src-shared/lib/identity.js';
import { parseKey } from '../../../src-shared/lib/keys.js';

const OWN_PRIVATE = 'yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=';
const BETA = 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=';
const GAMMA = 'TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=';

type Json = Record<string, unknown>;

function profile(over: Json = {}, peers?: Json[]): Json {
  return {
    PrivateKey: OWN_PRIVATE,
    VirtualAddress: '100.64.0.1',
    Peers: peers ?? [{ PublicKey: BETA, AllowedIPs: ['100.64.0.2/32', 'fd12:3456:789a::6440:2/128'] }],
    ...over,
  };
}

/** problems returns the "key: problem" lines of the refusal of j, or fails if j is taken. */
function problems(j: Json): string[] {
  try {
    validateProfile(j, 'p');
  } catch (e) {
    assert.ok(e instanceof ProfileError);
    return e.issues.map((i) => `${i.key}: ${i.problem}`);
  }
  assert.fail('the profile was taken');
}

test('an old profile without IPv6 keys is read as before: no IPv6 address, IPv4 allowed IPs only', () => {
  const p = validateProfile(profile({}, [{ PublicKey: BETA, AllowedIPs: ['100.64.0.2/32'] }]), 'p');
  assert.equal(p.virtualAddress6, null);
  assert.equal(p.virtualNetwork6, null);
  assert.deepEqual(p.peers[0]!.allowedIps6, []);
  const json = toProfileJson(p);
  assert.ok(!('VirtualAddress6' in json) && !('VirtualNetwork6' in json));
});

test('VirtualAddress6 takes a unique local address, its /48 by default, and is written back canonical', () => {
  const p = validateProfile(profile({ VirtualAddress6: 'FD12:3456:789A:0:0:0:6440:1' }), 'p');
  assert.equal(p.virtualAddress6, 'fd12:3456:789a::6440:1');
  assert.equal(formatIpPrefix(p.virtualNetwork6!), 'fd12:3456:789a::/48');
  assert.deepEqual(p.peers[0]!.allowedIps6.map(formatIpPrefix), ['fd12:3456:789a::6440:2/128']);
  assert.equal(p.peers[0]!.allowedIps.length, 1, 'the IPv4 entries stay apart');
  const json = toProfileJson(p);
  assert.equal(json.VirtualAddress6, 'fd12:3456:789a::6440:1');
  assert.equal(json.VirtualNetwork6, 'fd12:3456:789a::/48');
  assert.deepEqual(json.Peers![0]!.AllowedIPs, ['100.64.0.2/32', 'fd12:3456:789a::6440:2/128']);
  const again = validateProfile(json, 'p');
  assert.equal(again.virtualAddress6, p.virtualAddress6, 'what is written reads back the same');
});

test('VirtualNetwork6 may be given, and must be for an address that is not unique local', () => {
  const p = validateProfile(profile({ VirtualAddress6: '2001:db8:5::1', VirtualNetwork6: '2001:db8:5::/64' }), 'p');
  assert.equal(formatIpPrefix(p.virtualNetwork6!), '2001:db8:5::/64');
  assert.deepEqual(problems(profile({ VirtualAddress6: '2001:db8:5::1' })), [
    'VirtualNetwork6: is required when VirtualAddress6 (2001:db8:5::1) is not a unique local address',
  ]);
});

test('bad IPv6 values are refused with the key and what is wrong', () => {
  const cases: Array<[Json, string]> = [
    [{ VirtualAddress6: '100.64.0.1' }, 'VirtualAddress6: "100.64.0.1" is not an IPv6 address'],
    [{ VirtualAddress6: 'fd00::1::2' }, 'VirtualAddress6: "fd00::1::2" is not an IPv6 address'],
    [{ VirtualAddress6: 7 }, 'VirtualAddress6: must be an IPv6 address in a string, not a number'],
    [{ VirtualAddress6: 'fe80::1' }, 'VirtualAddress6: "fe80::1" is link-local (fe80::/10)'],
    [{ VirtualAddress6: 'ff02::1' }, 'VirtualAddress6: "ff02::1" is a multicast address (ff00::/8)'],
    [{ VirtualAddress6: '::1' }, 'VirtualAddress6: "::1" is the unspecified or loopback address'],
    [{ VirtualAddress6: '::ffff:100.64.0.1' }, 'VirtualAddress6: "::ffff:100.64.0.1" is IPv4-mapped'],
    [
      { VirtualAddress6: 'fd12:3456:789a::1', VirtualNetwork6: 'fd99::/48' },
      'VirtualAddress6: fd12:3456:789a::1 is outside VirtualNetwork6 fd99::/48',
    ],
    [
      { VirtualAddress6: 'fd12:3456:789a::', VirtualNetwork6: 'fd12:3456:789a::/48' },
      'VirtualAddress6: fd12:3456:789a:: is the Subnet-Router anycast address',
    ],
    [
      { VirtualAddress6: 'fd12::1', VirtualNetwork6: 'fd12::1/48' },
      'VirtualNetwork6: "fd12::1/48" has host bits set (did you mean "fd12::/48"?)',
    ],
    [
      { VirtualAddress6: 'fd12::1', VirtualNetwork6: '10.0.0.0/8' },
      'VirtualNetwork6: "10.0.0.0/8" is not an IPv6 prefix',
    ],
    [
      { VirtualAddress6: 'fd12::1', VirtualNetwork6: 'fd00::/8' },
      'VirtualNetwork6: fd00::/8: the prefix length must be from 16 to 120',
    ],
    [{ VirtualNetwork6: 'fd12::/48' }, 'VirtualNetwork6: needs VirtualAddress6'],
    [
      { VirtualAddress6: 'fd12::1', Adapter: { Mtu: 1200 } },
      'Adapter.Mtu: 1200 is below 1280, the minimum for IPv6 (RFC 8200 §5); raise Adapter.Mtu to 1280 or more, or remove VirtualAddress6',
    ],
  ];
  for (const [over, want] of cases) {
    const got = problems(profile(over));
    assert.equal(got.length, 1, `${JSON.stringify(over)}: ${got.join('; ')}`);
    assert.ok(got[0]!.startsWith(want), `${JSON.stringify(over)}: got ${got[0]}, want ${want}`);
  }
});

test('VirtualAddress6 needs an adapter MTU of at least 1280 (RFC 8200 §5); IPv6 AllowedIPs alone do not', () => {
  assert.deepEqual(problems(profile({ VirtualAddress6: 'fd12::1', Adapter: { Mtu: 1279 } })), [
    'Adapter.Mtu: 1279 is below 1280, the minimum for IPv6 (RFC 8200 §5); raise Adapter.Mtu to 1280 or more, or remove VirtualAddress6',
  ]);
  assert.equal(
    validateProfile(profile({ VirtualAddress6: 'fd12::1', Adapter: { Mtu: 1280 } }), 'p').virtualAddress6,
    'fd12::1',
  );
  // Without VirtualAddress6 the adapter carries no IPv6, so a small MTU breaks nothing.
  const v4only = validateProfile(profile({ Adapter: { Mtu: 1200 } }), 'p');
  assert.equal(v4only.virtualAddress6, null);
  assert.equal(formatIpPrefix(v4only.peers[0]!.allowedIps6[0]!), 'fd12:3456:789a::6440:2/128');
});

test('IPv6 AllowedIPs are checked like IPv4 ones: canonical, not twice, one peer per prefix', () => {
  const peers = (a: string[], b: string[] = ['100.64.0.3/32']): Json[] => [
    { PublicKey: BETA, AllowedIPs: a },
    { PublicKey: GAMMA, AllowedIPs: b },
  ];
  const cases: Array<[Json[], string]> = [
    [peers(['fd00::1/64']), 'Peers[0].AllowedIPs[0]: "fd00::1/64" has host bits set (did you mean "fd00::/64"?)'],
    [peers(['fd00::/129']), 'Peers[0].AllowedIPs[0]: "fd00::/129" is not an IPv6 prefix'],
    [peers(['fe80::/64']), 'Peers[0].AllowedIPs[0]: "fe80::/64" is link-local or multicast'],
    [peers(['fd00::2/128', 'FD00::2/128']), 'Peers[0].AllowedIPs[1]: fd00::2/128 is listed twice (also at [0])'],
    [peers(['fd00::2/128'], ['fd00::2/128']), 'Peers[1].AllowedIPs: fd00::2/128 is already routed to Peers[0]'],
  ];
  for (const [ps, want] of cases) {
    const got = problems(profile({}, ps));
    assert.equal(got.length, 1, got.join('; '));
    assert.ok(got[0]!.startsWith(want), `got ${got[0]}, want ${want}`);
  }
});

test('exit-node routes take IPv6 prefixes beside IPv4 ones; one overlapping the IPv6 overlay or link-local is refused', () => {
  const beta = identityFromPublicKey(parseKey(BETA));
  const v6 = { VirtualAddress6: 'fd12:3456:789a::6440:1' };
  const p = validateProfile(
    profile({
      ...v6,
      ExitNode: {
        ProvidesRoutes: ['192.168.7.0/24', 'fd00:7::/64'],
        AvailableRoutes: { [beta]: ['0.0.0.0/0', '::/0', '2001:db8::/32'] },
      },
    }),
    'p',
  );
  assert.deepEqual(p.exitNode.providesRoutes.map(formatIpPrefix), ['192.168.7.0/24', 'fd00:7::/64']);
  assert.deepEqual(p.exitNode.availableRoutes[0]!.routes.map(formatIpPrefix), ['0.0.0.0/0', '::/0', '2001:db8::/32']);
  const got = problems(
    profile({ ...v6, ExitNode: { ProvidesRoutes: ['fd12:3456:789a:5::/64', 'fe80::/64', 'fd00:7::1/64'] } }),
  );
  assert.deepEqual(got, [
    'ExitNode.ProvidesRoutes[0]: fd12:3456:789a:5::/64 overlaps the virtual network fd12:3456:789a::/48',
    'ExitNode.ProvidesRoutes[1]: "fe80::/64" is link-local or multicast, which cannot be routed to a peer',
    'ExitNode.ProvidesRoutes[2]: "fd00:7::1/64" has host bits set (did you mean "fd00:7::/64"?)',
  ]);
  const twoFull = problems(
    profile(
      {
        ...v6,
        ExitNode: { AvailableRoutes: { [beta]: ['::/0'], [identityFromPublicKey(parseKey(GAMMA))]: ['::/0'] } },
      },
      [
        { PublicKey: BETA, AllowedIPs: ['100.64.0.2/32'] },
        { PublicKey: GAMMA, AllowedIPs: ['100.64.0.3/32'] },
      ],
    ),
  );
  assert.ok(
    twoFull.some((l) => /^ExitNode\.AvailableRoutes: ::\/0 is listed for \w+ and \w+; only one exit node/.test(l)),
    twoFull.join('\n'),
  );
});
