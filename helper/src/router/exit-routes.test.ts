// ExitRoutes on both families, with the in-memory router (router-fake.ts) and a real device's
// allowed-IPs table: IPv6 subnets go through the adapter from the IPv6 overlay address and into
// the peer's allowed IPs, are withdrawn exactly, give way to local IPv6 networks, and are left
// out on a system without an IPv6 overlay address; 0.0.0.0/0 and ::/0 ask the full tunnel for
// the families they name.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { generatePrivateKey, publicKeyFromPrivate } from '../../../src-shared/lib/keys.js';
import { createLogger } from '../../../src-shared/lib/log.js';
import { Device } from '../wireguard/device/device.js';
import { FakeNetwork, FakeTun, prefix } from '../wireguard/device/fake-io.js';
import type { DevicePeer } from '../wireguard/device/peer.js';
import { ExitRoutes } from './exit-routes.js';
import { FakeRouter } from './router-fake.js';

const V4 = '100.64.0.1';
const V6 = 'fd7a:115c:a1e0::1';
const EXIT = 'G982V';
const silent = createLogger(0, { write: () => true });

interface Setup {
  routes: ExitRoutes;
  router: FakeRouter;
  dev: Device;
  peer: DevicePeer;
}

function setup(t: TestContext, virtualAddress6: string | null = V6): Setup {
  const dev = new Device({
    privateKey: generatePrivateKey(),
    tun: new FakeTun('wtest0', 1420),
    bind: new FakeNetwork().bind(prefix('192.0.2.1/32').addr, 51820),
    mtu: 1420,
    log: silent,
  });
  t.after(() => dev.stop());
  const peer = dev.addPeer({
    publicKey: publicKeyFromPrivate(generatePrivateKey()),
    allowedIps: [prefix('100.64.0.10/32'), prefix('fd7a:115c:a1e0::10/128')],
    persistentKeepalive: 0,
  });
  const router = new FakeRouter();
  const ft = router.fullTunnel({
    adapter: 'wtest0',
    virtualAddress: V4,
    virtualAddress6,
    setMark: () => undefined,
    stateDir: '/nonexistent',
    killSwitch: false,
    log: silent,
  });
  const routes = new ExitRoutes(dev, 'wtest0', V4, virtualAddress6, silent, router, ft);
  return { routes, router, dev, peer };
}

const owner = (s: Setup, p: string): DevicePeer | undefined => s.dev.routes.exact(prefix(p));

test('an IPv6 subnet is routed through the adapter from the IPv6 overlay address and joins the peer’s allowed IPs', (t) => {
  const s = setup(t);
  s.routes.configure([{ identity: EXIT, peer: s.peer, routes: [prefix('2001:DB8:7:0::/64'), prefix('10.9.0.0/24')] }]);
  assert.deepEqual(Object.fromEntries(s.router.routes), {
    '2001:db8:7::/64': { dev: 'wtest0', src: V6 },
    '10.9.0.0/24': { dev: 'wtest0', src: V4 },
  });
  assert.equal(owner(s, '2001:db8:7::/64'), s.peer);
  assert.deepEqual(s.routes.state(), [
    { identity: EXIT, name: null, routes: ['2001:db8:7::/64', '10.9.0.0/24'], inUse: true, conflicts: [] },
  ]);
});

test('switching an exit node off withdraws exactly its IPv6 and IPv4 routes and allowed IPs; on brings them back', (t) => {
  const s = setup(t);
  s.routes.configure([{ identity: EXIT, peer: s.peer, routes: [prefix('2001:db8:7::/64'), prefix('10.9.0.0/24')] }]);
  s.routes.use(EXIT, false);
  assert.equal(s.router.routes.size, 0);
  assert.equal(owner(s, '2001:db8:7::/64'), undefined);
  assert.equal(owner(s, '10.9.0.0/24'), undefined);
  assert.equal(owner(s, 'fd7a:115c:a1e0::10/128'), s.peer, 'the peer’s own allowed IPs stay');
  assert.ok(s.router.calls.includes('route del 2001:db8:7::/64 dev wtest0'));
  s.routes.use(EXIT, true);
  assert.equal(s.router.routes.get('2001:db8:7::/64')?.src, V6);
  assert.equal(owner(s, '2001:db8:7::/64'), s.peer);
});

