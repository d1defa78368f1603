// Two coordinators, active-active, on one PostgreSQL database (docs/coordinator.md "Several
// coordinators"): a throwaway PostgreSQL cluster reached through its unix socket, coordinators
// A and B in namespaces of their own (B with A's signing key, admin token and NAT secret),
// and three real helpers, two enrolled through A and one through B. A policy applied through A
// reaches the helper watching B within a second; A killed with SIGKILL, its helpers move to B
// within seconds and keep their tunnels, and a policy applied through B reaches all three; A
// started again has lost nothing.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { AdminKey, AdminSystem, PolicyInfo } from '../src-shared/wire/admin.js';
import { postgresUnavailable, startPostgres, type PgCluster } from '../coordinator/src/testing/postgres.js';
import { Topology, describeE2E, lastLineTime, ping, waitForPing, waitUntil, type Namespace } from './netns/index.js';
import { enrolWithKey, startCoordinator, type Coordinator, type Enrolled } from './netns/coordinated.js';

const IP = { a: '192.0.2.101', b: '192.0.2.102' };
const ALLOW = {
  Tags: ['dev'],
  Policies: [
    { Name: 'devs reach each other', Senders: ['tag:dev'], Receivers: ['tag:dev'], Acls: [{ Protocol: 'icmp' }] },
  ],
};
const NONE = { Tags: ['dev'], Policies: [] };

const why = postgresUnavailable();
if (why) test('two coordinators on one PostgreSQL', { skip: why }, () => {});
else
  describeE2E(
    'two coordinators on one PostgreSQL',
    { warren: true, binaries: ['ping'] },
    { timeout: 120_000 },
    scenario,
  );

