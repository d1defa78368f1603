// `warren login` end to end: a real OpenID Connect provider (oidc-provider, test users alice in
// group eng and bob in none) and the coordinator (serve --oidc) in one namespace, two systems
// that sign in from their own namespaces (the person's steps in Chromium running there), and a
// server enrolled with a key. The policy file gives group eng the tag dev (AutoTags) and lets
// group:eng ping the servers: alice's system reaches the server, bob's does not. A policy
// naming user:bob@example.com instead turns that around, with real traffic each time.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Topology, describeE2E, ping, waitForPing, waitUntil } from './netns/index.js';
import { enrolAndStart, type Coordinator, type Enrolled } from './netns/coordinated.js';
import { warrenCli } from './netns/warren.js';
import { readProfile } from '../helper/src/config/load.js';
import { loginAndStart, startOidcLab, type OidcLab } from './oidc/login-lab.js';

const COORD_IP = '10.64.0.100';

const policy = (senders: string[]): object => ({
  Tags: ['dev', 'server'],
  AutoTags: { 'group:eng': ['tag:dev'] },
  Policies: [{ Name: 'people to servers', Senders: senders, Receivers: ['tag:server'], Acls: [{ Protocol: 'icmp' }] }],
});

describeE2E(
  'warren login with a real OIDC provider',
  { warren: true, binaries: ['curl', 'ping', 'chromium'] },
  { timeout: 180_000 },
  () => {
    let topo: Topology;
    let lab: OidcLab;
    let c: Coordinator;
    const sys: Record<string, Enrolled> = {};

    before(async () => {
      topo = Topology.create();
      const sw = await topo.addSwitch('sw');
      lab = await startOidcLab(topo, sw, 'oidcc', COORD_IP);
      c = lab.c;
      await c.applyPolicy(policy(['group:eng']));
      const serverNs = await topo.addNamespace('oidcs');
      await topo.attach(serverNs, sw, '10.64.0.10/24');
      sys.server = await enrolAndStart(c, serverNs, 'server', 'server');
      for (const [name, ip] of [
        ['alice', '10.64.0.1'],
        ['bob', '10.64.0.2'],
      ] as const) {
        const ns = await topo.addNamespace(`oidc${name[0]}`);
        await topo.attach(ns, sw, `${ip}/24`);
        sys[name] = await loginAndStart(lab, topo, ns, name);
      }
    });
    after(async () => {
      await lab?.close();
      await topo?.destroy();
    });

    test('each system is enrolled as its user’s, with the tags AutoTags give the user’s groups', async () => {
      assert.match(sys.alice!.enrolOutput, /tags dev/);
      assert.doesNotMatch(sys.bob!.enrolOutput, /tags /);
      const users = JSON.parse(await c.cli(['users', 'list', '--json'])) as {
        email: string;
        groups: string[];
        systems: string[];
      }[];
      assert.deepEqual(
        users.map((u) => [u.email, u.groups, u.systems.length]),
        [
          ['alice@example.com', ['eng', 'staff'], 1],
          ['bob@example.com', [], 1],
        ],
      );
      const systems = await c.cli(['systems', 'list']);
      assert.match(systems, /alice-laptop.*alice@example\.com/);
      assert.match(systems, /bob-laptop.*bob@example\.com/);
    });

    test('group:eng lets alice’s system reach the server, and not bob’s', async () => {
      await waitForPing(sys.alice!.w.ns, sys.server!.vip, 20_000);
      const r = await ping(sys.bob!.w.ns, sys.server!.vip, { count: 3 });
      assert.equal(r.received, 0, 'bob is in no group the policy names');
      // `warren why` on the server names the user and group that let alice in.
      const why = await warrenCli(sys.server!.w.ns, ['why', sys.alice!.vip, '--socket', sys.server!.w.socket]);
      assert.equal(why.code, 0, why.stderr);
      assert.match(
        why.stdout,
        /allowed by policy "people to servers" \([A-Z0-9]{5} as group:eng \(alice@example\.com\)\): icmp/,
      );
    });

    test('a policy naming user:bob@example.com lets bob’s system through and no longer alice’s', async () => {
      await c.applyPolicy(policy(['user:bob@example.com']));
      await waitForPing(sys.bob!.w.ns, sys.server!.vip, 20_000);
      await waitUntil(
        'alice loses the server',
        async () => ((await ping(sys.alice!.w.ns, sys.server!.vip, { count: 1 })).received === 0 ? true : undefined),
        10_000,
        200,
      );
    });

    test('warren logout revokes bob’s system: the server stops accepting it, and the profile leaves the network', async () => {
      const r = await warrenCli(sys.bob!.w.ns, [
        ...['logout', '--profile', topo.file('bob.profile'), '--state-dir', topo.file('warren-bob-state')],
      ]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /Signed out/);
      await waitUntil(
        'the server drops bob',
        async () => ((await ping(sys.bob!.w.ns, sys.server!.vip, { count: 1 })).received === 0 ? true : undefined),
        10_000,
        200,
      );
      assert.match(await c.cli(['systems', 'list']), /bob-laptop.*revoked/);
      assert.equal(readProfile(topo.file('bob.profile')).profile.coordinator, null);
      const audit = JSON.parse(await c.cli(['audit', '--action', 'logout', '--json'])) as {
        actor: string;
        outcome: string;
      }[];
      assert.deepEqual(
        audit.map((e) => [e.actor, e.outcome]),
        [['bob@example.com', 'ok']],
      );
    });
  },
);
