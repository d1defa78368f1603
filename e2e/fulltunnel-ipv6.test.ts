// Full tunnel and IPv6: exit nodes route IPv4 only, so while a client's full tunnel is on its
// IPv6 must not go around the tunnel, with the kill switch or without it. The client and the
// "internet" host have IPv6 too, and the exit namespace forwards plain IPv6, so a leak would
// really arrive: a counter there tells whether anything came from the client's own address.
//
//   client (cl) 2001:db8:1::1 ── 2001:db8:1::10 exit (ex) 2001:db8:2::1 ── 2001:db8:2::50 (net)
//               192.0.2.1       192.0.2.10           203.0.113.1           203.0.113.50
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  Topology,
  describeE2E,
  genKeyPair,
  ping,
  startWarren,
  waitForPing,
  type Namespace,
  type Warren,
} from './netns/index.js';
import { identityFromPublicKey } from '../src-shared/lib/identity.js';
import { IPV6_GUARD_COMMENT } from '../helper/src/router/full-tunnel-ipv6.js';

const INET = '203.0.113.50';
const INET6 = '2001:db8:2::50';
const CLIENT6 = '2001:db8:1::1';
const EXIT_LAN6 = '2001:db8:1::10';

describeE2E(
  'full tunnel: no IPv6 around the tunnel, with or without the kill switch',
  { warren: true, binaries: ['ping', 'nft'] },
  { timeout: 180_000 },
  () => {
    let topo: Topology;
    let cl: Namespace;
    let ex: Namespace;
    let net: Namespace;
    const kc = genKeyPair();
    const ke = genKeyPair();

    async function leakedPackets(): Promise<number> {
      const out = (await net.exec(['nft', 'list', 'chain', 'ip6', 'leakwatch6', 'in'])).stdout;
      const m = /counter packets (\d+)/.exec(out);
      if (m === null) throw new Error(`no counter in the leak watch chain:\n${out}`);
      return Number(m[1]);
    }

    async function startClient(killSwitch: boolean): Promise<Warren> {
      return startWarren(
        cl,
        {
          PrivateKey: kc.privateKey,
          ListenPort: 51820,
          VirtualAddress: '100.64.0.1',
          Adapter: { Name: topo.ifname('w') },
          Peers: [
            {
              Name: 'exit',
              PublicKey: ke.publicKey,
              Endpoint: '192.0.2.10:51820',
              AllowedIPs: ['100.64.0.10/32'],
              PersistentKeepalive: 5,
            },
          ],
          ExitNode: {
            AvailableRoutes: { [identityFromPublicKey(Buffer.from(ke.publicKey, 'base64'))]: ['0.0.0.0/0'] },
            KillSwitch: killSwitch,
          },
        },
        { name: `warren-client-ks-${killSwitch}` },
      );
    }

    before(async () => {
      topo = Topology.create();
      cl = await topo.addNamespace('cl');
      ex = await topo.addNamespace('ex');
      net = await topo.addNamespace('net');
      const l1 = await topo.link(cl, ex, '192.0.2.1/24', '192.0.2.10/24');
      const l2 = await topo.link(ex, net, '203.0.113.1/24', `${INET}/24`);
      await cl.exec(['ip', '-6', 'addr', 'add', `${CLIENT6}/64`, 'dev', l1.aIf, 'nodad']);
      await ex.exec(['ip', '-6', 'addr', 'add', `${EXIT_LAN6}/64`, 'dev', l1.bIf, 'nodad']);
      await ex.exec(['ip', '-6', 'addr', 'add', '2001:db8:2::1/64', 'dev', l2.aIf, 'nodad']);
      await net.exec(['ip', '-6', 'addr', 'add', `${INET6}/64`, 'dev', l2.bIf, 'nodad']);
      await cl.exec(['ip', 'route', 'add', 'default', 'via', '192.0.2.10']);
      await cl.exec(['ip', '-6', 'route', 'add', 'default', 'via', EXIT_LAN6]);
      await ex.exec(['ip', 'route', 'add', 'default', 'via', INET]);
      await net.exec(['ip', 'route', 'add', '192.0.2.0/24', 'via', '203.0.113.1']);
      await net.exec(['ip', '-6', 'route', 'add', '2001:db8:1::/64', 'via', '2001:db8:2::1']);
      await ex.exec(['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
      await ex.exec(['sysctl', '-q', '-w', 'net.ipv6.conf.all.forwarding=1']);
      await net.exec(['nft', '-f', '-'], {
        input: `table ip6 leakwatch6 {\n chain in {\n  type filter hook input priority 0;\n  ip6 saddr ${CLIENT6} counter\n }\n}\n`,
      });
      // The exit node runs until topo.destroy() stops every process of the run.
      await startWarren(
        ex,
        {
          PrivateKey: ke.privateKey,
          ListenPort: 51820,
          VirtualAddress: '100.64.0.10',
          Adapter: { Name: topo.ifname('w') },
          Peers: [{ Name: 'client', PublicKey: kc.publicKey, AllowedIPs: ['100.64.0.1/32'] }],
          ExitNode: { ProvidesRoutes: ['0.0.0.0/0'] },
        },
        { name: 'warren-exit' },
      );
    });
    after(async () => {
      await topo?.destroy();
    });

    test('without Warren, the client reaches the IPv6 internet host and the leak watch counts it', async () => {
      await waitForPing(cl, INET6, 10_000); // neighbour discovery on both links first
      const before = await leakedPackets();
      assert.equal((await ping(cl, INET6, { count: 2, interval: 0.1 })).received, 2);
      assert.ok((await leakedPackets()) >= before + 2, 'the watch sees packets from the client address');
    });

    for (const killSwitch of [false, true]) {
      test(`kill switch ${killSwitch ? 'on' : 'off'}: IPv4 goes through the exit node, IPv6 is refused at once and never arrives, the IPv6 LAN stays direct`, async () => {
        const wc = await startClient(killSwitch);
        try {
          await waitForPing(cl, INET, 15_000);
          const before = await leakedPackets();
          const started = Date.now();
          const p = await cl.exec(['ping', '-n', '-c', '2', '-i', '0.1', '-W', '1', INET6], { allowFailure: true });
          assert.notEqual(p.code, 0, `IPv6 to the internet host must fail:\n${p.stdout}`);
          assert.ok(Date.now() - started < 5000, 'refused, not left to time out');
          assert.equal(await leakedPackets(), before, "the internet host saw nothing from the client's own address");
          const rules = (await cl.exec(['nft', 'list', 'ruleset'])).stdout;
          const refused = Number(
            new RegExp(`counter packets (\\d+) bytes \\d+ reject.*"${IPV6_GUARD_COMMENT}"`).exec(rules)?.[1],
          );
          assert.ok(refused >= 2, `the guard counted what it refused:\n${rules}`);
          assert.equal((await ping(cl, EXIT_LAN6, { count: 2, interval: 0.1 })).received, 2, 'the IPv6 LAN is direct');
        } finally {
          await wc.stop();
        }
        assert.doesNotMatch(
          (await cl.exec(['nft', 'list', 'tables'])).stdout,
          /warren_/,
          'the guard left with the client',
        );
        assert.equal((await ping(cl, INET6, { count: 1, interval: 0.1 })).received, 1, 'IPv6 works normally again');
      });
    }
  },
);
