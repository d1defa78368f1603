// Exit nodes with the coordinator: route grants. The policy file makes every `exit` system an exit
// node for a LAN and grants its routes to `dev` only, with no policy from `dev` to the exit node:
// the grant alone lets the dev client reach the printer on that LAN through the exit node (which
// opted in with --serve-exit-node), while the exit node's own address stays closed to it. A
// `server` system, which policy lets reach the exit node itself, is offered no route and cannot
// send into the LAN; an exit node without the opt-in serves nothing and says so in status;
// withdrawing the grant with a new policy file removes the route from the client at once.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  Topology,
  describeE2E,
  ping,
  startWarren,
  waitForPing,
  waitUntil,
  warrenCli,
  type Namespace,
  type TrackedProcess,
  type Warren,
} from './netns/index.js';
import { repoRoot } from './netns/warren.js';
import { readProfile } from '../helper/src/config/load.js';

const COORD_IP = '192.0.2.100';
const COORD_URL = `http://${COORD_IP}:8080`;
const LAN = '198.51.100.0/24';
const EXIT_LAN_IP = '198.51.100.1';
const PRINTER = '198.51.100.10';

const policy = (grant: boolean) => ({
  Tags: ['dev', 'server', 'exit'],
  Policies: [
    {
      Name: 'servers reach the exit node',
      Senders: ['tag:server'],
      Receivers: ['tag:exit'],
      Acls: [{ Protocol: 'icmp' }],
    },
  ],
  Routes: grant ? [{ ExitNode: 'tag:exit', Subnets: [LAN], Senders: ['tag:dev'] }] : [],
});

interface Member {
  name: string;
  ip: string;
  tag: string;
  ns?: Namespace;
  w?: Warren;
  vip?: string;
  /** json is the helper's profile as started. */
  json?: Record<string, unknown>;
}

