// Live changes to a running helper on in-memory fakes of the OS (testing.ts): reloads of the
// profile file (apply.ts, updates.ts), connect and disconnect (tunnel.ts), switching exit nodes
// and the full tunnel, and the coordinated mode's extra steps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ApiClient } from '../../../src-shared/lib/helper-client/client.js';
import { ApiHttpError } from '../api/server.js';
import { parseIPv4 } from '../../../src-shared/lib/ip/ipv4.js';
import { parseIpPrefix } from '../../../src-shared/lib/ip/addr.js';
import { FULL_TUNNEL_MARK } from '../router/full-tunnel.js';
import { HANDSHAKE_INITIATION_RATE, NoiseCore, REKEY_TIMEOUT } from '../wireguard/noise/index.js';
import { formatKey, publicKeyFromPrivate } from '../../../src-shared/lib/keys.js';
import { Daemon } from './index.js';
import { BETA, GAMMA, SELF, Sandbox, eventually, fakeEnv, staticProfile, type FakeEnv } from './testing.js';

// started runs a daemon for one test and stops it when the test ends.
async function started(
  t: { after: (fn: () => unknown) => void },
  json: Record<string, unknown>,
): Promise<{ d: Daemon; env: FakeEnv; box: Sandbox }> {
  const box = new Sandbox();
  const env = fakeEnv();
  const d = new Daemon(box.options(json), env);
  await d.start();
  t.after(async () => {
    await d.stop();
    box.remove();
  });
  return { d, env, box };
}

test('a reload adds, changes and keeps peers in the running device', async (t) => {
  const json = staticProfile();
  const { d, box } = await started(t, json);
  const device = d.state.device!;
  const betaBefore = device.peersByKey.get(BETA.pub);
  box.writeProfile({
    ...json,
    Peers: [
      { Name: 'beta', PublicKey: BETA.pub, Endpoint: '192.0.2.9:4000', AllowedIPs: ['100.64.0.2/32', '10.1.0.0/16'] },
      { Name: 'gamma', PublicKey: GAMMA.pub, AllowedIPs: ['100.64.0.3/32'] },
    ],
  });
  const message = await d.reload();
  assert.equal(message, 'profile reloaded: peers, policies, tags, DNS names and exit routes applied');
  assert.ok(box.logged('peers: 1 added, 1 changed, 0 removed'));
  const beta = device.peersByKey.get(BETA.pub);
  assert.equal(beta, betaBefore, 'beta is changed in place, its sessions kept');
  assert.ok(beta !== undefined);
  assert.deepEqual(
    beta.endpoint,
    { addr: { family: 4, v4: parseIPv4('192.0.2.9') }, port: 4000 },
    'the configured endpoint moved',
  );
  assert.equal(device.routes.lookup4(parseIPv4('10.1.2.3')!), beta);
  assert.ok(device.peersByKey.has(GAMMA.pub));
  assert.deepEqual(
    d.state.profile.peers.map((p) => p.name),
    ['beta', 'gamma'],
    'the new profile is in force',
  );
});

test('a reload that moves an endpoint to [ipv6]:port moves the running peer, and status shows it in brackets', async (t) => {
  const json = staticProfile();
  const { d, box } = await started(t, json);
  const peers = json.Peers as Array<Record<string, unknown>>;
  box.writeProfile({ ...json, Peers: [{ ...peers[0], Endpoint: '[2001:db8::9]:4000' }] });
  await d.reload();
  const beta = d.state.device!.peersByKey.get(BETA.pub)!;
  assert.deepEqual(beta.endpoint, { addr: { family: 6, w0: 0x20010db8, w1: 0, w2: 0, w3: 9 }, port: 4000 });
  const st = await new ApiClient(box.socketPath).status();
  assert.equal(st.peers[0]!.endpoint, '[2001:db8::9]:4000');
});

test("a reload that changes a peer's preshared key keeps refusing an initiation captured before it", async (t) => {
  const json = staticProfile();
  const { d, env, box } = await started(t, json);
  const device = d.state.device!;
  const beta = device.peersByKey.get(BETA.pub)!;
  // Beta's side of the protocol makes real initiations, delivered from beta's endpoint.
  const selfPub = publicKeyFromPrivate(SELF.priv);
  const betaCore = new NoiseCore({ privateKey: BETA.priv });
  const toSelf = betaCore.addPeer(selfPub);
  const fromBeta = (msg: Buffer): void => env.binds[0]!.enqueue(Buffer.from(msg), parseIPv4('192.0.2.2')!, 51820);
  const captured = toSelf.initiate(0)!;
  fromBeta(captured);
  await eventually(() => assert.notEqual(beta.noise.keypairs().next, null, 'the initiation was answered'));

  const psk = randomBytes(32);
  const peers = json.Peers as Array<Record<string, unknown>>;
  box.writeProfile({ ...json, Peers: [{ ...peers[0], PresharedKey: formatKey(psk) }] });
  await d.reload();
  assert.ok(box.logged('peers: 0 added, 1 changed, 0 removed'));
  assert.equal(beta.noise.keypairs().next, null, 'the session keyed with the old preshared key is erased');
  // Past the initiation flood limit, so only the timestamp can refuse the replay.
  await new Promise((r) => setTimeout(r, HANDSHAKE_INITIATION_RATE + 20));
  fromBeta(captured);
  await eventually(() => assert.equal(device.drops.get('replayed-timestamp'), 1));
  assert.equal(beta.noise.keypairs().next, null, 'the replay was not answered');

  // The peer itself goes on: beta with the new key gets an answer to a fresh initiation.
  betaCore.addPeer(selfPub, { presharedKey: psk });
  fromBeta(toSelf.initiate(REKEY_TIMEOUT)!);
  await eventually(() => assert.notEqual(beta.noise.keypairs().next, null, 'the fresh initiation was answered'));
  assert.equal(device.peersByKey.get(BETA.pub), beta, 'beta was changed in place');
});

