// The coordinator on PostgreSQL (`serve --store postgres://...`): a throwaway PostgreSQL
// cluster, a coordinator in a namespace that reaches it through its unix socket, and two real
// helpers that enrol with one key and ping each other under the applied policy. A new policy
// file reaches them; after the coordinator restarts (a new process on the same database) the
// systems, the key's use count, the policy and the map version are all still there, and the
// helpers reconnect by themselves. The SQLite file is never created: the state is in PostgreSQL.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { AdminKey, AdminSystem, PolicyInfo } from '../src-shared/wire/admin.js';
import { postgresUnavailable, startPostgres, type PgCluster } from '../coordinator/src/testing/postgres.js';
import { Topology, describeE2E, ping, waitForPing, waitUntil, type Namespace } from './netns/index.js';
import { enrolWithKey, startCoordinator, type Coordinator, type Enrolled } from './netns/coordinated.js';

const COORD_IP = '192.0.2.100';
const ALLOW = {
  Tags: ['dev'],
  Policies: [
    { Name: 'devs reach each other', Senders: ['tag:dev'], Receivers: ['tag:dev'], Acls: [{ Protocol: 'icmp' }] },
  ],
};
const NONE = { Tags: ['dev'], Policies: [] };

// Where PostgreSQL is missing the scenario is one skipped test that says why.
const why = postgresUnavailable();
if (why) test('coordinator on PostgreSQL', { skip: why }, () => {});
else describeE2E('coordinator on PostgreSQL', { warren: true, binaries: ['ping'] }, { timeout: 240_000 }, scenario);

function scenario(): void {
  let pg: PgCluster | null = null;
  let topo: Topology;
  let coNs: Namespace;
  let coord: Coordinator | null = null;
  let url: string;
  const ns: Namespace[] = [];
  const sys: Enrolled[] = [];

  const connected = async (e: Enrolled): Promise<true | undefined> =>
    (await e.w.status()).coordinator?.condition === 'connected' ? true : undefined;
  const reaches = async (from: number, to: number): Promise<boolean> =>
    (await ping(ns[from]!, sys[to]!.vip, { count: 2, interval: 0.1 })).received > 0;
  const state = async (c: Coordinator) => ({
    systems: (JSON.parse(await c.cli(['systems', 'list', '--json'])) as AdminSystem[])
      .map((s) => [s.systemId, s.identity, s.name, s.virtualAddress, s.state, s.tags.join(',')])
      .sort(),
    keys: (JSON.parse(await c.cli(['keys', 'list', '--json'])) as AdminKey[]).map((k) => [k.id, k.uses, k.usesAllowed]),
    policy: JSON.parse(await c.cli(['policy', 'show', '--json'])) as PolicyInfo,
  });

  before(async () => {
    pg = startPostgres();
    pg.createDatabase('warren');
    url = pg.socketUrl('warren');
    topo = Topology.create();
    const sw = await topo.addSwitch('sw');
    coNs = await topo.addNamespace('pgco');
    await topo.attach(coNs, sw, `${COORD_IP}/24`);
    for (const [i, short] of ['pga', 'pgb'].entries()) {
      ns.push(await topo.addNamespace(short));
      await topo.attach(ns[i]!, sw, `192.0.2.${i + 1}/24`);
    }
    coord = await startCoordinator(coNs, COORD_IP, ['--store', url]);
  });
  after(async () => {
    await coord?.stop();
    await topo?.destroy();
    pg?.stop();
  });

  test('two helpers enrol with one key on a PostgreSQL coordinator and ping each other; a new policy reaches them', async () => {
    await coord!.applyPolicy(ALLOW);
    const key = (
      JSON.parse(await coord!.cli(['keys', 'create', '--tags', 'dev', '--uses', '3', '--json'])) as { key: string }
    ).key;
    sys.push(await enrolWithKey(coord!, ns[0]!, 'alpha', key));
    sys.push(await enrolWithKey(coord!, ns[1]!, 'beta', key));
    for (const e of sys) await waitUntil(`${e.vip} connected`, () => connected(e), 20_000);
    await waitForPing(ns[0]!, sys[1]!.vip, 20_000);
    await waitForPing(ns[1]!, sys[0]!.vip, 20_000);
    assert.equal(
      existsSync(join(topo.file('coordinator-data'), 'coordinator.db')),
      false,
      'no SQLite file: the state is in PostgreSQL',
    );

    await coord!.applyPolicy(NONE);
    await waitUntil(
      'the empty policy cut alpha off beta',
      async () => ((await reaches(0, 1)) ? undefined : true),
      15_000,
      300,
    );
    await coord!.applyPolicy(ALLOW);
    await waitForPing(ns[0]!, sys[1]!.vip, 15_000);
  });

  test('after a coordinator restart on the same database nothing is lost and the helpers reconnect', async () => {
    const before = await state(coord!);
    assert.equal(before.systems.length, 2);
    assert.deepEqual(
      before.keys.map((k) => k.slice(1)),
      [[2, 3]],
      'the key was used twice',
    );
    await coord!.stop();
    coord = null;
    // The helpers notice the coordinator is gone before it comes back.
    await waitUntil(
      'alpha lost the coordinator',
      async () => ((await connected(sys[0]!)) ? undefined : true),
      30_000,
      300,
    );
    coord = await startCoordinator(coNs, COORD_IP, ['--store', url]);

    const afterRestart = await state(coord);
    assert.deepEqual(afterRestart.systems, before.systems);
    assert.deepEqual(afterRestart.keys, before.keys);
    assert.equal(afterRestart.policy.text, before.policy.text);
    assert.equal(afterRestart.policy.appliedAt, before.policy.appliedAt);
    // The restart bumps the version once, so it is newer than any map sent before; a lost
    // counter would start again from 1.
    assert.ok(
      afterRestart.policy.mapVersion > before.policy.mapVersion,
      `${afterRestart.policy.mapVersion} > ${before.policy.mapVersion}`,
    );
    for (const e of sys) await waitUntil(`${e.vip} reconnected`, () => connected(e), 45_000, 300);
    await waitForPing(ns[0]!, sys[1]!.vip, 15_000);
    await waitForPing(ns[1]!, sys[0]!.vip, 15_000);
  });
}