function scenario(): void {
  let pg: PgCluster | null = null;
  let topo: Topology;
  const coNs: Record<'a' | 'b', Namespace | null> = { a: null, b: null };
  const co: Record<'a' | 'b', Coordinator | null> = { a: null, b: null };
  let url: string;
  const ns: Namespace[] = [];
  const sys: Enrolled[] = [];

  const status = async (e: Enrolled) => (await e.w.status()).coordinator;
  const connectedTo = async (e: Enrolled, c: Coordinator): Promise<true | undefined> => {
    const s = await status(e);
    return s?.condition === 'connected' && s.url === c.url ? true : undefined;
  };
  const reaches = async (from: number, to: number): Promise<boolean> =>
    (await ping(ns[from]!, sys[to]!.vip, { count: 2, interval: 0.1 })).received > 0;
  const cutOff = (from: number, to: number, ms: number): Promise<true> =>
    waitUntil(`${from} cut off from ${to}`, async () => ((await reaches(from, to)) ? undefined : true), ms, 200);
  const everyPairPings = async (ms: number): Promise<void> => {
    for (const [i, j] of [
      [0, 1],
      [0, 2],
      [1, 2],
      [2, 0],
    ] as const)
      await waitForPing(ns[i]!, sys[j]!.vip, ms);
  };
  const serve = (side: 'a' | 'b'): Promise<Coordinator> =>
    startCoordinator(
      coNs[side]!,
      IP[side],
      ['--store', url, '--advertise-url', `http://${IP[side]}:8080`],
      topo.file(`coordinator-${side}`),
    );
  const state = async (c: Coordinator) => ({
    systems: (JSON.parse(await c.cli(['systems', 'list', '--json'])) as AdminSystem[])
      .map((s) => [s.systemId, s.identity, s.name, s.virtualAddress, s.state, s.tags.join(',')])
      .sort(),
    keys: (JSON.parse(await c.cli(['keys', 'list', '--json'])) as AdminKey[]).map((k) => [k.id, k.uses, k.usesAllowed]),
    policy: (JSON.parse(await c.cli(['policy', 'show', '--json'])) as PolicyInfo).text,
  });

  before(async () => {
    pg = startPostgres();
    pg.createDatabase('warren');
    url = pg.socketUrl('warren');
    topo = Topology.create();
    const sw = await topo.addSwitch('sw');
    for (const side of ['a', 'b'] as const) {
      coNs[side] = await topo.addNamespace(`multi-co${side}`);
      await topo.attach(coNs[side]!, sw, `${IP[side]}/24`);
    }
    for (const [i, short] of ['h1', 'h2', 'h3'].entries()) {
      ns.push(await topo.addNamespace(`multi-${short}`));
      await topo.attach(ns[i]!, sw, `192.0.2.${i + 1}/24`);
    }
    co.a = await serve('a');
    // B shares A's secrets: the files, copied, as docs/coordinator.md says.
    const dirB = topo.file('coordinator-b');
    mkdirSync(dirB, { recursive: true, mode: 0o700 });
    for (const f of ['signing.key', 'admin.token', 'nat.key']) copyFileSync(join(co.a.dataDir, f), join(dirB, f));
    co.b = await serve('b');
  });
  after(async () => {
    for (const c of [co.a, co.b]) await c?.stop();
    await topo?.destroy();
    pg?.stop();
  });

  test("three helpers split between two coordinators reach each other; a policy through A reaches B's helper within a second", async (t) => {
    await co.a!.applyPolicy(ALLOW);
    const key = (
      JSON.parse(await co.a!.cli(['keys', 'create', '--tags', 'dev', '--uses', '3', '--json'])) as { key: string }
    ).key;
    sys.push(await enrolWithKey(co.a!, ns[0]!, 'one', key));
    sys.push(await enrolWithKey(co.a!, ns[1]!, 'two', key));
    sys.push(await enrolWithKey(co.b!, ns[2]!, 'three', key));
    for (const [i, c] of [co.a!, co.a!, co.b!].entries())
      await waitUntil(`helper ${i + 1} connected to ${c.url}`, () => connectedTo(sys[i]!, c), 20_000, 200);
    await everyPairPings(20_000);

    const was = (await status(sys[2]!))!.mapVersion;
    await co.a!.applyPolicy(NONE);
    await waitUntil(
      'the helper watching B took a new map',
      async () => ((await status(sys[2]!))!.mapVersion > was ? true : undefined),
      5000,
      20,
    );
    // From A's log line of the commit to the helper's of the map applied (one clock, both ms).
    const committed = lastLineTime(co.a!.output(), /policy applied: 0 policies/);
    const took =
      lastLineTime(sys[2]!.w.proc.output(), /network map version \d+ applied \((pushed|delta)\): 0 peer/) - committed;
    t.diagnostic(`B's helper applied the policy ${took} ms after A committed it`);
    assert.ok(took >= 0 && took < 1000, `B's helper had the policy applied through A within a second (${took} ms)`);
    await cutOff(2, 0, 5000);
    await co.a!.applyPolicy(ALLOW);
    await everyPairPings(10_000);
  });

  test('A killed: its helpers move to B within seconds and keep their tunnels; a policy through B reaches all three', async (t) => {
    const kept = await state(co.b!);
    await co.a!.kill();
    co.a = null;
    const killed = Date.now();
    for (const i of [0, 1])
      await waitUntil(`helper ${i + 1} moved to B`, () => connectedTo(sys[i]!, co.b!), 10_000, 100);
    const moved = Date.now() - killed;
    t.diagnostic(`A's helpers were connected to B ${moved} ms after the SIGKILL`);
    assert.ok(moved < 5000, `both moved within 5 s (${moved} ms)`);
    await everyPairPings(5000);

    await co.b!.applyPolicy(NONE);
    for (const [i, j] of [
      [0, 1],
      [1, 2],
      [2, 0],
    ] as const)
      await cutOff(i, j, 5000);
    await co.b!.applyPolicy(ALLOW);
    await everyPairPings(10_000);

    co.a = await serve('a');
    const afterRestart = await state(co.a);
    assert.deepEqual(afterRestart.systems, kept.systems, 'A restarted has every system');
    assert.deepEqual(afterRestart.keys, kept.keys, "and the key's uses");
    assert.deepEqual(afterRestart, await state(co.b!), 'A and B agree on everything');
  });
}
