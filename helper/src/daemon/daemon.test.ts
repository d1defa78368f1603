// The daemon's lifecycle on in-memory fakes of the OS (testing.ts): the steps start in order and
// stop in reverse, a failing step undoes exactly the steps before it and the error names it, and
// the typed state holds what each step produced. The same scenarios on real kernels are in
// e2e/lifecycle.test.ts.
import { formatIp, formatIpPrefix } from '../../../src-shared/lib/ip/addr.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, mkdirSync, statSync } from 'node:fs';
import { ApiClient } from '../../../src-shared/lib/helper-client/client.js';
import { leftoverRecordPath, readLeftoverRecord } from '../../../src-shared/lib/helper-client/leftovers.js';
import { NO_LEFTOVERS } from '../../../src-shared/wire/leftovers.js';
import { writeDnsState } from '../dns/split/state.js';
import { FAKE_LAN, FAKE_LAN_ADDRESS } from '../exitnode/exitnode-fake.js';
import { formatCidr } from '../../../src-shared/lib/ip/ipv4.js';
import { Daemon, StepError } from './index.js';
import { statePath } from './state-file.js';
import { tunConfigOf } from './steps.js';
import { BETA, Sandbox, eventually, fakeEnv, staticProfile } from './testing.js';
import { formatStatus } from '../cli/status-format.js';

const EXITS = { ExitNode: { ProvidesRoutes: ['10.9.0.0/24'], AvailableRoutes: { [BETA.identity]: ['10.8.0.0/24'] } } };

const ALL_STEPS = [
  'local API',
  'leftover record',
  'UDP socket',
  'adapter',
  'state record',
  'firewall',
  'device',
  'exit nodes',
  'DNS',
  'proxies',
];

test('the steps start in order and stop in reverse, across every OS seam', async (t) => {
  const box = new Sandbox();
  t.after(() => box.remove());
  const env = fakeEnv();
  const d = new Daemon(box.options(staticProfile(EXITS)), env);
  await d.start();
  assert.deepEqual(d.running, ALL_STEPS);
  assert.deepEqual(env.calls, [
    'split dns recover',
    'exit node recover',
    'router recover',
    'udp bind [::]:51820',
    'tun open wtest0',
    'exit node on 10.9.0.0/24',
    'route add 10.8.0.0/24 dev wtest0',
    'dns server 100.64.0.1:53',
    'split dns on wtest0 warren.internal',
  ]);
  env.calls.length = 0;
  await d.stop();
  assert.deepEqual(env.calls, [
    'split dns off wtest0',
    'dns server close',
    'route del 10.8.0.0/24 dev wtest0',
    'exit node off 10.9.0.0/24',
    'tun close wtest0',
    'udp close',
  ]);
  assert.deepEqual(d.running, []);
  assert.equal(existsSync(box.socketPath), false, 'the API socket is removed');
  assert.equal(existsSync(statePath(box.stateDir)), false, 'the state record is removed');
  assert.equal(env.tun.last.reading, false, 'the device no longer reads the adapter');
  assert.equal(env.router.routes.size, 0);
  assert.equal(env.exitNode.active.size, 0);
  assert.equal(env.splitDns.active.size, 0);
});

test('a record beside the socket that every user may read follows the state files, and a clean stop records nothing left', async (t) => {
  const box = new Sandbox();
  t.after(() => box.remove());
  const d = new Daemon(box.options(staticProfile()), fakeEnv());
  await d.start();
  const running = readLeftoverRecord(box.socketPath);
  assert.ok(running !== null, 'a record is there while the helper runs');
  assert.equal(statSync(leftoverRecordPath(box.socketPath)).mode & 0o777, 0o644);
  assert.deepEqual(
    [running.pid, running.stateDir, running.leftovers],
    [process.pid, box.stateDir, { ...NO_LEFTOVERS, adapter: 'wtest0' }],
  );
  // A change the daemon announces brings the record up to date with the state files.
  writeDnsState(box.stateDir, {
    kind: 'resolv.conf',
    path: '/etc/resolv.conf',
    address: '100.64.0.1',
    pid: process.pid,
  });
  d.state.changes.notify();
  const changed = readLeftoverRecord(box.socketPath);
  assert.ok(changed !== null);
  assert.deepEqual(changed.leftovers.dns, { kind: 'resolv.conf', path: '/etc/resolv.conf', address: '100.64.0.1' });

  await d.stop();
  const stopped = readLeftoverRecord(box.socketPath);
  assert.ok(stopped !== null, 'the record outlives the helper');
  // The fake split DNS does not remove the state file the test wrote; the real one would.
  assert.deepEqual(stopped.leftovers, { ...NO_LEFTOVERS, dns: changed.leftovers.dns });
  assert.equal(existsSync(statePath(box.stateDir)), false);
});

