// runDaemon and signals, on in-memory fakes of the OS (testing.ts): SIGTERM and SIGINT undo
// every step, a stop requested during setup still tears down once setup is done, SIGHUP reloads
// the profile, and an internal error tears down before the process exits with 70.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { ApiClient } from '../../../src-shared/lib/helper-client/client.js';
import { runDaemon } from './index.js';
import { statePath } from './state-file.js';
import { GAMMA, Sandbox, eventually, fakeEnv, staticProfile, type FakeEnv } from './testing.js';

const EXITS = { ExitNode: { ProvidesRoutes: ['10.9.0.0/24'] } };

// assertAllUndone checks that nothing any step set up is left.
function assertAllUndone(box: Sandbox, env: FakeEnv): void {
  assert.equal(env.tun.last.closed, true, 'the adapter is closed');
  assert.equal(env.tun.links.size, 0);
  assert.equal(env.binds[0]!.closed, true, 'the UDP socket is closed');
  assert.equal(env.exitNode.active.size, 0, 'the exit node is undone');
  assert.equal(env.splitDns.active.size, 0, 'split DNS is undone');
  assert.equal(existsSync(statePath(box.stateDir)), false, 'the state record is removed');
  assert.equal(existsSync(box.socketPath), false, 'the API socket is removed');
}

// whenUp waits until the helper answers on its socket and says it has finished starting.
async function whenUp(box: Sandbox): Promise<ApiClient> {
  const client = new ApiClient(box.socketPath, { timeoutMs: 1000 });
  await eventually(async () => assert.equal((await client.status()).starting, false));
  return client;
}

for (const sig of ['SIGTERM', 'SIGINT']) {
  test(`${sig} undoes every step and runDaemon resolves`, async (t) => {
    const box = new Sandbox();
    t.after(() => box.remove());
    const env = fakeEnv();
    const done = runDaemon(box.options(staticProfile(EXITS)), env);
    await whenUp(box);
    env.signals.emit(sig);
    await done;
    assertAllUndone(box, env);
    assert.ok(box.logged(`${sig} received, stopping`));
    assert.ok(box.logged('Warren helper stopped; adapter and routes removed'));
    assert.equal(
      env.signals.listenerCount('SIGTERM') + env.signals.listenerCount('SIGINT'),
      0,
      'the stop handlers are gone',
    );
  });
}

test('a stop requested during setup lets setup finish, then undoes every step', async (t) => {
  const box = new Sandbox();
  t.after(() => box.remove());
  const env = fakeEnv();
  const done = runDaemon(box.options(staticProfile(EXITS)), env);
  env.signals.emit('SIGTERM');
  await done;
  assert.ok(env.calls.includes('split dns on wtest0 warren.internal'), 'setup ran to its last step');
  assertAllUndone(box, env);
});

test('an internal error undoes every step, then exits with 70', async (t) => {
  const box = new Sandbox();
  t.after(() => box.remove());
  const env = fakeEnv();
  void runDaemon(box.options(staticProfile(EXITS)), env);
  await whenUp(box);
  env.signals.emit('uncaughtException', new Error('a bug'));
  await eventually(() => assert.deepEqual(env.exits, [70]));
  assertAllUndone(box, env);
  assert.ok(box.logged('internal error, stopping: Error: a bug'));
});

test('SIGHUP reloads the profile: a new peer is added to the running device', async (t) => {
  const box = new Sandbox();
  t.after(() => box.remove());
  const env = fakeEnv();
  const json = staticProfile();
  const done = runDaemon(box.options(json), env);
  const client = await whenUp(box);
  assert.equal((await client.status()).peers.length, 1);
  const peers = [...(json.Peers as unknown[]), { Name: 'gamma', PublicKey: GAMMA.pub, AllowedIPs: ['100.64.0.3/32'] }];
  box.writeProfile({ ...json, Peers: peers });
  env.signals.emit('SIGHUP');
  await eventually(async () =>
    assert.deepEqual((await client.status()).peers.map((p) => p.name).sort(), ['beta', 'gamma']),
  );
  assert.ok(box.logged('profile reloaded: peers, policies, tags, DNS names and exit routes applied'));
  env.signals.emit('SIGTERM');
  await done;
});
