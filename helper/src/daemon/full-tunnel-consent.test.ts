// A coordinated helper on the in-memory OS fakes (testing.ts) against a real coordinator in this
// process: a map that routes all traffic (0.0.0.0/0) through an exit node is applied only when
// the profile allows a full tunnel; otherwise the helper leaves it out, logs it once and
// `warren status` says how to allow it, while the exit node's other subnets work as before.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { SimAgent } from '../../../coordinator/src/testing/agent-sim.js';
import { enrolledAgent, startTestCoordinator, type TestCoordinator } from '../../../coordinator/src/testing/testing.js';
import { ApiClient } from '../../../src-shared/lib/helper-client/client.js';
import type { Status } from '../../../src-shared/wire/status.js';
import { formatStatus } from '../cli/status-format.js';
import { enrolForTest } from '../control/testing.js';
import { Daemon } from './index.js';
import { Sandbox, eventually, fakeEnv, type FakeEnv } from './testing.js';

const POLICY = {
  Tags: ['dev', 'exit'],
  Policies: [{ Name: 'devs to the exit', Senders: ['tag:dev'], Receivers: ['tag:exit'], Acls: [{ Protocol: 'icmp' }] }],
  Routes: [{ ExitNode: 'tag:exit', Subnets: ['0.0.0.0/0', '198.51.100.0/24'], Senders: ['tag:dev'] }],
};

/** Setup is a coordinator whose policy grants devs a full tunnel through one exit node, and a
 * profile enrolled there as a dev. */
interface Setup {
  c: TestCoordinator;
  exit: SimAgent;
  box: Sandbox;
  json: Record<string, unknown>;
}

async function setup(): Promise<Setup> {
  const c = await startTestCoordinator();
  const box = new Sandbox();
  const applied = await c.admin('PUT', '/v1/admin/policy', JSON.stringify(POLICY));
  assert.equal(applied.status, 200);
  const exit = await enrolledAgent(c, ['exit'], 'exit');
  await enrolForTest(c, {
    hostname: 'laptop',
    profilePath: box.profilePath,
    stateDir: box.stateDir,
    tags: ['dev'],
  });
  const json = JSON.parse(readFileSync(box.profilePath, 'utf8')) as Record<string, unknown>;
  return { c, exit, box, json: { ...json, ListenPort: 0, Adapter: { Name: 'wtest0' } } };
}

/** running starts a daemon on fakes with json as its profile and waits until the exit node's
 * subnet is routed (the first map is in force). */
async function running(s: Setup, json: Record<string, unknown>): Promise<{ d: Daemon; env: FakeEnv; api: ApiClient }> {
  const env = fakeEnv();
  const d = new Daemon(s.box.options(json), env);
  await d.start();
  const api = new ApiClient(s.box.socketPath);
  await eventually(() => assert.ok(env.router.routes.has('198.51.100.0/24'), 'the subnet is routed'), 10_000);
  return { d, env, api };
}

const warnings = (box: Sandbox): string[] => box.lines.filter((l) => l.includes('not applied, because this profile'));

test('without AllowFullTunnel the coordinator full tunnel is left out, logged once and shown by status', async (t) => {
  const s = await setup();
  t.after(async () => {
    await s.c.dispose();
    s.box.remove();
  });
  const { d, env, api } = await running(s, s.json);
  t.after(() => d.stop());

  assert.equal(env.router.fullTunnels.length, 1);
  assert.equal(env.router.fullTunnels[0]!.enabled, false, 'all traffic stays on the machine’s own routes');
  assert.equal(env.calls.includes('full tunnel on wtest0'), false);
  const st: Status = await api.status();
  assert.equal(st.peers.length, 1);
  assert.deepEqual(st.peers[0]!.exitNodeFor, ['198.51.100.0/24']);
  assert.equal(st.problems!.length, 1);
  assert.match(st.problems![0]!, new RegExp(`through exit node ${s.exit.identity}; not applied`));
  assert.ok(st.problems![0]!.includes(`"AllowFullTunnel": true under Coordinator in ${s.box.profilePath}`));
  assert.match(
    formatStatus(st, Date.now()),
    /\nProblem: +the coordinator routes all or most traffic \(0\.0\.0\.0\/0, ::\/0, or a route wider than \/8 for IPv4 or \/16 for IPv6\)/,
  );
  assert.equal(warnings(s.box).length, 1);

  // A later map with the same grant says nothing new in the log; status keeps saying it.
  const before = st.coordinator!.mapVersion;
  const renamed = await s.c.admin('POST', `/v1/admin/systems/${s.exit.systemId}/name`, { name: 'exit-2' });
  assert.equal(renamed.status, 200);
  await eventually(async () => assert.ok((await api.status()).coordinator!.mapVersion > before), 10_000);
  assert.equal(warnings(s.box).length, 1, 'logged once');
  assert.equal((await api.status()).problems!.length, 1);
  assert.equal(env.router.fullTunnels[0]!.enabled, false);
});

test('with AllowFullTunnel the coordinator full tunnel is applied and no problem is shown', async (t) => {
  const s = await setup();
  t.after(async () => {
    await s.c.dispose();
    s.box.remove();
  });
  const coordinator = { ...(s.json.Coordinator as Record<string, unknown>), AllowFullTunnel: true };
  const { d, env, api } = await running(s, { ...s.json, Coordinator: coordinator });
  t.after(() => d.stop());

  await eventually(() => assert.equal(env.router.fullTunnels[0]!.enabled, true), 10_000);
  const st = await api.status();
  assert.deepEqual(st.peers[0]!.exitNodeFor, ['0.0.0.0/0', '198.51.100.0/24']);
  assert.deepEqual(st.problems, []);
  assert.equal(warnings(s.box).length, 0);
});