test('the typed state holds what each step produced, and status reports it', async (t) => {
  const box = new Sandbox();
  t.after(() => box.remove());
  const env = fakeEnv();
  const d = new Daemon(box.options(staticProfile(EXITS)), env);
  await d.start();
  t.after(() => d.stop());
  const s = d.state;
  assert.equal(s.ready, true);
  assert.equal(s.tun, env.tun.last);
  assert.equal(s.adapter, 'wtest0');
  assert.equal(s.listenPort, 51820);
  assert.ok(
    s.bind !== null &&
      s.device !== null &&
      s.policy !== null &&
      s.exit !== null &&
      s.dns !== null &&
      s.proxies !== null,
  );
  assert.equal(s.bind.inner.port, env.binds[0]!.port);
  assert.equal(s.device.tun, s.tun, 'the device runs on the adapter the adapter step opened');
  assert.equal(s.device.bind, s.bind);
  assert.equal(s.device.filter, s.policy.firewall, 'every packet goes through the firewall');
  assert.ok(s.exit.node !== null);
  assert.deepEqual(s.exit.node.routes, [{ cidr: '10.9.0.0/24', via: FAKE_LAN, snatTo: FAKE_LAN_ADDRESS }]);
  assert.deepEqual(s.dns.summary(), {
    zone: 'warren.internal',
    address: '100.64.0.1',
    integration: 'systemd-resolved',
  });
  assert.deepEqual([s.proxies.egressPort, s.proxies.ingressPorts], [null, []]);
  assert.deepEqual([s.nat, s.control], [null, null], 'a static profile has no coordinator');
  const record = JSON.parse(readFileSync(statePath(box.stateDir), 'utf8')) as Record<string, unknown>;
  assert.deepEqual(
    { ...record, startedAt: typeof record.startedAt },
    { pid: process.pid, startedAt: 'number', adapter: 'wtest0', routes: [] },
  );

  const st = await new ApiClient(box.socketPath).status();
  assert.equal(st.state, 'connected');
  assert.equal(st.starting, false);
  assert.equal(st.adapter, 'wtest0');
  assert.deepEqual(st.providesRoutes, [{ cidr: '10.9.0.0/24', via: FAKE_LAN, snatTo: FAKE_LAN_ADDRESS }]);
  assert.equal(st.peers.length, 1);
  assert.equal(st.peers[0]!.identity, BETA.identity);
  assert.equal(st.peers[0]!.endpoint, '192.0.2.2:51820');
  assert.deepEqual(st.peers[0]!.exitNodeFor, ['10.8.0.0/24']);
  assert.equal(st.peers[0]!.exitNodeInUse, true);
  assert.equal(st.peers[0]!.online, false, 'no handshake and no path yet: not online (wire/peer-online.ts)');
});

test("the exit node's unsolicited-drop counter shows in status drops under its reason, JSON and text", async (t) => {
  const box = new Sandbox();
  t.after(() => box.remove());
  const env = fakeEnv();
  env.exitNode.unsolicitedDropped = 5;
  const d = new Daemon(box.options(staticProfile(EXITS)), env);
  await d.start();
  t.after(() => d.stop());
  const client = new ApiClient(box.socketPath);
  // The counter is read when the exit node starts and every 2 s after.
  await eventually(async () => assert.equal((await client.status()).drops['unsolicited-from-subnet'], 5), 10_000);
  const st = await client.status();
  assert.equal(st.unsolicitedFromSubnets, 5);
  assert.match(formatStatus(st, Date.now()), /Dropped packets: .*unsolicited-from-subnet 5/);
});

