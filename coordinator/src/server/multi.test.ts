// Two `warren-coordinator serve` processes on one PostgreSQL database (docs/coordinator.md
// "Several coordinators"): the second refuses to start without the first one's secrets and
// starts with them; enrolments sent to both at once never share an address, a name or an
// identity and never use a key more often than it allows; a policy applied through one
// reaches a watcher of the other within a second, and each lists both in its maps; an
// ephemeral system watching one is not removed by the other.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CreatedKey } from '../api/admin-types.js';
import type { AdminKey, AdminSystem } from '../../../src-shared/wire/admin.js';
import type { NetworkMap, SignedMap } from '../../../src-shared/wire/control.js';
import { AgentError, SimAgent } from '../testing/agent-sim.js';
import { postgresUnavailable, startPostgres, type PgCluster } from '../testing/postgres.js';
import { adminCall, startCoordinatorProcess, type CoordinatorProcess } from '../testing/testing.js';

const skip = postgresUnavailable() ?? false;
let pg: PgCluster | null = null;
let root = '';
const running: CoordinatorProcess[] = [];
let a: CoordinatorProcess;
let b: CoordinatorProcess;

// A /27 has 30 addresses: with 16 systems, two coordinators that do not know each other's
// newest systems yet draw the same address often, and the database has to say no.
const NETWORK = '10.9.0.0/27';
const USES = 12;
const TRIES = 16;

before(async () => {
  if (skip) return;
  pg = startPostgres();
  const url = pg.createDatabase('warren_multi');
  root = mkdtempSync(join(tmpdir(), 'warren-multi-'));
  const serve = async (dir: string): Promise<CoordinatorProcess> => {
    const p = await startCoordinatorProcess({
      dataDir: join(root, dir),
      listen: '127.0.0.1:0',
      args: ['--store', url, '--network', NETWORK, '--ephemeral-timeout', '3s'],
    });
    running.push(p);
    return p;
  };
  a = await serve('a');
  await assert.rejects(serve('b'), /has no signing\.key, admin\.token, nat\.key but this database is served already/);
  for (const f of ['signing.key', 'admin.token', 'nat.key']) copyFileSync(join(root, 'a', f), join(root, 'b', f));
  b = await serve('b');
});

