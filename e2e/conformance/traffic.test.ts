// Conformance, traffic: ping and iperf3 TCP and UDP over IPv4 and IPv6 inside the tunnel,
// first with IPv4 outside (endpoints 127.0.0.1:port) and then with IPv6 outside ([::1]:port),
// each at the devices' default MTU and again at a large MTU that only a path carrying whole
// ~33 kB packets can pass. Scenario and order follow the `tests` runs of the Linux kernel's
// tools/testing/selftests/wireguard/netns.sh and wireguard-go's tests/netns.sh (which also
// raise both MTUs to a large value, there 34816 - 1500 + the default); iperf3 runs are cut to
// one second each to keep the file short.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { iperf3, ping, waitForPing, type Namespace, type Topology } from '../netns/index.js';
import { describeConformance } from './impl.js';
import {
  IP4,
  IP6,
  PORT,
  endpoints,
  linkStats,
  mbps,
  netnsPair,
  newTopology,
  setEndpoints,
  setMtu,
  type NetnsPair,
} from './setup.js';

/** BIG_MTU is well above any Ethernet jumbo frame and below loopback's 65536 with room for the
 * 80 bytes of WireGuard's IPv6 + UDP + data header. */
const BIG_MTU = 33_500;
const IPV4_ICMP_HEADERS = 28;
const IPV6_ICMP_HEADERS = 48;

describeConformance(
  'conformance: traffic between devices moved out of their process namespace',
  ['ping', 'iperf3'],
  { timeout: 170_000 },
  (impl) => {
    let topo: Topology | undefined;
    let p: NetnsPair | undefined;
    let defaultMtu = 0;
    before(async () => {
      topo = newTopology();
      p = await netnsPair(topo, impl);
      const show = await p.s1.ns.exec(['ip', 'link', 'show', 'dev', p.s1.ifname]);
      defaultMtu = Number(/ mtu (\d+)/.exec(show.stdout)?.[1] ?? NaN);
      assert.ok(defaultMtu >= 1280 && defaultMtu <= 1500, `default MTU ${defaultMtu}`);
    });
    after(async () => {
      await topo?.destroy();
    });

    for (const family of [4, 6] as const) {
      for (const big of [false, true]) {
        const label = `IPv${family} outside, ${big ? `MTU ${BIG_MTU}` : 'default MTU'}`;
        test(`${label}: ping and iperf3 TCP and UDP over IPv4 and IPv6 inside`, async (t) => {
          assert.ok(p !== undefined);
          const mtu = big ? BIG_MTU : defaultMtu;
          await setEndpoints(p, family);
          await setMtu(p, mtu);
          await waitForPing(p.s1.ns, IP4[1]);

          // Ten quick pings each way and family; the receiving device counts them (the selftest's
          // check that the interface counters work).
          const before2 = await linkStats(p.s2.ns, p.s2.ifname);
          for (const [from, dst] of pingPairs(p)) {
            const r = await ping(from, dst, { count: 10, interval: 0.01 });
            assert.equal(r.received, 10, `ping ${dst}: ${JSON.stringify(r)}`);
          }
          const after2 = await linkStats(p.s2.ns, p.s2.ifname);
          assert.ok(
            after2.rxPackets - before2.rxPackets >= 20,
            `${p.s2.ifname} rx ${JSON.stringify([before2, after2])}`,
          );

          if (big) {
            // -M do: the kernel refuses to fragment, so each reply is one packet of the full MTU.
            for (const [from, dst] of pingPairs(p)) {
              const size = mtu - (dst.includes(':') ? IPV6_ICMP_HEADERS : IPV4_ICMP_HEADERS);
              const r = await ping(from, dst, { count: 3, interval: 0.05, size, dontFragment: true });
              assert.equal(r.received, 3, `ping -s ${size} ${dst}: ${JSON.stringify(r)}`);
            }
          }

          // The outer family really is the one configured: each side learned the other's loopback.
          const host = family === 4 ? '127.0.0.1' : '[::1]';
          assert.equal((await endpoints(p.ns0, p.s2.ifname)).get(p.s1.keys.publicKey), `${host}:${PORT[0]}`);
          assert.equal((await endpoints(p.ns0, p.s1.ifname)).get(p.s2.keys.publicKey), `${host}:${PORT[1]}`);

          const rates: string[] = [];
          for (const run of iperfRuns(p)) {
            const r = await iperf3(run.server, run.client, run.ip, 1, {
              ...(run.udp ? { udp: true, bitrate: '200M' } : {}),
            });
            const what = `${run.udp ? 'UDP' : 'TCP'} to ${run.ip}`;
            assert.ok(r.receivedBytes > 0, `${what}: nothing received: ${JSON.stringify(r)}`);
            assert.ok(r.receivedBps > 1e6, `${what}: ${mbps(r.receivedBps)}`);
            rates.push(`${what} ${mbps(r.receivedBps)}${run.udp ? ` (${r.lostPercent.toFixed(1)}% lost)` : ''}`);
          }
          t.diagnostic(`${label}: ${rates.join(', ')}`);
        });
      }
    }
  },
);

/** pingPairs: each side pings the other over IPv4 and IPv6 inside. */
function pingPairs(p: NetnsPair): [Namespace, string][] {
  return [
    [p.s2.ns, IP4[0]],
    [p.s1.ns, IP4[1]],
    [p.s2.ns, IP6[0]],
    [p.s1.ns, IP6[1]],
  ];
}

/** iperfRuns: TCP and UDP over both inner families, alternating directions as the selftest. */
function iperfRuns(p: NetnsPair): { server: Namespace; client: Namespace; ip: string; udp: boolean }[] {
  return [
    { server: p.s2.ns, client: p.s1.ns, ip: IP4[1], udp: false },
    { server: p.s1.ns, client: p.s2.ns, ip: IP6[0], udp: false },
    { server: p.s1.ns, client: p.s2.ns, ip: IP4[0], udp: true },
    { server: p.s2.ns, client: p.s1.ns, ip: IP6[1], udp: true },
  ];
}
