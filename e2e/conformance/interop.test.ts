// Conformance, interoperability with Debian's wireguard-go over IPv6 outside ([::1]) and inside
// (fd00::/24), in the topology of the Linux kernel's tools/testing/selftests/wireguard/netns.sh:
// the implementation under test drives the device in ns1, wireguard-go the one in ns2, and
// each side in turn is the only one given an endpoint, so each initiates the handshake once.
// With WG_IMPL=wireguard-go both sides are wireguard-go, which validates the scenario itself.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { iperf3, ping, waitForPing } from '../netns/index.js';
import { describeConformance, wireguardGo } from './impl.js';
import { IP6, PORT, endpoints, mbps, netnsPair, newTopology, wg } from './setup.js';

describeConformance(
  'conformance: interop with wireguard-go',
  ['wireguard-go', 'ping', 'iperf3'],
  { timeout: 90_000 },
  (impl) => {
    for (const first of [true, false]) {
      const initiator = first ? `${impl.name} (under test)` : 'wireguard-go (reference)';
      test(`${initiator} initiates: ping both ways and iperf3 TCP each way over IPv6 in and out`, async (t) => {
        const topo = newTopology();
        try {
          const p = await netnsPair(topo, impl, wireguardGo);
          const [me, other, port] = first ? [p.s1, p.s2, PORT[1]] : [p.s2, p.s1, PORT[0]];
          await wg(p.ns0, ['set', me.ifname, 'peer', other.keys.publicKey, 'endpoint', `[::1]:${port}`]);
          await waitForPing(me.ns, first ? IP6[1] : IP6[0]);
          for (const [from, dst] of [
            [p.s1.ns, IP6[1]],
            [p.s2.ns, IP6[0]],
          ] as const) {
            const r = await ping(from, dst, { count: 5, interval: 0.05 });
            assert.equal(r.received, 5, `ping ${dst}: ${JSON.stringify(r)}`);
          }
          // The responder learned the initiator's IPv6 loopback endpoint from the handshake.
          const back = await endpoints(p.ns0, other.ifname);
          assert.equal(back.get(me.keys.publicKey), `[::1]:${first ? PORT[0] : PORT[1]}`);

          const up = await iperf3(p.s2.ns, p.s1.ns, IP6[1], 1);
          const down = await iperf3(p.s1.ns, p.s2.ns, IP6[0], 1);
          for (const r of [up, down]) assert.ok(r.receivedBytes > 0 && r.receivedBps > 1e6, JSON.stringify(r));
          t.diagnostic(`${impl.name} -> wireguard-go ${mbps(up.receivedBps)}, back ${mbps(down.receivedBps)}`);
        } finally {
          await topo.destroy();
        }
      });
    }
  },
);