describeE2E(
  'coordinator route grants through an exit node',
  { warren: true, binaries: ['ping', 'nft', 'curl'] },
  { timeout: 240_000 },
  () => {
    let topo: Topology;
    let coordNs: Namespace;
    let coord: TrackedProcess;
    let dataDir: string;
    let printer: Namespace;
    const exit: Member = { name: 'exit', ip: '192.0.2.10', tag: 'exit' };
    const dev: Member = { name: 'dev', ip: '192.0.2.1', tag: 'dev' };
    const server: Member = { name: 'server', ip: '192.0.2.2', tag: 'server' };

    const coordinatorCli = (args: string[]) =>
      coordNs.exec([process.execPath, join(repoRoot(), 'bin', 'warren-coordinator'), ...args, '--data', dataDir], {
        allowFailure: true,
        timeoutMs: 20_000,
      });

    async function applyPolicy(grant: boolean): Promise<void> {
      const r = await coordinatorCli([
        'policy',
        'apply',
        topo.writeFile(`policy-${grant}.json`, JSON.stringify(policy(grant))),
      ]);
      assert.equal(r.code, 0, `${r.stdout}${r.stderr}`);
    }

    before(async () => {
      topo = Topology.create();
      const sw = await topo.addSwitch('sw');
      coordNs = await topo.addNamespace('co');
      await topo.attach(coordNs, sw, `${COORD_IP}/24`);
      for (const m of [exit, dev, server]) {
        m.ns = await topo.addNamespace(m.name.slice(0, 3));
        await topo.attach(m.ns, sw, `${m.ip}/24`);
      }
      printer = await topo.addNamespace('prn');
      await topo.link(exit.ns!, printer, `${EXIT_LAN_IP}/24`, `${PRINTER}/24`);
      dataDir = topo.file('coordinator-data');
      coord = coordNs.spawn(
        [
          process.execPath,
          join(repoRoot(), 'bin', 'warren-coordinator'),
          'serve',
          '--data',
          dataDir,
          '--listen',
          `${COORD_IP}:8080`,
        ],
        { name: 'coordinator' },
      );
      await waitUntil(
        'the coordinator answers',
        async () =>
          (await coordNs.exec(['curl', '-sf', `${COORD_URL}/v1/info`], { allowFailure: true, timeoutMs: 3000 }))
            .code === 0
            ? true
            : undefined,
        20_000,
        200,
      );
      await applyPolicy(true);
      // The key a person enrolling over plain http:// must be given, from the admin's side.
      const shown = await coordinatorCli(['key', '--json']);
      assert.equal(shown.code, 0, shown.stderr);
      const coordKey = (JSON.parse(shown.stdout) as { publicKey: string }).publicKey;
      for (const m of [exit, dev, server]) {
        const key = await coordinatorCli([
          'keys',
          'create',
          '--tags',
          m.tag,
          '--approval',
          'automatic',
          '--uses',
          '1',
          '--expires',
          '1h',
          '--json',
        ]);
        assert.equal(key.code, 0, key.stderr);
        const profile = topo.file(`${m.name}.profile`);
        const stateDir = topo.file(`warren-${m.name}-state`);
        mkdirSync(stateDir, { recursive: true, mode: 0o700 });
        const r = await warrenCli(
          m.ns!,
          [
            'enrol',
            '--coordinator',
            COORD_URL,
            '--key',
            (JSON.parse(key.stdout) as { key: string }).key,
            '--coordinator-key',
            coordKey,
            '--profile',
            profile,
            '--state-dir',
            stateDir,
            '--hostname',
            m.name,
            '--port',
            '51820',
            ...(m === exit ? ['--serve-exit-node'] : []),
          ],
          { timeoutMs: 30_000 },
        );
        assert.equal(r.code, 0, `${m.name} enrol: ${r.stdout}${r.stderr}`);
        const p = readProfile(profile);
        m.vip = p.profile.virtualAddress;
        m.json = { ...p.json, Adapter: { Name: topo.ifname('w') } };
        m.w = await startWarren(m.ns!, m.json, { name: `warren-${m.name}` });
      }
    });
    after(async () => {
      await coord?.stop(2000);
      await topo?.destroy();
    });

    test('the exit node serves the LAN it was given, and the grant alone lets the client reach the printer but not the exit node', async () => {
      await waitUntil(
        'the exit node provides the LAN',
        async () => ((await exit.w!.status()).providesRoutes?.[0]?.cidr === LAN ? true : undefined),
        10_000,
      );
      await waitForPing(dev.ns!, PRINTER, 15_000);
      assert.equal((await ping(dev.ns!, PRINTER, { count: 5, interval: 0.05 })).received, 5);
      const s = await dev.w!.status();
      const viaExit = s.peers.find((p) => p.exitNodeFor.includes(LAN));
      assert.equal(viaExit?.exitNodeInUse, true);
      // No policy names dev and the exit node: the exit node itself stays closed to the client.
      assert.equal((await ping(dev.ns!, exit.vip!, { count: 3, interval: 0.1 })).received, 0);
      assert.ok(((await dev.w!.status()).drops['no-policy-egress'] ?? 0) >= 3, 'refused at the sender, counted');
      const why = await warrenCli(dev.ns!, ['why', PRINTER, '--socket', dev.w!.socket]);
      assert.equal(why.code, 0, why.stderr);
      assert.match(why.stdout, new RegExp(`reached through exit node \\w{5} \\(exit\\) by route grant ${LAN}`));
      const list = await warrenCli(dev.ns!, ['exit-node', 'list', '--socket', dev.w!.socket]);
      assert.match(list.stdout, /in use; usable by the coordinator's route grant/, list.stdout);
      const none = await warrenCli(dev.ns!, ['why', '203.0.113.9', '--socket', dev.w!.socket]);
      assert.match(none.stdout, /^203\.0\.113\.9: no route: no grant covers it/);
    });

    test('a system policy lets reach the exit node, but without a grant, gets no route into the LAN', async () => {
      await waitForPing(server.ns!, exit.vip!, 15_000);
      assert.equal(
        (await server.w!.status()).peers.some((p) => p.exitNodeFor.length > 0),
        false,
        'no route is offered to it',
      );
      // Routing the LAN into the tunnel by hand gets nowhere: no peer's allowed IPs cover it.
      // (Were the client's map stale, the exit node's firewall would still refuse it:
      // `no-route-grant`, covered in helper/src/firewall/filter.test.ts.)
      const adapter = (await server.w!.status()).adapter;
      await server.ns!.exec(['ip', 'route', 'add', LAN, 'dev', adapter]);
      const before = (await server.w!.status()).drops['tun-no-peer'] ?? 0;
      assert.equal((await ping(server.ns!, PRINTER, { count: 3, interval: 0.1 })).received, 0);
      assert.ok(((await server.w!.status()).drops['tun-no-peer'] ?? 0) >= before + 3, 'dropped at the sender, counted');
    });

    test('an exit node without ExitNode.Serve serves nothing and its status says how to opt in', async () => {
      await exit.w!.stop(5000);
      const { ExitNode: _serve, ...json } = exit.json!;
      exit.w = await startWarren(exit.ns!, json, { name: 'warren-exit' });
      await waitUntil(
        'the exit node reports the unserved LAN',
        async () =>
          (await exit.w!.status()).problems?.some((p) => p.includes(`exit node for ${LAN}; not served`))
            ? true
            : undefined,
        15_000,
      );
      const s = await exit.w!.status();
      assert.deepEqual(s.providesRoutes ?? [], []);
      assert.ok(
        s.problems!.some((p) => p.includes('"Serve": true under ExitNode')),
        s.problems!.join('\n'),
      );
      assert.doesNotMatch((await exit.ns!.exec(['nft', 'list', 'tables'])).stdout, /warren_exit/, 'no NAT table');
      assert.equal((await ping(dev.ns!, PRINTER, { count: 3, interval: 0.1 })).received, 0, 'the LAN is out of reach');
    });

    test('withdrawing the grant removes the route from the client at once', async () => {
      await applyPolicy(false);
      await waitUntil(
        'the client loses the route',
        async () => ((await dev.w!.status()).peers.some((p) => p.exitNodeFor.includes(LAN)) ? undefined : true),
        3000,
        50,
      );
      assert.doesNotMatch((await dev.ns!.exec(['ip', 'route', 'show', LAN])).stdout, /dev/);
      const r = await dev.ns!.exec(['ping', '-c', '1', '-W', '1', PRINTER], { allowFailure: true });
      assert.notEqual(r.code, 0, 'the printer is out of reach again');
    });
  },
);
