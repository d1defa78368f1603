// Exit node on a machine whose exit node uses iptables instead of nft (forced here with
// WARREN_FIREWALL_BACKEND=iptables, as a machine without the nft command would choose): the
// client reaches the printer behind the exit node with the exit node's LAN address as source,
// the printer cannot start traffic into the overlay (dropped and counted), and after the exit
// node stops, none of its chains or jumps remain and ip_forward is back.
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
  type Warren,
} from './netns/index.js';
import { nodeScript } from './netns/node-script.js';
import { identityFromPublicKey } from '../src-shared/lib/identity.js';

const LAN = '198.51.100.0/24';
const EXIT_LAN_IP = '198.51.100.1';
const PRINTER = '198.51.100.10';

// nft is needed only to check that the exit node made no table of its own with it.
describeE2E(
  'exit node with the iptables backend',
  { warren: true, binaries: ['ping', 'iptables', 'iptables-restore', 'iptables-save', 'nft'] },
  { timeout: 180_000 },
  () => {
    let topo: Topology;
    let cl: Namespace;
    let ex: Namespace;
    let printer: Namespace;
    let wc: Warren;
    let we: Warren;
    const kc = genKeyPair();
    const ke = genKeyPair();

    before(async () => {
      topo = Topology.create();
      cl = await topo.addNamespace('cl');
      ex = await topo.addNamespace('ex');
      printer = await topo.addNamespace('prn');
      await topo.link(cl, ex, '192.0.2.1/24', '192.0.2.10/24');
      await topo.link(ex, printer, `${EXIT_LAN_IP}/24`, `${PRINTER}/24`);
      await printer.exec(['ip', 'route', 'add', '100.64.0.0/10', 'via', EXIT_LAN_IP]);
      we = await startWarren(
        ex,
        {
          PrivateKey: ke.privateKey,
          ListenPort: 51820,
          VirtualAddress: '100.64.0.10',
          Adapter: { Name: topo.ifname('w') },
          Peers: [{ Name: 'client', PublicKey: kc.publicKey, AllowedIPs: ['100.64.0.1/32'] }],
          ExitNode: { ProvidesRoutes: [LAN] },
        },
        { name: 'warren-exit', env: { ...process.env, WARREN_FIREWALL_BACKEND: 'iptables' } },
      );
      wc = await startWarren(
        cl,
        {
          PrivateKey: kc.privateKey,
          ListenPort: 51820,
          VirtualAddress: '100.64.0.1',
          Adapter: { Name: topo.ifname('w') },
          Peers: [
            { Name: 'exit', PublicKey: ke.publicKey, Endpoint: '192.0.2.10:51820', AllowedIPs: ['100.64.0.10/32'] },
          ],
          ExitNode: { AvailableRoutes: { [identityFromPublicKey(Buffer.from(ke.publicKey, 'base64'))]: [LAN] } },
        },
        { name: 'warren-client' },
      );
    });
    after(async () => {
      await topo?.destroy();
    });

    test('the rules are iptables chains of its own, and nft tables are not used', async () => {
      const saved = (await ex.exec(['iptables-save'])).stdout;
      assert.match(saved, /^-A POSTROUTING -j WRN-\S+-NAT$/m);
      assert.match(saved, /^-A FORWARD -j WRN-\S+-FWD$/m);
      assert.match(
        saved,
        new RegExp(
          `-s 100\\.64\\.0\\.0/10 -d ${LAN.replace(/\./g, '\\.')} -o \\S+ -j SNAT --to-source ${EXIT_LAN_IP.replace(/\./g, '\\.')}`,
        ),
      );
      assert.equal((await ex.exec(['cat', '/proc/sys/net/ipv4/ip_forward'])).stdout.trim(), '1');
      // iptables here may be iptables-nft, whose tables ("ip nat", "ip filter") nft lists too; the
      // exit node's own nft table (warren_exit_<adapter>, helper/src/exitnode/nft.ts) must not exist.
      const tables = (await ex.exec(['nft', 'list', 'tables'])).stdout;
      assert.doesNotMatch(tables, /warren/, `nft tables in the exit namespace:\n${tables}`);
    });

    test('the client reaches the printer, which sees the exit node; the printer cannot start anything', async () => {
      await waitForPing(cl, PRINTER, 15_000);
      assert.equal((await ping(cl, PRINTER, { count: 5, interval: 0.05 })).received, 5);
      const server = printer.spawn([...nodeScript('tcp-probe'), 'serve', PRINTER, '9100'], { name: 'printer-9100' });
      await server.waitFor(/listening/, 10_000);
      const probe = cl.spawn([...nodeScript('tcp-probe'), 'connect', PRINTER, '9100', '100'], { name: 'probe' });
      try {
        const m = await server.waitFor(/\{"peer":"([^"]*)"\}/, 10_000);
        assert.equal(m[1]!.replace('::ffff:', ''), EXIT_LAN_IP);
      } finally {
        await Promise.all([probe.stop(500), server.stop(500)]);
      }
      const out = await printer.exec(['ping', '-c', '3', '-i', '0.1', '-W', '1', '100.64.0.1'], { allowFailure: true });
      assert.notEqual(out.code, 0, 'the printer cannot reach the client');
      await waitUntil(
        'the exit node counts the drops',
        async () => (((await we.status()).unsolicitedFromSubnets ?? 0) >= 3 ? true : undefined),
        10_000,
        250,
      );
    });

    test('after the exit node stops, nothing of it remains', async () => {
      await we.stop();
      await wc.stop();
      assert.doesNotMatch((await ex.exec(['iptables-save'])).stdout, /WRN-/);
      assert.equal((await ex.exec(['cat', '/proc/sys/net/ipv4/ip_forward'])).stdout.trim(), '0');
    });
  },
);