test('the adapter config is computed from the profile', () => {
  const box = new Sandbox();
  try {
    const o = box.options(staticProfile({ VirtualAddress: '100.64.7.9', Adapter: { Name: 'wtest5', Mtu: 1280 } }));
    const c = tunConfigOf(o.profile);
    assert.deepEqual(
      { ...c, network: formatCidr(c.network) },
      { name: 'wtest5', address: 0x64400709, network: '100.64.0.0/10', mtu: 1280, address6: null, network6: null },
    );
  } finally {
    box.remove();
  }
});

test('the adapter config carries the IPv6 address and network of a dual-stack profile', () => {
  const box = new Sandbox();
  try {
    const o = box.options(staticProfile({ VirtualAddress: '100.64.7.9', VirtualAddress6: 'fd12:3456:789a::6440:709' }));
    const c = tunConfigOf(o.profile);
    assert.equal(c.address6 ? formatIp(c.address6) : null, 'fd12:3456:789a::6440:709');
    assert.equal(c.network6 ? formatIpPrefix(c.network6) : null, 'fd12:3456:789a::/48');
  } finally {
    box.remove();
  }
});

test('a failing adapter undoes exactly the API socket and the UDP socket, and the error names the step', async (t) => {
  const box = new Sandbox();
  t.after(() => box.remove());
  const env = fakeEnv();
  env.tun.failOpen = new Error('cannot create adapter wtest0: permission denied (run the helper as root)');
  const d = new Daemon(box.options(staticProfile()), env);
  await assert.rejects(d.start(), (e: unknown) => {
    assert.ok(e instanceof StepError);
    assert.equal(e.step, 'adapter');
    assert.equal(e.message, 'adapter: cannot create adapter wtest0: permission denied (run the helper as root)');
    return true;
  });
  assert.deepEqual(env.calls.slice(-3), ['udp bind [::]:51820', 'tun open wtest0', 'udp close']);
  assert.equal(env.binds[0]!.closed, true);
  assert.equal(existsSync(box.socketPath), false, 'the API socket is given back');
  assert.equal(existsSync(statePath(box.stateDir)), false, 'no state record was written');
  assert.deepEqual(d.running, []);
  assert.equal(d.state.device, null);
});

test('a failing exit node undoes the device, the firewall, the state record, the adapter and the sockets', async (t) => {
  const box = new Sandbox();
  t.after(() => box.remove());
  const env = fakeEnv();
  env.exitNode.failApply = new Error('exit node route 10.9.0.0/24: this machine has no local path to it');
  const d = new Daemon(box.options(staticProfile(EXITS)), env);
  await assert.rejects(d.start(), {
    name: 'StepError',
    step: 'exit nodes',
    message: /^exit nodes: exit node route 10\.9\.0\.0\/24: this machine/,
  });
  const after = env.calls.slice(env.calls.indexOf('exit node on 10.9.0.0/24') + 1);
  assert.deepEqual(after, ['tun close wtest0', 'udp close'], 'nothing after the failing step ran');
  const device = d.state.device;
  assert.ok(device !== null, 'the device had started');
  assert.equal(device.filter, null, 'the firewall was detached');
  assert.equal(env.tun.last.reading, false, 'the device stopped');
  assert.equal(existsSync(statePath(box.stateDir)), false);
  assert.equal(existsSync(box.socketPath), false);
  assert.deepEqual(d.running, []);
});

