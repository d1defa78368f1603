// Conformance, roaming and cryptokey reverse-path filtering, after the "roaming works" and
// "crypto-RP filter works" steps of the Linux kernel's tools/testing/selftests/wireguard/netns.sh
// (also in wireguard-go's tests/netns.sh):
// - a peer's endpoint follows the source address and port of the last authenticated packet,
//   when the sender's address and port change (IPv4) and when its port and family change (IPv6);
// - a packet is accepted only if its inner source address maps, by the allowed IPs, back to the
//   peer whose key decrypted it: a more specific allowed IP of another peer wins.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { genKeyPair, ping, waitForPing } from '../netns/index.js';
import { describeConformance } from './impl.js';
import { IP4, IP6, PORT, endpoints, linkStats, netnsPair, newTopology, setEndpoints, wg } from './setup.js';

describeConformance('conformance: roaming and cryptokey routing', ['ping'], { timeout: 90_000 }, (impl) => {
  test('IPv4 outside: when the sender moves to a new address and port, the peer follows', async () => {
    const topo = newTopology();
    try {
      const p = await netnsPair(topo, impl);
      await setEndpoints(p, 4);
      await waitForPing(p.s1.ns, IP4[1]);
      const pub1 = p.s1.keys.publicKey;
      assert.equal((await endpoints(p.ns0, p.s2.ifname)).get(pub1), `127.0.0.1:${PORT[0]}`);

      // ns0's loopback trades 127.0.0.1 for 127.212.121.99; 127.0.0.0/8 stays local, so the
      // packets to 127.0.0.1:20000 still arrive, now from the new address and port.
      await p.ns0.exec(['ip', '-4', 'addr', 'del', '127.0.0.1/8', 'dev', 'lo']);
      await p.ns0.exec(['ip', '-4', 'addr', 'add', '127.212.121.99/8', 'dev', 'lo']);
      await wg(p.ns0, ['set', p.s1.ifname, 'listen-port', '9999']);
      await wg(p.ns0, ['set', p.s1.ifname, 'peer', p.s2.keys.publicKey, 'endpoint', `127.0.0.1:${PORT[1]}`]);
      await waitForPing(p.s1.ns, IP6[1], 5000);
      assert.equal((await endpoints(p.ns0, p.s2.ifname)).get(pub1), '127.212.121.99:9999');
    } finally {
      await topo.destroy();
    }
  });

  test('IPv6 outside: when the sender changes port and address family, the peer follows', async () => {
    const topo = newTopology();
    try {
      const p = await netnsPair(topo, impl);
      await setEndpoints(p, 4);
      await waitForPing(p.s1.ns, IP6[1]);
      const pub1 = p.s1.keys.publicKey;
      assert.equal((await endpoints(p.ns0, p.s2.ifname)).get(pub1), `127.0.0.1:${PORT[0]}`);

      await wg(p.s1.ns, ['set', p.s1.ifname, 'listen-port', '9998']);
      await wg(p.s1.ns, ['set', p.s1.ifname, 'peer', p.s2.keys.publicKey, 'endpoint', `[::1]:${PORT[1]}`]);
      await waitForPing(p.s1.ns, IP4[1], 5000);
      assert.equal((await endpoints(p.ns0, p.s2.ifname)).get(pub1), '[::1]:9998');
    } finally {
      await topo.destroy();
    }
  });

  test("a more specific allowed IP of another peer drops the first peer's packets from that source", async () => {
    const topo = newTopology();
    try {
      const p = await netnsPair(topo, impl);
      await setEndpoints(p, 6);
      const pub2 = p.s2.keys.publicKey;
      await wg(p.ns0, ['set', p.s1.ifname, 'peer', pub2, 'allowed-ips', '192.168.241.0/24']);
      await waitForPing(p.s2.ns, IP4[0]);

      // A third key (no endpoint, never seen) claims 192.168.241.2/32, ns2's source address.
      const third = genKeyPair().publicKey;
      await wg(p.ns0, ['set', p.s1.ifname, 'peer', third, 'allowed-ips', '192.168.241.2/32']);
      // ns2's packets now come from a new port: if1 learning it proves they were authenticated.
      await wg(p.ns0, ['set', p.s2.ifname, 'listen-port', '9997']);
      const rxBefore = await linkStats(p.s1.ns, p.s1.ifname);
      const blocked = await ping(p.s2.ns, IP4[0], { count: 3, interval: 0.2 });
      assert.equal(blocked.received, 0, `ping passed the reverse-path filter: ${JSON.stringify(blocked)}`);
      // Nothing came out of the tunnel into ns1 (the echo requests were dropped on receipt,
      // not their replies on the way back), although the packets were authenticated:
      const rxAfter = await linkStats(p.s1.ns, p.s1.ifname);
      assert.equal(rxAfter.rxPackets, rxBefore.rxPackets, 'packets delivered into ns1 despite the filter');
      assert.equal((await endpoints(p.ns0, p.s1.ifname)).get(pub2), '[::1]:9997');

      await wg(p.ns0, ['set', p.s1.ifname, 'peer', third, 'remove']);
      await waitForPing(p.s2.ns, IP4[0], 5000);
      const restored = await ping(p.s2.ns, IP4[0], { count: 3, interval: 0.05 });
      assert.equal(restored.received, 3, JSON.stringify(restored));
      assert.ok((await linkStats(p.s1.ns, p.s1.ifname)).rxPackets > rxAfter.rxPackets);
    } finally {
      await topo.destroy();
    }
  });
});