test('a reload that brings in Policies makes the firewall default deny', async (t) => {
  const json = staticProfile();
  const { d, box } = await started(t, json);
  const policy = d.state.policy!;
  assert.deepEqual([policy.mode, policy.reachable().map((r) => r.identity)], ['allow-all', [BETA.identity]]);
  box.writeProfile({ ...json, Policies: [] });
  await d.reload();
  assert.deepEqual([policy.mode, policy.reachable()], ['policy', []]);
});

test('a bad profile is refused with 422 and the running one stays in force', async (t) => {
  const { d, box } = await started(t, staticProfile());
  const before = d.state.profile;
  box.writeProfile({ ...staticProfile(), VirtualAddress: '300.1.2.3' });
  await assert.rejects(d.reload(), (e: unknown) => {
    assert.ok(e instanceof ApiHttpError);
    assert.equal(e.status, 422);
    assert.match(e.message, /^reload refused, the running policy stays in force:\n.*VirtualAddress/);
    return true;
  });
  assert.equal(d.state.profile, before);
  assert.equal(d.state.device!.peersByKey.size, 1);
});

test('a reload names what needs a restart and leaves it as it is', async (t) => {
  const { d, box } = await started(t, staticProfile());
  box.writeProfile(staticProfile({ ListenPort: 51999 }));
  assert.match(await d.reload(), /; not applied: key, address, port or adapter changes need a restart/);
  assert.equal(d.state.listenPort, 51820);
});

test('a reload moves the exit node to new routes and withdraws routes through peers', async (t) => {
  const { d, env, box } = await started(
    t,
    staticProfile({
      ExitNode: { ProvidesRoutes: ['10.9.0.0/24'], AvailableRoutes: { [BETA.identity]: ['10.8.0.0/24'] } },
    }),
  );
  env.calls.length = 0;
  box.writeProfile(staticProfile({ ExitNode: { ProvidesRoutes: ['10.9.1.0/24'] } }));
  await d.reload();
  assert.deepEqual(env.calls, [
    'route del 10.8.0.0/24 dev wtest0',
    'exit node off 10.9.0.0/24',
    'exit node on 10.9.1.0/24',
  ]);
  assert.deepEqual(
    d.state.exit!.node!.routes.map((r) => r.cidr),
    ['10.9.1.0/24'],
  );
});

test('a reload before the device runs answers 503', async () => {
  const box = new Sandbox();
  try {
    const d = new Daemon(box.options(staticProfile()), fakeEnv());
    await assert.rejects(d.reload(), { status: 503, message: 'the helper is still starting' });
  } finally {
    box.remove();
  }
});

test('disconnect withdraws exit routes and stops traffic; connect puts them back', async (t) => {
  const { d, env, box } = await started(
    t,
    staticProfile({ ExitNode: { AvailableRoutes: { [BETA.identity]: ['10.8.0.0/24'] } } }),
  );
  const client = new ApiClient(box.socketPath);
  assert.equal(d.state.tunnel.disconnect(), 'disconnected');
  assert.equal((await client.status()).state, 'disconnected');
  assert.equal(env.router.routes.size, 0);
  assert.deepEqual(
    (await client.exitNodes()).map((e) => [e.identity, e.inUse]),
    [[BETA.identity, false]],
  );
  assert.equal(d.state.tunnel.connect(), 'connected');
  assert.deepEqual([...env.router.routes.keys()], ['10.8.0.0/24']);
  assert.equal(env.router.routes.get('10.8.0.0/24')!.src, '100.64.0.1');
});

test('an exit node switched off loses its routes until it is switched on', async (t) => {
  const { d, env } = await started(
    t,
    staticProfile({ ExitNode: { AvailableRoutes: { [BETA.identity]: ['10.8.0.0/24'] } } }),
  );
  const routes = d.state.exit!.routes;
  assert.deepEqual(routes.use(BETA.identity, false), {
    identity: BETA.identity,
    name: 'beta',
    routes: ['10.8.0.0/24'],
    inUse: false,
    conflicts: [],
  });
  assert.equal(env.router.routes.size, 0);
  const table = d.state.device!.routes;
  const route = parseIpPrefix('10.8.0.0/24')!;
  assert.equal(table.exact(route), undefined, 'cryptokey routing forgets the route too');
  assert.equal(routes.use('ZZZZZ', true), null, 'an identity that is no exit node here');
  assert.equal(routes.use(BETA.identity, true)!.inUse, true);
  assert.equal(env.router.routes.size, 1);
  assert.equal(table.exact(route), d.state.device!.peersByKey.get(BETA.pub));
});