test('an IPv6 subnet overlapping a local IPv6 network is reported, not applied; local networks of the other family do not clash', (t) => {
  const s = setup(t);
  s.router.local = [
    { cidr: prefix('2001:db8:7::/48'), dev: 'eth0' },
    { cidr: prefix('0.0.0.0/1'), dev: 'eth1' },
  ];
  s.routes.configure([
    { identity: EXIT, peer: s.peer, routes: [prefix('2001:db8:7:1::/64'), prefix('2001:db8:8::/64')] },
  ]);
  assert.deepEqual(s.routes.state()[0]!.conflicts, ['2001:db8:7:1::/64 overlaps 2001:db8:7::/48 on eth0']);
  assert.deepEqual([...s.router.routes.keys()], ['2001:db8:8::/64']);
  assert.equal(owner(s, '2001:db8:7:1::/64'), undefined);
});

test('without an IPv6 overlay address IPv6 routes and ::/0 are reported, IPv4 and 0.0.0.0/0 still apply', (t) => {
  const s = setup(t, null);
  s.routes.configure([
    {
      identity: EXIT,
      peer: s.peer,
      routes: [prefix('2001:db8:7::/64'), prefix('10.9.0.0/24'), prefix('0.0.0.0/0'), prefix('::/0')],
    },
  ]);
  assert.deepEqual(s.routes.state()[0]!.conflicts, [
    '2001:db8:7::/64: this system has no IPv6 overlay address',
    '::/0: this system has no IPv6 overlay address',
  ]);
  assert.deepEqual([...s.router.routes.keys()], ['10.9.0.0/24']);
  assert.deepEqual(s.router.fullTunnels[0]!.families, { ipv4: true, ipv6: false });
  assert.equal(owner(s, '::/0'), undefined);
  assert.equal(owner(s, '0.0.0.0/0'), s.peer);
});

test('0.0.0.0/0 and ::/0 each ask the full tunnel for their family, and switching off withdraws both', (t) => {
  const cases = [
    { routes: ['0.0.0.0/0'], families: { ipv4: true, ipv6: false } },
    { routes: ['::/0'], families: { ipv4: false, ipv6: true } },
    { routes: ['0.0.0.0/0', '::/0'], families: { ipv4: true, ipv6: true } },
  ];
  for (const c of cases) {
    const s = setup(t);
    s.routes.configure([{ identity: EXIT, peer: s.peer, routes: c.routes.map(prefix) }]);
    const ft = s.router.fullTunnels[0]!;
    assert.deepEqual([ft.enabled, ft.families], [true, c.families], c.routes.join());
    for (const r of c.routes) assert.equal(owner(s, r), s.peer, `${r} points at the exit node`);
    assert.equal(s.router.routes.size, 0, 'the full tunnel adds no main-table route');
    s.routes.use(EXIT, false);
    assert.deepEqual([ft.enabled, ft.families], [false, { ipv4: false, ipv6: false }]);
    for (const r of c.routes) assert.equal(owner(s, r), undefined, `${r} withdrawn`);
  }
});

test('a full tunnel that fails to start reports each default route it was asked for', (t) => {
  const s = setup(t);
  s.router.fullTunnels[0]!.failEnable = new Error('nft: Operation not permitted');
  s.routes.configure([{ identity: EXIT, peer: s.peer, routes: [prefix('0.0.0.0/0'), prefix('::/0')] }]);
  assert.deepEqual(s.routes.state()[0]!.conflicts, [
    '0.0.0.0/0: nft: Operation not permitted',
    '::/0: nft: Operation not permitted',
  ]);
  assert.equal(owner(s, '::/0'), undefined);
});

test('two exit nodes may carry one family each: the full tunnel carries both, and keeps the other when one is switched off', (t) => {
  const s = setup(t);
  const other = s.dev.addPeer({
    publicKey: publicKeyFromPrivate(generatePrivateKey()),
    allowedIps: [prefix('100.64.0.11/32')],
    persistentKeepalive: 0,
  });
  s.routes.configure([
    { identity: EXIT, peer: s.peer, routes: [prefix('0.0.0.0/0')] },
    { identity: 'H7K2M', peer: other, routes: [prefix('::/0')] },
  ]);
  const ft = s.router.fullTunnels[0]!;
  assert.deepEqual(ft.families, { ipv4: true, ipv6: true });
  assert.equal(owner(s, '0.0.0.0/0'), s.peer);
  assert.equal(owner(s, '::/0'), other);
  s.routes.use(EXIT, false);
  assert.deepEqual([ft.enabled, ft.families], [true, { ipv4: false, ipv6: true }]);
  assert.equal(owner(s, '::/0'), other, 'the other exit node keeps IPv6');
  s.routes.use('H7K2M', false);
  assert.equal(ft.enabled, false);
});
