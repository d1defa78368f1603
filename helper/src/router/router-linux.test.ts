// What the Linux router reads from `ip -j -4 route show table main`: the machine's own networks,
// which an exit node's routes must not take over. Route changes themselves run in e2e/exitnode.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatCidr } from '../../../src-shared/lib/ip/ipv4.js';
import { localNetworksFrom } from './router-linux.js';

const MAIN = JSON.stringify([
  { dst: 'default', gateway: '192.0.2.254', dev: 'eth0' },
  { dst: '192.0.2.0/24', dev: 'eth0', scope: 'link' },
  { dst: '100.64.0.0/10', dev: 'warren0', scope: 'link' },
  { dst: '203.0.113.7', dev: 'eth1' },
  { dst: 'not-a-prefix', dev: 'eth2' },
]);

test("local networks leave out the default route, the adapter's routes and what is not a prefix", () => {
  const got = localNetworksFrom(MAIN, 'warren0').map((n) => `${formatCidr(n.cidr)} ${n.dev}`);
  assert.deepEqual(got, ['192.0.2.0/24 eth0', '203.0.113.7/32 eth1']);
});

test('output that is not a route list gives no local networks', () => {
  for (const text of ['', 'garbage', '{"dst":"10.0.0.0/8"}', 'null'])
    assert.deepEqual(localNetworksFrom(text, 'warren0'), [], text);
});