after(async () => {
  for (const p of running) await p.stop();
  pg?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

test('both coordinators sign with one key and answer admin commands with one token', { skip }, async () => {
  assert.equal(b.publicKey, a.publicKey);
  assert.equal(b.adminToken, a.adminToken);
  const r = await adminCall(b.url, a.adminToken, 'GET', '/v1/admin/keys');
  assert.equal(r.status, 200);
});

test(
  `${TRIES} enrolments sent to both coordinators at once on a key with ${USES} uses: ${USES} succeed, with distinct addresses, names and identities`,
  { skip },
  async () => {
    const k = await adminCall<CreatedKey>(a.url, a.adminToken, 'POST', '/v1/admin/keys', {
      tags: ['dev'],
      approval: 'automatic',
      uses: USES,
      expiresInMs: 3_600_000,
      ephemeral: false,
    });
    assert.equal(k.status, 201);
    const agents = Array.from({ length: TRIES }, (_, i) => new SimAgent(i % 2 === 0 ? a.url : b.url));
    const results = await Promise.allSettled(agents.map((x) => x.enrol(k.body.key, 'host')));
    const refused = results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason);
    for (const e of refused) assert.ok(e instanceof AgentError && e.code === 'key-used-up', String(e));
    assert.equal(results.length - refused.length, USES, "exactly the key's uses succeeded");

    for (const c of [a, b]) {
      const keys = await adminCall<{ keys: AdminKey[] }>(c.url, c.adminToken, 'GET', '/v1/admin/keys');
      assert.equal(keys.body.keys.find((x) => x.id === k.body.id)?.uses, USES);
    }
    // b has caught up with everything a enrolled (and the other way round) within a second.
    await new Promise((r) => setTimeout(r, 1000));
    for (const c of [a, b]) {
      const list = (await adminCall<{ systems: AdminSystem[] }>(c.url, c.adminToken, 'GET', '/v1/admin/systems')).body
        .systems;
      assert.equal(list.length, USES);
      for (const field of ['virtualAddress', 'name', 'identity', 'systemId'] as const)
        assert.equal(new Set(list.map((s) => s[field])).size, USES, `${field}s are distinct`);
    }
  },
);

test(
  'a policy applied through one coordinator reaches a watcher of the other within a second; maps list both',
  { skip },
  async () => {
    const key = await adminCall<CreatedKey>(a.url, a.adminToken, 'POST', '/v1/admin/keys', {
      tags: ['server'],
      approval: 'automatic',
      uses: 1,
      expiresInMs: 3_600_000,
      ephemeral: false,
    });
    const onA = new SimAgent(a.url);
    await onA.enrol(key.body.key, 'watcher');
    const onB = new SimAgent(b.url, { keys: onA.keys });
    Object.assign(onB, {
      systemId: onA.systemId,
      identity: onA.identity,
      coordinatorPublicKey: onA.coordinatorPublicKey,
    });
    const maps: { at: number; map: NetworkMap }[] = [];
    const onEvent = (event: string, data: string): void => {
      if (event === 'map') maps.push({ at: Date.now(), map: onB.verify((JSON.parse(data) as { map: SignedMap }).map) });
    };
    // b knows the system once it caught up with a (a notification, milliseconds later).
    let w: Awaited<ReturnType<SimAgent['watch']>> | null = null;
    for (let i = 0; w === null; i++) {
      try {
        w = await onB.watch(onEvent);
      } catch (e) {
        if (!(e instanceof AgentError && e.code === 'unauthorized') || i > 20) throw e;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    try {
      const until = Date.now() + 10_000;
      while (!maps.some((m) => (m.map.coordinators ?? []).length === 2) && Date.now() < until)
        await new Promise((r) => setTimeout(r, 50));
      const listed = maps.at(-1)!.map.coordinators ?? [];
      assert.deepEqual([...listed].sort(), [a.url, b.url].sort(), 'maps list both coordinators');
      const policy = {
        Tags: ['dev', 'server'],
        Policies: [
          { Name: 'dev to server', Senders: ['tag:dev'], Receivers: ['tag:server'], Acls: [{ Protocol: 'any' }] },
        ],
      };
      const count = maps.length;
      const sent = Date.now();
      const r = await adminCall(a.url, a.adminToken, 'PUT', '/v1/admin/policy', JSON.stringify(policy));
      assert.equal(r.status, 200, JSON.stringify(r.body));
      while (!maps.slice(count).some((m) => m.map.peers.length > 0) && Date.now() - sent < 3000)
        await new Promise((r) => setTimeout(r, 10));
      const got = maps.slice(count).find((m) => m.map.peers.length > 0);
      assert.ok(got, 'the watcher on b got a map with the dev systems as peers');
      assert.ok(got.at - sent < 1000, `within a second (${got.at - sent} ms)`);
      assert.equal(got.map.peers.length, USES);
    } finally {
      w.close();
    }
  },
);

test(
  'an ephemeral system watching one coordinator is kept by the other, and removed by both once gone',
  { skip },
  async () => {
    const key = await adminCall<CreatedKey>(a.url, a.adminToken, 'POST', '/v1/admin/keys', {
      tags: ['dev'],
      approval: 'automatic',
      uses: 1,
      expiresInMs: 3_600_000,
      ephemeral: true,
    });
    const agent = new SimAgent(a.url);
    await agent.enrol(key.body.key, 'fleeting');
    const listed = async (c: CoordinatorProcess): Promise<boolean> =>
      (await adminCall<{ systems: AdminSystem[] }>(c.url, c.adminToken, 'GET', '/v1/admin/systems')).body.systems.some(
        (s) => s.systemId === agent.systemId,
      );
    const w = await agent.watch(() => {});
    try {
      // Twice the 3 s timeout: b never saw it online, and sweeps every second.
      await new Promise((r) => setTimeout(r, 6500));
      assert.equal(await listed(b), true, 'b keeps it: a writes its last_seen');
      assert.equal(await listed(a), true);
    } finally {
      w.close();
    }
    const until = Date.now() + 15_000;
    while (((await listed(a)) || (await listed(b))) && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
    assert.equal(await listed(a), false, 'removed once offline for longer than the timeout');
    assert.equal(await listed(b), false);
  },
);
