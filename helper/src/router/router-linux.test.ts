// What the Linux router reads from `ip -j -4 route show table main` and `ip -j -6 ...`: the
// machine's own networks, which an exit node's routes must not take over; and how a route a
// crashed helper recorded is replayed for its family. Route changes themselves run in
// e2e/exitnode.test.ts and e2e/fulltunnel-router.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatIpPrefix } from '../../../src-shared/lib/ip/addr.js';
import { localNetworksFrom, recordedRouteArgs } from './router-linux.js';

const MAIN = JSON.stringify([
  { dst: 'default', gateway: '192.0.2.254', dev: 'eth0' },
  { dst: '192.0.2.0/24', dev: 'eth0', scope: 'link' },
  { dst: '100.64.0.0/10', dev: 'warren0', scope: 'link' },
  { dst: '203.0.113.7', dev: 'eth1' },
  { dst: 'not-a-prefix', dev: 'eth2' },
]);

test("local networks leave out the default route, the adapter's routes and what is not a prefix", () => {
  const got = localNetworksFrom(MAIN, 'warren0').map((n) => `${formatIpPrefix(n.cidr)} ${n.dev}`);
  assert.deepEqual(got, ['192.0.2.0/24 eth0', '203.0.113.7/32 eth1']);
});

test('output that is not a route list gives no local networks', () => {
  for (const text of ['', 'garbage', '{"dst":"10.0.0.0/8"}', 'null'])
    assert.deepEqual(localNetworksFrom(text, 'warren0'), [], text);
});

// Trimmed from a real `ip -j -6 route show table main` (Debian 12).
const MAIN6 = JSON.stringify([
  { dst: '2001:db8:1::/64', dev: 'eth0', protocol: 'kernel', metric: 256, flags: [], pref: 'medium' },
  { dst: 'fd7a:1:2::/48', dev: 'warren0', protocol: 'kernel', metric: 256, flags: [] },
  { dst: '2001:db8:9::7', dev: 'eth1', metric: 1024, flags: [] },
  { dst: 'fe80::/64', dev: 'eth0', protocol: 'kernel', metric: 256, flags: [], pref: 'medium' },
  { type: 'multicast', dst: 'ff00::/8', dev: 'eth0', table: 'local', flags: [] },
  { dst: 'default', gateway: 'fe80::1', dev: 'eth0', protocol: 'ra', metric: 1024, flags: [] },
  { dst: '10.0.0.0/8', dev: 'eth0' },
  { dst: 7, dev: 'eth0' },
  null,
]);

test("IPv6 local networks leave out the default, the adapter's, link-local, multicast and other families' routes", () => {
  const got = localNetworksFrom(MAIN6, 'warren0', 6).map((n) => `${formatIpPrefix(n.cidr)} ${n.dev}`);
  assert.deepEqual(got, ['2001:db8:1::/64 eth0', '2001:db8:9::7/128 eth1']);
});

test('a recorded route is deleted with the family of its prefix; records from before IPv6 replay as IPv4', () => {
  assert.deepEqual(recordedRouteArgs('10.7.0.0/24 dev wold0'), ['-4', 'route', 'del', '10.7.0.0/24', 'dev', 'wold0']);
  assert.deepEqual(recordedRouteArgs('2001:db8:5::/64 dev wold0'), [
    '-6',
    'route',
    'del',
    '2001:db8:5::/64',
    'dev',
    'wold0',
  ]);
  assert.deepEqual(recordedRouteArgs('2001:db8::7 dev w0'), ['-6', 'route', 'del', '2001:db8::7', 'dev', 'w0']);
  for (const bad of ['', 'flush', 'default dev w0', '10.0.0.0/33 dev w0', `10.0.0.0/8${' x'.repeat(20)}`])
    assert.equal(recordedRouteArgs(bad), null, bad);
});
