// Profiles (helper/src/config/load.ts parseProfileText, validate.ts and its validate-* parts,
// with the policy parser src-shared/lib/policy-parse.ts): read as root from a file any
// administrator may have edited by hand.
import assert from 'node:assert/strict';
import type { HarnessSpec } from '../engine.js';
import { errorOutcome } from '../guard.js';
import { parseProfileText } from '../../../helper/src/config/load.js';
import { toProfileJson } from '../../../helper/src/config/schema.js';
import { MAX_REPORTED_ISSUES, ProfileError } from '../../../src-shared/lib/errors.js';

const OWN_PRIVATE = 'yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=';
const OWN_PUBLIC = 'HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=';
const BETA = 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=';
const GAMMA = 'TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=';

function seeds(): unknown[] {
  const peers = [
    {
      Name: 'beta',
      PublicKey: BETA,
      Endpoint: '192.0.2.2:51820',
      AllowedIPs: ['100.64.0.2/32'],
      PersistentKeepalive: 25,
    },
    { PublicKey: GAMMA, AllowedIPs: ['100.64.0.3/32', '10.9.0.0/16'], Tags: ['tag:server'], DnsNames: ['db'] },
  ];
  const policy = {
    Name: 'developers to servers',
    Senders: ['tag:dev', 'G982V'],
    Receivers: ['tag:server'],
    Acls: [{ Protocol: 'tcp', Ports: '22,443,8000-8100' }, { Protocol: 'icmp' }],
    TrustRequirements: [
      { Type: 'Schedule', Days: ['Mon', 'Fri'], From: '08:00', To: '18:00', TimeZone: 'Europe/London' },
      { Type: 'PublicIp', Ranges: ['203.0.113.0/24'] },
    ],
    Enabled: true,
  };
  return [
    { PrivateKey: OWN_PRIVATE, ListenPort: 51820, VirtualAddress: '100.64.0.1', Peers: peers },
    {
      PrivateKey: OWN_PRIVATE,
      VirtualAddress: '100.64.0.1',
      VirtualNetwork: '100.64.0.0/10',
      ListenAddress: '0.0.0.0',
      Adapter: { Name: 'warren1', Mtu: 1280 },
      Peers: peers,
      Tags: ['dev'],
      Policies: [policy],
      Dns: { Zone: 'corp.internal' },
      ExitNode: { ProvidesRoutes: ['192.168.1.0/24'], AvailableRoutes: {}, KillSwitch: false },
      Egress: { Allow: ['*.example.com', '10.0.0.0/8'], Deny: ['bad.example.com'], ListenPort: 3128 },
      Ingress: [{ ListenPort: 8080 }],
    },
    {
      PrivateKey: OWN_PRIVATE,
      VirtualAddress: '100.64.0.7',
      Coordinator: {
        Url: 'https://c.example:8443/',
        PublicKey: BETA,
        SystemId: 'sys_1',
        MachineKey: OWN_PUBLIC,
        Identity: 'ME123',
      },
    },
  ];
}

export const profile: HarnessSpec = {
  name: 'profile',
  properties: [
    'parseProfileText returns a profile or throws ProfileError, nothing else, with at most 20 issue lines and one more',
    'every issue names a problem (a non-empty line)',
    'a static profile written back with toProfileJson over the original file reads back as the same profile',
  ],
  testIterations: 2500,
  create() {
    return {
      seeds: seeds().map((s) => Buffer.from(JSON.stringify(s, null, 2))),
      maxLen: 64 * 1024,
      json: true,
      run(input) {
        const text = input.toString('utf8');
        let loaded;
        try {
          loaded = parseProfileText(text, 'fuzz.profile');
        } catch (e) {
          if (!(e instanceof ProfileError)) assert.fail(`parseProfileText threw ${errorOutcome(e)}`);
          assert.ok(e.issues.length > 0, 'a ProfileError without issues');
          for (const i of e.issues)
            assert.ok(typeof i.problem === 'string' && i.problem !== '' && !i.problem.includes('\n'));
          assert.ok(e.message.split('\n').length <= MAX_REPORTED_ISSUES + 1);
          // One outcome per key and kind of problem.
          const first = e.issues[0]!;
          return `${first.key?.replace(/\[\d+\]/g, '[]') ?? 'file'}:${errorOutcome(new Error(first.problem))}`;
        }
        const p = loaded.profile;
        const kind = `ok:${p.coordinator ? 'coordinated' : 'static'}:policies-${p.policies === null ? 'none' : Math.min(p.policies.length, 2)}:peers-${Math.min(p.peers.length, 2)}`;
        // toProfileJson writes static profiles (it lists Peers, which a coordinated one must not).
        if (p.coordinator !== null) return kind;
        const again = { ...loaded.json, ...toProfileJson(p) };
        let reread;
        try {
          reread = parseProfileText(JSON.stringify(again, null, 2), 'fuzz.profile');
        } catch (e) {
          assert.fail(`a profile written back is refused: ${errorOutcome(e)}`);
        }
        assert.deepEqual(reread.profile, p, 'a profile written back reads differently');
        return kind;
      },
    };
  },
};
