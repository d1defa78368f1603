// Full tunnel: a client routes all its internet traffic through an exit node that
// provides 0.0.0.0/0, without a routing loop (its tunnel's own datagrams and its LAN stay
// direct); `warren down` gives back normal routing; with the kill switch on, traffic that would
// go around the tunnel (here: a more specific route some other software added) is dropped and
// counted, also after the exit node stops; after the client stops, nothing of it remains.
//
//   client (cl) 192.0.2.1 ── 192.0.2.10 exit (ex) 203.0.113.1 ── 203.0.113.50 "internet" (net)
//
// The exit namespace forwards plain IP too, so a leak would really reach the internet host:
// a counter there tells whether anything arrived from the client's own address.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  Topology,
  describeE2E,
  genKeyPair,
  ping,
  startWarren,
  waitForPing,
  waitUntil,
  type Namespace,
  type TrackedProcess,
  type Warren,
} from './netns/index.js';
import { warrenCli } from './netns/warren.js';
import { nodeScript } from './netns/node-script.js';
import { identityFromPublicKey } from '../src-shared/lib/identity.js';
import { FULL_TUNNEL_MARK, RULE_PREF_SUPPRESS, RULE_PREF_TUNNEL } from '../helper/src/router/full-tunnel.js';

const INET = '203.0.113.50';
const EXIT_WAN = '203.0.113.1';
const CLIENT_IP = '192.0.2.1';
const EXIT_IP = '192.0.2.10';