test('a nameserver that cannot start leaves the tunnel running without DNS', async (t) => {
  const box = new Sandbox();
  t.after(() => box.remove());
  const env = fakeEnv();
  env.startDnsServer = () => Promise.reject(new Error('bind EADDRNOTAVAIL 100.64.0.1:53'));
  const d = new Daemon(box.options(staticProfile()), env);
  await d.start();
  t.after(() => d.stop());
  assert.deepEqual(
    d.running,
    ALL_STEPS.filter((s) => s !== 'DNS'),
  );
  assert.equal(d.state.dns, null);
  assert.ok(
    box.logged(
      "cannot start the DNS server on 100.64.0.1:53: bind EADDRNOTAVAIL 100.64.0.1:53; peers' names will not resolve",
    ),
  );
  assert.equal(env.splitDns.active.size, 0, 'no resolver points at a nameserver that is not there');
});

test('split DNS that fails degrades to no integration and the nameserver still runs', async (t) => {
  const box = new Sandbox();
  t.after(() => box.remove());
  const env = fakeEnv();
  env.splitDns.failApply = new Error('resolvectl dns wtest0 100.64.0.1: Failed to set DNS configuration');
  const d = new Daemon(box.options(staticProfile()), env);
  await d.start();
  t.after(() => d.stop());
  const dns = d.state.dns;
  assert.ok(dns !== null, 'the nameserver runs');
  assert.equal(dns.summary().integration, 'none');
  assert.ok(box.logged('split DNS not applied: resolvectl dns wtest0 100.64.0.1: Failed to set DNS configuration'));
});

test('crash recovery removes the adapter and routes a dead helper recorded before the new adapter opens', async (t) => {
  const box = new Sandbox();
  t.after(() => box.remove());
  const env = fakeEnv();
  mkdirSync(box.stateDir, { recursive: true });
  // No process has this pid (it is above the kernel's pid_max).
  writeFileSync(
    statePath(box.stateDir),
    JSON.stringify({ pid: 2 ** 31 - 1, startedAt: 1, adapter: 'wold0', routes: ['10.7.0.0/24 dev wold0'] }),
  );
  env.tun.links.add('wold0');
  env.router.recorded.add('10.7.0.0/24 dev wold0');
  const d = new Daemon(box.options(staticProfile()), env);
  await d.start();
  t.after(() => d.stop());
  assert.deepEqual(env.calls.slice(0, 6), [
    'route del 10.7.0.0/24 dev wold0',
    'tun remove wold0',
    'split dns recover',
    'exit node recover',
    'router recover',
    'udp bind [::]:51820',
  ]);
  assert.equal(env.tun.exists('wold0'), false);
  assert.equal(env.router.recorded.size, 0);
  assert.deepEqual(
    [env.splitDns.recovered, env.exitNode.recovered, env.router.recovered],
    [[box.stateDir], [box.stateDir], [box.stateDir]],
  );
  assert.ok(
    box.logged(`cleaned up after a helper (pid ${2 ** 31 - 1}) that did not stop cleanly: adapter wold0, 1 route(s)`),
  );
  assert.equal(
    JSON.parse(readFileSync(statePath(box.stateDir), 'utf8')).pid,
    process.pid,
    "the record is now this helper's",
  );
});

test('crash recovery refuses while the recorded helper still runs, and gives the API socket back', async (t) => {
  const box = new Sandbox();
  t.after(() => box.remove());
  // A live process whose command line says warren stands in for the other helper.
  const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)', 'warren-other'], { stdio: 'ignore' });
  t.after(() => other.kill());
  await new Promise((r) => other.once('spawn', r));
  mkdirSync(box.stateDir, { recursive: true });
  writeFileSync(
    statePath(box.stateDir),
    JSON.stringify({ pid: other.pid, startedAt: 1, adapter: 'wold0', routes: [] }),
  );
  const env = fakeEnv();
  env.tun.links.add('wold0');
  const d = new Daemon(box.options(staticProfile()), env);
  await assert.rejects(d.start(), {
    step: 'crash recovery',
    message: new RegExp(`^crash recovery: another Warren helper \\(pid ${other.pid}\\) is running`),
  });
  assert.deepEqual(env.calls, [], 'nothing on the machine was touched');
  assert.equal(env.tun.exists('wold0'), true);
  assert.equal(existsSync(box.socketPath), false);
});
