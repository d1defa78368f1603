// Scenario 5: the helper's lifecycle on the machine. SIGTERM removes the adapter and its
// routes; after SIGKILL the next run with the same profile cleans up and works; a bad
// profile is refused (exit 1, the key named) before any adapter exists (docs/profile.md).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, test } from 'node:test';
import {
  Topology,
  describeE2E,
  genKeyPair,
  pairLayout,
  startWarren,
  startWireguardGo,
  waitForPing,
  warrenCli,
  warrenProfile,
  type KeyPair,
  type Namespace,
  type PairLayout,
} from './netns/index.js';
import { statePath } from '../helper/src/daemon/state-file.js';

async function linkExists(ns: Namespace, ifname: string): Promise<boolean> {
  return (await ns.exec(['ip', 'link', 'show', 'dev', ifname], { allowFailure: true })).code === 0;
}

async function routesVia(ns: Namespace, ifname: string): Promise<string[]> {
  const out = (await ns.exec(['ip', '-4', 'route', 'show', 'table', 'all'])).stdout;
  return out.split('\n').filter((l) => new RegExp(`\\bdev ${ifname}\\b`).test(l));
}

describeE2E(
  'Warren lifecycle',
  { warren: true, binaries: ['wireguard-go', 'wg', 'ping'] },
  { timeout: 240_000 },
  () => {
    let topo: Topology;
    let l: PairLayout;
    const ka = genKeyPair();
    const kb = genKeyPair();
    let profile: Record<string, unknown>;
    let adapter: string;

    before(async () => {
      topo = Topology.create();
      l = await pairLayout(topo);
      adapter = topo.ifname('w');
      profile = warrenProfile({
        keys: ka,
        listenPort: 51820,
        virtualAddress: '100.64.0.1',
        adapter,
        peers: [{ publicKey: kb.publicKey, endpoint: `${l.bIp}:51820`, allowedIps: ['100.64.0.2/32'] }],
      });
      // A steady reference peer, so "works" means traffic flows, not just that status answers.
      await startWireguardGo(l.b, {
        privateKey: kb.privateKey,
        listenPort: 51820,
        address: '100.64.0.2/10',
        peers: [{ publicKey: ka.publicKey, allowedIps: ['100.64.0.1/32'] }],
      });
    });
    after(async () => {
      await topo?.destroy();
    });

    test('SIGTERM removes the adapter and its routes and exits 0', async () => {
      const w = await startWarren(l.a, profile, { name: 'term' });
      assert.ok(await linkExists(l.a, adapter));
      assert.notDeepEqual(await routesVia(l.a, adapter), []);
      await waitForPing(l.a, '100.64.0.2');
      const exit = await w.stop();
      assert.equal(exit.code, 0, `exit ${JSON.stringify(exit)}:\n${w.proc.output().slice(-3000)}`);
      assert.equal(await linkExists(l.a, adapter), false, 'adapter left behind');
      assert.deepEqual(await routesVia(l.a, adapter), []);
      const st = await warrenCli(l.a, ['status', '--json', '--socket', w.socket]);
      assert.equal(st.code, 1, 'status exits 1 when the helper is not running');
    });

    test('after SIGKILL the next run with the same profile cleans up and works', async (t) => {
      const killed = await startWarren(l.a, profile, { name: 'crash' });
      await waitForPing(l.a, '100.64.0.2');
      killed.proc.signal('SIGKILL');
      await killed.proc.exited;
      t.diagnostic(`adapter after SIGKILL: ${(await linkExists(l.a, adapter)) ? 'left behind' : 'gone'}`);
      // The kernel may take the TUN device with the process, but the state file stays: it is what
      // tells the next run that there is something to clean up (helper/src/daemon/state-file.ts).
      assert.ok(existsSync(statePath(killed.stateDir)), 'the killed helper left its state file');

      const w = await startWarren(l.a, profile, { name: 'crash' });
      assert.match(
        w.proc.output(),
        new RegExp(`cleaned up after a helper \\(pid ${killed.pid}\\) that did not stop cleanly: adapter ${adapter}`),
      );
      const links = (await l.a.exec(['ip', '-o', 'link', 'show'])).stdout
        .split('\n')
        .filter((x) => x.includes(`${adapter}:`));
      assert.equal(links.length, 1, links.join('\n'));
      const overlay = (await routesVia(l.a, adapter)).filter((r) => r.startsWith('100.64.0.0/10'));
      assert.equal(overlay.length, 1, `overlay routes: ${overlay.join(' | ')}`);
      await waitForPing(l.a, '100.64.0.2');
      assert.equal(typeof (await w.peer(kb.publicKey)).lastHandshake, 'number');
      assert.equal((await w.stop()).code, 0);
      assert.equal(await linkExists(l.a, adapter), false);
    });

    const badProfiles: { name: string; key: string; edit: (p: Record<string, unknown>, k: KeyPair) => void }[] = [
      {
        name: 'missing private key',
        key: 'PrivateKey',
        edit: (p) => {
          delete p.PrivateKey;
        },
      },
      {
        name: 'port out of range',
        key: 'ListenPort',
        edit: (p) => {
          p.ListenPort = 70000;
        },
      },
      {
        name: 'address outside the overlay',
        key: 'VirtualAddress',
        edit: (p) => {
          p.VirtualAddress = '10.1.2.3';
        },
      },
      {
        name: 'unknown key',
        key: 'Peerz',
        edit: (p) => {
          p.Peerz = [];
        },
      },
      {
        name: 'bad allowed IP',
        key: 'Peers[0].AllowedIPs[0]',
        edit: (p, k) => {
          p.Peers = [{ PublicKey: k.publicKey, AllowedIPs: ['100.64.0.2/33'] }];
        },
      },
      {
        name: 'short public key',
        key: 'Peers[0].PublicKey',
        edit: (p) => {
          p.Peers = [{ PublicKey: 'AAAA', AllowedIPs: [] }];
        },
      },
    ];
    for (const c of badProfiles) {
      test(`a bad profile (${c.name}) exits 1 naming ${c.key} and creates no adapter`, async () => {
        const badAdapter = topo.ifname('x');
        const p = warrenProfile({
          keys: genKeyPair(),
          listenPort: 51821,
          virtualAddress: '100.64.0.9',
          adapter: badAdapter,
          peers: [],
        });
        c.edit(p, kb);
        const file = topo.writeFile(`bad-${badAdapter}.profile`, JSON.stringify(p));
        const r = await warrenCli(l.a, [
          'run',
          '--profile',
          file,
          '--socket',
          topo.file(`bad-${badAdapter}.sock`),
          '--state-dir',
          topo.file('bad-state'),
        ]);
        assert.equal(r.code, 1, `exit ${r.code}: ${r.stderr}`);
        const msg = r.stderr + r.stdout;
        assert.ok(msg.includes(c.key), `error does not name ${c.key}: ${msg}`);
        assert.ok(msg.includes(file), `error does not name the file: ${msg}`);
        assert.equal(await linkExists(l.a, badAdapter), false);
      });
    }
  },
);
