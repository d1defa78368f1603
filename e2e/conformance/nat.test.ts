// Conformance, NAT keepalive, after the NAT step of the Linux kernel's
// tools/testing/selftests/wireguard/netns.sh (also in wireguard-go's tests/netns.sh): a client
// behind a source-NATing router whose UDP conntrack entries expire after 2 s stays reachable
// from the server as long as persistent-keepalive 1 refreshes the mapping. Once keepalive is
// turned off the mapping lapses and the server's packets die at the router.
//
//   ns1 (client: process + device)      ns0 (router, SNAT to 10.0.0.1)      ns2 (server)
//   vethc 192.168.1.100/24  ----------  192.168.1.1/24 | 10.0.0.1/24  ----  10.0.0.100/24
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ping, sleep, waitForPing } from '../netns/index.js';
import { describeConformance } from './impl.js';
import { IP4, PORT, devicePair, endpoints, newTopology, wg } from './setup.js';

describeConformance('conformance: NAT', ['ping', 'iptables', 'sysctl'], { timeout: 60_000 }, (impl) => {
  test('persistent-keepalive 1 keeps a 2 s conntrack mapping open; turned off, the server is cut off', async (t) => {
    const topo = newTopology();
    try {
      const [ns1, ns0, ns2] = [
        await topo.addNamespace('ns1'),
        await topo.addNamespace('ns0'),
        await topo.addNamespace('ns2'),
      ];
      await topo.link(ns1, ns0, '192.168.1.100/24', '192.168.1.1/24');
      await topo.link(ns0, ns2, '10.0.0.1/24', '10.0.0.100/24');
      await ns1.exec(['ip', 'route', 'add', 'default', 'via', '192.168.1.1']);
      await ns0.exec(['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
      // The rule loads conntrack in ns0, which brings its per-namespace timeouts into being.
      const snat = ['-s', '192.168.1.0/24', '-d', '10.0.0.0/24', '-j', 'SNAT', '--to', '10.0.0.1'];
      await ns0.exec(['iptables', '-t', 'nat', '-A', 'POSTROUTING', ...snat]);
      await ns0.exec(['sysctl', '-q', '-w', 'net.netfilter.nf_conntrack_udp_timeout=2']);
      await ns0.exec(['sysctl', '-q', '-w', 'net.netfilter.nf_conntrack_udp_timeout_stream=2']);

      const [s1, s2] = await devicePair([ns1, ns2], [ns1, ns2], [impl, impl]);
      const [if1, if2] = [s1.ifname, s2.ifname];
      const peerOf1 = s2.keys.publicKey;

      // With persistent-keepalive 1 the client speaks first, the server learns the NATed
      // endpoint, and 3 s of application silence later it can still reach the client.
      await wg(ns1, ['set', if1, 'peer', peerOf1, 'endpoint', `10.0.0.100:${PORT[1]}`, 'persistent-keepalive', '1']);
      await waitForPing(ns1, IP4[1]);
      assert.equal((await ping(ns2, IP4[0], { count: 1 })).received, 1, 'server reaches client at once');
      assert.equal((await endpoints(ns2, if2)).get(s1.keys.publicKey), `10.0.0.1:${PORT[0]}`);
      await sleep(3000);
      const kept = await ping(ns2, IP4[0], { count: 1 });
      assert.equal(kept.received, 1, 'the server could not reach the client despite the keepalive');

      // Without it the mapping lapses during the same silence and the server's ping dies at ns0
      // (the control that shows the router really forgets).
      await wg(ns1, ['set', if1, 'peer', peerOf1, 'persistent-keepalive', 'off']);
      await sleep(3000);
      const cut = await ping(ns2, IP4[0], { count: 1 });
      assert.equal(cut.received, 0, 'the server reached the client after the mapping expired');
      t.diagnostic('keepalive 1 kept the mapping across 3 s of silence; without it the mapping expired');
    } finally {
      await topo.destroy();
    }
  });
});