test('exit-node use takes the exit node name as the list shows it; an unknown one lists the exit nodes', async (t) => {
  const { env, box } = await started(
    t,
    staticProfile({ ExitNode: { AvailableRoutes: { [BETA.identity]: ['10.8.0.0/24'] } } }),
  );
  const client = new ApiClient(box.socketPath);
  assert.deepEqual(
    (await client.exitNodes()).map((e) => [e.identity, e.name]),
    [[BETA.identity, 'beta']],
  );
  assert.equal((await client.useExitNode('Beta', false)).inUse, false);
  assert.equal(env.router.routes.size, 0);
  assert.equal((await client.useExitNode('beta', true)).inUse, true);
  assert.equal(env.router.routes.size, 1);
  await assert.rejects(client.useExitNode('printer', false), (e: unknown) => {
    assert.match(
      (e as Error).message,
      new RegExp(`no exit node "printer" \\(identity or name\\): the exit nodes here are ${BETA.identity} \\(beta\\)`),
    );
    return true;
  });
  assert.equal(env.router.routes.size, 1, 'a refused switch changes nothing');
});

test('a route overlapping a local network is reported, not applied', async (t) => {
  const box = new Sandbox();
  const env = fakeEnv();
  env.router.local = [{ cidr: { addr: { family: 4, v4: parseIPv4('10.8.0.0')! }, bits: 16 }, dev: 'eth0' }];
  const d = new Daemon(
    box.options(staticProfile({ ExitNode: { AvailableRoutes: { [BETA.identity]: ['10.8.0.0/24'] } } })),
    env,
  );
  await d.start();
  t.after(async () => {
    await d.stop();
    box.remove();
  });
  assert.deepEqual(d.state.exit!.routes.state()[0]!.conflicts, ['10.8.0.0/24 overlaps 10.8.0.0/16 on eth0']);
  assert.equal(env.router.routes.size, 0);
});

test('an exit node for 0.0.0.0/0 turns the full tunnel on, marks the socket, and off on disconnect', async (t) => {
  const { d, env } = await started(
    t,
    staticProfile({ ExitNode: { AvailableRoutes: { [BETA.identity]: ['0.0.0.0/0'] }, KillSwitch: true } }),
  );
  const ft = env.router.fullTunnels[0]!;
  assert.deepEqual([ft.enabled, ft.killSwitchActive, env.binds[0]!.mark], [true, true, FULL_TUNNEL_MARK]);
  assert.equal(d.state.device!.routes.lookup4(parseIPv4('198.51.100.1')!), d.state.device!.peersByKey.get(BETA.pub));
  d.state.tunnel.disconnect();
  assert.deepEqual([ft.enabled, ft.killSwitchActive, env.binds[0]!.mark], [false, false, 0]);
});

test('a coordinated helper adds NAT traversal and the coordinator, and refuses a local reload with 409', async (t) => {
  const coordinated = staticProfile({
    Coordinator: {
      Url: 'http://127.0.0.1:9',
      PublicKey: randomBytes(32).toString('base64'),
      SystemId: 'sys-1',
      MachineKey: randomBytes(32).toString('base64'),
    },
  });
  delete coordinated.Peers;
  const { d, box } = await started(t, coordinated);
  assert.deepEqual(d.running.slice(-2), ['NAT traversal', 'coordinator']);
  assert.ok(d.state.nat !== null && d.state.control !== null);
  assert.equal((await new ApiClient(box.socketPath).status()).mode, 'coordinated');
  await assert.rejects(d.reload(), { status: 409, message: /^this helper is coordinated/ });
});

test("the exit-node list says what lets traffic into an exit node's routes: allow-all, or nothing without a policy to it", async (t) => {
  const routes = { ExitNode: { AvailableRoutes: { [BETA.identity]: ['10.8.0.0/24'] } } };
  const open = await started(t, staticProfile(routes));
  const openList = await new ApiClient(open.box.socketPath).exitNodes();
  assert.deepEqual(
    openList.map((e) => [e.identity, e.inUse, e.allowedBy]),
    [[BETA.identity, true, 'allow-all']],
  );
  const closed = await started(t, staticProfile({ ...routes, Policies: [] }));
  const closedList = await new ApiClient(closed.box.socketPath).exitNodes();
  assert.deepEqual(
    closedList.map((e) => [e.identity, e.inUse, e.allowedBy]),
    [[BETA.identity, true, null]],
    'a static profile with Policies and none to the exit node: its routes are not usable',
  );
});
