// The coordinator: a real coordinator and three real helpers in namespaces on one switch.
// alpha (tag dev) and beta (tag server) enrol with an automatic key, gamma (tag server) with a
// gated key and waits until it is approved. Traffic and DNS follow the applied policy file; a
// new file changes reachability within a second; revoking a system cuts it off; restarting the
// coordinator loses nothing and the helpers reconnect by themselves; a restarted helper keeps
// its address and its tunnels work while the coordinator is down.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { after, before, test } from 'node:test';
import {
  Topology,
  describeE2E,
  ping,
  sleep,
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
import { identityFromPublicKey, isIdentity } from '../src-shared/lib/identity.js';
import { join } from 'node:path';

const COORD_IP = '192.0.2.100';
const COORD_URL = `http://${COORD_IP}:8080`;

interface Member {
  name: string;
  ip: string;
  ns?: Namespace;
  w?: Warren;
  profile: string;
  state: string;
  vip?: string;
  identity?: string;
}

const POLICY_DEV_TO_SERVERS = {
  Tags: ['dev', 'server'],
  Policies: [
    {
      Name: 'devs to servers',
      Senders: ['tag:dev'],
      Receivers: ['tag:server'],
      Acls: [{ Protocol: 'icmp' }, { Protocol: 'tcp', Ports: '22' }],
    },
  ],
  Dns: { Records: [{ Name: 'db', Targets: ['tag:server'] }] },
};
const POLICY_NONE = { Tags: ['dev', 'server'], Policies: [] };

describeE2E('coordinator with three helpers', { warren: true, binaries: ['ping', 'dig'] }, { timeout: 300_000 }, () => {
  let topo: Topology;
  let coordNs: Namespace;
  let coord: TrackedProcess;
  let dataDir: string;
  const members: Member[] = [
    { name: 'alpha', ip: '192.0.2.1', profile: '', state: '' },
    { name: 'beta', ip: '192.0.2.2', profile: '', state: '' },
    { name: 'gamma', ip: '192.0.2.3', profile: '', state: '' },
  ];
  const [alpha, beta, gamma] = members as [Member, Member, Member];

  const coordinatorCli = (args: string[]) =>
    coordNs.exec([process.execPath, join(repoRoot(), 'bin', 'warren-coordinator'), ...args, '--data', dataDir], {
      allowFailure: true,
      timeoutMs: 20_000,
    });

  async function startCoordinator(): Promise<void> {
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
      async () => {
        const r = await coordNs.exec(['curl', '-sf', `${COORD_URL}/v1/info`], { allowFailure: true, timeoutMs: 3000 });
        return r.code === 0 ? true : undefined;
      },
      20_000,
      200,
    );
  }

  async function applyPolicy(file: object): Promise<void> {
    const path = topo.writeFile(`policy-${Date.now()}.json`, JSON.stringify(file, null, 2));
    const r = await coordinatorCli(['policy', 'apply', path]);
    assert.equal(r.code, 0, `policy apply: ${r.stdout}${r.stderr}`);
  }

  async function createKey(tags: string, approval: 'automatic' | 'gated'): Promise<string> {
    const r = await coordinatorCli([
      'keys',
      'create',
      '--tags',
      tags,
      '--approval',
      approval,
      '--uses',
      '5',
      '--expires',
      '1h',
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { key: string }).key;
  }

  // The coordinator key comes from the admin's side (`warren-coordinator key`), as a person
  // enrolling over plain http:// must be given it.
  async function coordinatorKey(): Promise<string> {
    const r = await coordinatorCli(['key', '--json']);
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { publicKey: string }).publicKey;
  }

  async function enrolAndStart(m: Member, key: string): Promise<void> {
    m.profile = topo.file(`${m.name}.profile`);
    const stateDir = topo.file(`warren-${m.name}-state`);
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const r = await warrenCli(
      m.ns!,
      [
        'enrol',
        '--coordinator',
        COORD_URL,
        '--key',
        key,
        '--coordinator-key',
        await coordinatorKey(),
        '--profile',
        m.profile,
        '--state-dir',
        stateDir,
        '--hostname',
        m.name,
        '--port',
        '51820',
      ],
      { timeoutMs: 30_000 },
    );
    assert.equal(r.code, 0, `${m.name} enrol: ${r.stdout}${r.stderr}`);
    const p = readProfile(m.profile);
    m.vip = p.profile.virtualAddress;
    m.identity = p.profile.identity;
    const json = { ...p.json, Adapter: { Name: topo.ifname('w') } };
    m.w = await startWarren(m.ns!, json, { name: `warren-${m.name}` });
  }

  const canPing = async (from: Member, to: Member, count = 2): Promise<boolean> =>
    (await ping(from.ns!, to.vip!, { count, interval: 0.1 })).received > 0;

  before(async () => {
    topo = Topology.create();
    const sw = await topo.addSwitch('sw');
    coordNs = await topo.addNamespace('co');
    await topo.attach(coordNs, sw, `${COORD_IP}/24`);
    for (const m of members) {
      m.ns = await topo.addNamespace(m.name.slice(0, 2));
      await topo.attach(m.ns, sw, `${m.ip}/24`);
    }
    dataDir = topo.file('coordinator-data');
    await startCoordinator();
    await applyPolicy(POLICY_DEV_TO_SERVERS);
  });
  after(async () => {
    await coord?.stop(2000);
    await topo?.destroy();
  });

  test('three systems enrol; the gated one waits until it is approved', async () => {
    const devKey = await createKey('dev', 'automatic');
    const serverKey = await createKey('server', 'automatic');
    const gatedKey = await createKey('server', 'gated');
    for (const [m, k] of [
      [alpha, devKey],
      [beta, serverKey],
      [gamma, gatedKey],
    ] as const)
      await enrolAndStart(m, k);
    const vips = new Set(members.map((m) => m.vip));
    assert.equal(vips.size, 3, 'three distinct addresses');
    for (const v of vips) assert.match(v!, /^100\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\./, 'inside 100.64.0.0/10');
    for (const m of members) {
      // The coordinator issued the identity (docs/coordinator.md "Identities"): not the key's.
      assert.ok(isIdentity(m.identity!), m.identity);
      assert.notEqual(m.identity, identityFromPublicKey(readProfile(m.profile).profile.publicKey), m.name);
      assert.equal((await m.w!.status()).identity, m.identity, `${m.name}'s status shows the issued identity`);
    }
    await waitUntil(
      'gamma waits for approval',
      async () => ((await gamma.w!.status()).coordinator?.state === 'pending' ? true : undefined),
      10_000,
    );
    assert.equal(await canPing(alpha, gamma), false, "a pending system is in nobody's map");
    const r = await coordinatorCli(['systems', 'approve', gamma.identity!]);
    assert.equal(r.code, 0, r.stderr);
    await waitUntil(
      'gamma gets its map',
      async () => ((await gamma.w!.status()).coordinator?.state === 'active' ? true : undefined),
      5000,
    );
  });

  test('traffic and DNS follow the policy: devs reach servers, not the other way', async () => {
    await waitForPing(alpha.ns!, beta.vip!, 15_000);
    await waitForPing(alpha.ns!, gamma.vip!, 15_000);
    assert.equal(await canPing(beta, alpha), false, 'servers cannot start traffic to devs');
    const s = await alpha.w!.status();
    assert.equal(s.mode, 'coordinated');
    assert.equal(s.coordinator?.reachable, true);
    assert.deepEqual(new Set(s.peers.map((p) => p.identity)), new Set([beta.identity, gamma.identity]));
    const dig = await alpha.ns!.exec(
      ['dig', '+short', '+time=2', '+tries=1', `@${alpha.vip}`, 'beta.warren.internal'],
      { allowFailure: true },
    );
    assert.equal(dig.stdout.trim(), beta.vip);
    const db = await alpha.ns!.exec(['dig', '+short', '+time=2', '+tries=1', `@${alpha.vip}`, 'db.warren.internal'], {
      allowFailure: true,
    });
    assert.deepEqual(new Set(db.stdout.trim().split('\n')), new Set([beta.vip, gamma.vip]), 'a record for a tag');
    const byIdentity = await alpha.ns!.exec(
      ['dig', '+short', '+time=2', '+tries=1', `@${alpha.vip}`, `${beta.identity!.toLowerCase()}.id.warren.internal`],
      { allowFailure: true },
    );
    assert.equal(byIdentity.stdout.trim(), beta.vip, 'IDENTITY.id.<zone> names the issued identity');
    // Without +short, so that an empty answer is told apart from no answer at all.
    const hidden = await beta.ns!.exec(['dig', '+time=2', '+tries=1', `@${beta.vip}`, 'alpha.warren.internal'], {
      allowFailure: true,
    });
    assert.match(hidden.stdout, /status: NXDOMAIN/, 'beta may not reach alpha, so its DNS does not answer for it');
  });

  test('a new policy file changes reachability within a second', async () => {
    await waitForPing(alpha.ns!, beta.vip!);
    const t0 = Date.now();
    await applyPolicy(POLICY_NONE);
    await waitUntil('alpha loses beta', async () => (!(await canPing(alpha, beta, 1)) ? true : undefined), 5000, 50);
    const cut = Date.now() - t0;
    assert.ok(cut < 2500, `cut after ${cut} ms (includes the ping timeout)`);
    const t1 = Date.now();
    await applyPolicy(POLICY_DEV_TO_SERVERS);
    await waitForPing(alpha.ns!, beta.vip!, 5000);
    assert.ok(Date.now() - t1 < 3000, `restored after ${Date.now() - t1} ms`);
  });

  test('revoking a system cuts it off at every peer', async () => {
    await waitForPing(alpha.ns!, gamma.vip!);
    const r = await coordinatorCli(['systems', 'revoke', gamma.identity!]);
    assert.equal(r.code, 0, r.stderr);
    await waitUntil(
      'alpha drops gamma',
      async () => ((await alpha.w!.status()).peers.some((p) => p.identity === gamma.identity) ? undefined : true),
      3000,
      50,
    );
    assert.equal(await canPing(alpha, gamma), false);
    await waitUntil(
      'gamma knows',
      async () => ((await gamma.w!.status()).coordinator?.state === 'revoked' ? true : undefined),
      5000,
    );
    assert.equal((await gamma.w!.status()).peers.length, 0);
  });

  test('tunnels keep working while the coordinator is down; it restarts with everything and the helpers reconnect', async () => {
    const before = await coordinatorCli(['systems', 'list', '--json']);
    // Name what is listed, so that two empty lists cannot compare equal below.
    assert.deepEqual(
      JSON.parse(before.stdout)
        .map((s: { identity: string; state: string }) => `${s.identity} ${s.state}`)
        .sort(),
      [`${alpha.identity} active`, `${beta.identity} active`, `${gamma.identity} revoked`].sort(),
      before.stdout,
    );
    await coord.stop(5000);
    await waitUntil(
      'alpha notices',
      async () => ((await alpha.w!.status()).coordinator?.reachable === false ? true : undefined),
      60_000,
      200,
    );
    assert.equal(await canPing(alpha, beta), true, 'the tunnel works on the last map');
    await startCoordinator();
    const afterList = await coordinatorCli(['systems', 'list', '--json']);
    assert.deepEqual(
      JSON.parse(afterList.stdout).map((s: { identity: string; virtualAddress: string; state: string }) => [
        s.identity,
        s.virtualAddress,
        s.state,
      ]),
      JSON.parse(before.stdout).map((s: { identity: string; virtualAddress: string; state: string }) => [
        s.identity,
        s.virtualAddress,
        s.state,
      ]),
    );
    await waitUntil(
      'alpha reconnects',
      async () => ((await alpha.w!.status()).coordinator?.reachable ? true : undefined),
      30_000,
      200,
    );
    await waitForPing(alpha.ns!, beta.vip!);
  });

  test('a restarted helper keeps its address and works from its stored map with the coordinator down', async () => {
    await coord.stop(5000);
    await beta.w!.stop();
    const profile = readProfile(beta.profile).json;
    beta.w = await startWarren(beta.ns!, { ...profile, Adapter: { Name: topo.ifname('w') } }, { name: 'warren-beta' });
    const s = await beta.w.status();
    assert.equal(s.virtualAddress, beta.vip);
    assert.ok((s.coordinator?.mapVersion ?? 0) > 0, 'the stored map is in force');
    assert.deepEqual(s.peers.map((p) => p.identity).sort(), [alpha.identity], 'the peers come from the stored map');
    // alpha still holds its session with the old beta; as in WireGuard, it starts a new
    // handshake after sending for 15 s (KEEPALIVE + REKEY_TIMEOUT) without an answer.
    await waitForPing(alpha.ns!, beta.vip!, 30_000);
    await startCoordinator();
    await sleep(100);
  });
});