describeE2E(
  'full tunnel through an exit node, with the kill switch',
  { warren: true, binaries: ['ping', 'nft'] },
  { timeout: 240_000 },
  () => {
    let topo: Topology;
    let cl: Namespace;
    let ex: Namespace;
    let net: Namespace;
    let wc: Warren;
    let we: Warren;
    let server: TrackedProcess;
    let clientIf = '';
    const kc = genKeyPair();
    const ke = genKeyPair();

    /** connectFrom opens a TCP connection from the client and returns the source the server saw, or null. */
    async function sourceSeen(): Promise<string | null> {
      const seen = (): string[] =>
        [...server.output().matchAll(/\{"peer":"([^"]*)"\}/g)].map((m) => m[1]!.replace('::ffff:', ''));
      const before = seen().length;
      const probe = cl.spawn([...nodeScript('tcp-probe'), 'connect', INET, '9100', '100'], { name: 'probe' });
      try {
        await waitUntil('a connection at the internet host', () => (seen().length > before ? true : undefined), 3000);
        return seen().at(-1) ?? null;
      } catch {
        return null;
      } finally {
        await probe.stop(500);
      }
    }

    async function leakedPackets(): Promise<number> {
      const out = (await net.exec(['nft', 'list', 'chain', 'ip', 'leakwatch', 'in'])).stdout;
      // Throw rather than return NaN: assert.equal(NaN, NaN) passes, which would hide a lost counter.
      const m = /counter packets (\d+)/.exec(out);
      if (m === null) throw new Error(`no counter in the leak watch chain:\n${out}`);
      return Number(m[1]);
    }

    before(async () => {
      topo = Topology.create();
      cl = await topo.addNamespace('cl');
      ex = await topo.addNamespace('ex');
      net = await topo.addNamespace('net');
      clientIf = (await topo.link(cl, ex, `${CLIENT_IP}/24`, `${EXIT_IP}/24`)).aIf;
      await topo.link(ex, net, `${EXIT_WAN}/24`, `${INET}/24`);
      await cl.exec(['ip', 'route', 'add', 'default', 'via', EXIT_IP]);
      await ex.exec(['ip', 'route', 'add', 'default', 'via', INET]);
      await net.exec(['ip', 'route', 'add', '192.0.2.0/24', 'via', EXIT_WAN]);
      // The exit namespace routes plain traffic as well, so a leak from the client would arrive.
      await ex.exec(['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
      await net.exec(['nft', '-f', '-'], {
        input: `table ip leakwatch {\n chain in {\n  type filter hook input priority 0;\n  ip saddr ${CLIENT_IP} counter\n }\n}\n`,
      });
      server = net.spawn([...nodeScript('tcp-probe'), 'serve', INET, '9100'], { name: 'inet-9100' });
      await server.waitFor(/listening/, 10_000);

      we = await startWarren(
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
      wc = await startWarren(
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
              Endpoint: `${EXIT_IP}:51820`,
              AllowedIPs: ['100.64.0.10/32'],
              PersistentKeepalive: 5,
            },
          ],
          ExitNode: {
            AvailableRoutes: { [identityFromPublicKey(Buffer.from(ke.publicKey, 'base64'))]: ['0.0.0.0/0'] },
            KillSwitch: true,
          },
        },
        { name: 'warren-client' },
      );
    });
    after(async () => {
      await server?.stop(500);
      await topo?.destroy();
    });

    test('internet traffic goes through the exit node, the LAN and the tunnel itself stay direct', async () => {
      const rules = (await cl.exec(['ip', '-4', 'rule', 'show'])).stdout;
      assert.match(rules, new RegExp(`^${RULE_PREF_SUPPRESS}:.*lookup main suppress_prefixlength 0`, 'm'));
      assert.match(
        rules,
        new RegExp(`^${RULE_PREF_TUNNEL}:.*not from all fwmark 0xca6c lookup ${FULL_TUNNEL_MARK}`, 'm'),
      );
      await waitForPing(cl, INET, 15_000);
      assert.equal((await ping(cl, INET, { count: 5, interval: 0.05 })).received, 5);
      assert.equal(
        await sourceSeen(),
        EXIT_WAN,
        'the internet host sees the exit node (SNAT), so the traffic was tunnelled',
      );
      assert.equal((await ping(cl, EXIT_IP, { count: 3, interval: 0.05 })).received, 3, 'the LAN is reached directly');
      const s = await wc.status();
      assert.ok((s.peers[0]?.lastHandshake ?? 0) > 0, 'the tunnel to the exit node is up (no routing loop)');
      assert.deepEqual(s.peers[0]?.exitNodeFor, ['0.0.0.0/0']);
      assert.equal(await leakedPackets(), 0);
      assert.equal(
        (await cl.exec(['cat', '/proc/sys/net/ipv4/conf/all/src_valid_mark'])).stdout.trim(),
        '1',
        'replies with the restored mark pass rp_filter',
      );
    });

    test('warren down gives normal routing back and warren up restores the tunnel', async () => {
      assert.equal((await warrenCli(cl, ['down', '--socket', wc.socket])).code, 0);
      assert.doesNotMatch(
        (await cl.exec(['ip', '-4', 'rule', 'show'])).stdout,
        new RegExp(`^${RULE_PREF_TUNNEL}:`, 'm'),
      );
      assert.equal(await sourceSeen(), CLIENT_IP, 'disconnected, the client reaches the internet directly');
      assert.equal((await warrenCli(cl, ['up', '--socket', wc.socket])).code, 0);
      await waitForPing(cl, INET, 15_000);
      assert.equal(await sourceSeen(), EXIT_WAN);
    });

    test('with the kill switch, nothing goes around the tunnel, even after the exit node stops', async () => {
      const leaksBefore = await leakedPackets();
      // Some other software adds a more specific route that would bypass the tunnel.
      await cl.exec(['ip', 'route', 'add', '203.0.113.0/24', 'via', EXIT_IP, 'dev', clientIf]);
      try {
        assert.equal(await sourceSeen(), null, 'the bypassing connection is dropped');
        await we.stop();
        assert.equal((await ping(cl, INET, { count: 3, interval: 0.1 })).received, 0);
        assert.equal(await sourceSeen(), null);
        assert.equal(await leakedPackets(), leaksBefore, "the internet host saw nothing from the client's own address");
        const ks = (await cl.exec(['nft', 'list', 'ruleset'])).stdout;
        const dropped = Number(
          /counter packets (\d+) bytes \d+ drop comment "warren kill switch"/.exec(ks)?.[1] ?? '0',
        );
        assert.ok(dropped > 0, `the kill switch counted its drops:\n${ks}`);
      } finally {
        await cl.exec(['ip', 'route', 'del', '203.0.113.0/24'], { allowFailure: true });
      }
    });

    test('after the client stops, no rule, route, nft table or sysctl change of its remains', async () => {
      await wc.stop();
      const rules = (await cl.exec(['ip', '-4', 'rule', 'show'])).stdout;
      assert.doesNotMatch(rules, new RegExp(`^(${RULE_PREF_SUPPRESS}|${RULE_PREF_TUNNEL}):`, 'm'));
      assert.equal(
        (
          await cl.exec(['ip', '-4', 'route', 'show', 'table', String(FULL_TUNNEL_MARK)], { allowFailure: true })
        ).stdout.trim(),
        '',
      );
      assert.doesNotMatch((await cl.exec(['nft', 'list', 'tables'])).stdout, /warren_/);
      assert.equal((await cl.exec(['cat', '/proc/sys/net/ipv4/conf/all/src_valid_mark'])).stdout.trim(), '0');
      assert.equal(await sourceSeen(), CLIENT_IP, 'the machine reaches the internet normally again');
    });
  },
);
