// A coordinated helper on the in-memory OS fakes (testing.ts) against a real coordinator in this
// process: a map that makes this system an exit node turns on forwarding and NAT only when the
// profile opts in (ExitNode.Serve); otherwise the routes stay unserved, the helper logs it and
// `warren status` says how to opt in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { enrolledAgent, startTestCoordinator, type TestCoordinator } from '../../../coordinator/src/testing/testing.js';
import { ApiClient } from '../../../src-shared/lib/helper-client/client.js';
import { enrolForTest } from '../control/testing.js';
import { Daemon } from './index.js';
import { Sandbox, eventually, fakeEnv, type FakeEnv } from './testing.js';

const LAN = '198.51.100.0/24';
const POLICY = {
  Tags: ['dev', 'exit'],
  Routes: [{ ExitNode: 'tag:exit', Subnets: [LAN], Senders: ['tag:dev'] }],
};

/** setup is a coordinator whose Routes make `exit` systems exit nodes for LAN, a dev client
 * enrolled there, and this system enrolled as `exit` (with --serve-exit-node when serve). */
async function setup(serve: boolean): Promise<{ c: TestCoordinator; box: Sandbox; json: Record<string, unknown> }> {
  const c = await startTestCoordinator();
  const box = new Sandbox();
  assert.equal((await c.admin('PUT', '/v1/admin/policy', JSON.stringify(POLICY))).status, 200);
  await enrolledAgent(c, ['dev'], 'laptop');
  await enrolForTest(c, {
    hostname: 'gateway',
    profilePath: box.profilePath,
    stateDir: box.stateDir,
    tags: ['exit'],
    serveExitNode: serve,
  });
  const json = JSON.parse(readFileSync(box.profilePath, 'utf8')) as Record<string, unknown>;
  return { c, box, json: { ...json, ListenPort: 0, Adapter: { Name: 'wtest0' } } };
}

async function running(
  box: Sandbox,
  json: Record<string, unknown>,
): Promise<{ d: Daemon; env: FakeEnv; api: ApiClient }> {
  const env = fakeEnv();
  const d = new Daemon(box.options(json), env);
  await d.start();
  return { d, env, api: new ApiClient(box.socketPath) };
}

test('without ExitNode.Serve a map that makes this system an exit node is not served, and status says how to opt in', async (t) => {
  const { c, box, json } = await setup(false);
  t.after(async () => {
    await c.dispose();
    box.remove();
  });
  assert.equal((json.ExitNode as { Serve?: unknown } | undefined)?.Serve, undefined);
  const { d, env, api } = await running(box, json);
  t.after(() => d.stop());

  await eventually(async () => assert.equal((await api.status()).problems?.length, 1), 10_000);
  const st = await api.status();
  assert.match(
    st.problems![0]!,
    new RegExp(`makes this system an exit node for ${LAN.replace(/\./g, '\\.')}; not served`),
  );
  assert.ok(st.problems![0]!.includes(`"Serve": true under ExitNode in ${box.profilePath}`), st.problems![0]);
  assert.deepEqual(st.providesRoutes ?? [], []);
  assert.equal(env.exitNode.active.size, 0, 'no forwarding, no NAT');
  assert.equal(env.calls.filter((x) => x.startsWith('exit node on')).length, 0);
  assert.equal(box.lines.filter((l) => l.includes('not served')).length, 1, 'logged');
});

test('with ExitNode.Serve the same map makes this system serve the subnet, with no problem shown', async (t) => {
  const { c, box, json } = await setup(true);
  t.after(async () => {
    await c.dispose();
    box.remove();
  });
  assert.equal((json.ExitNode as { Serve?: unknown }).Serve, true);
  const { d, env, api } = await running(box, json);
  t.after(() => d.stop());

  await eventually(() => assert.equal(env.exitNode.active.size, 1), 10_000);
  assert.ok(env.calls.includes(`exit node on ${LAN}`));
  const st = await api.status();
  assert.deepEqual(st.problems, []);
  assert.equal(st.providesRoutes?.[0]?.cidr, LAN);
});
