// A helper killed with SIGKILL while a full tunnel with the kill switch and split DNS are in
// place: the kill switch keeps holding traffic (fail-closed, by design) and resolv.conf still
// names the dead nameserver. `warren status` must say so, with what to do, and exit 1;
// `warren cleanup` removes both, after which status reports a clean machine
// (docs/install.md, "After a crash").
//
//   client (cl) 192.0.2.1 ── 192.0.2.10 (ex): the exit node's address; no helper runs there,
//   the full tunnel goes in as soon as the route is chosen, handshake or not.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { Topology, describeE2E, genKeyPair, startWarren, type Namespace, type Warren } from './netns/index.js';
import { warrenCli } from './netns/warren.js';
import { identityFromPublicKey } from '../src-shared/lib/identity.js';
import { RULE_PREF_TUNNEL } from '../helper/src/router/full-tunnel.js';
import type { HelperDownReport } from '../src-shared/wire/leftovers.js';

const CLIENT_IP = '192.0.2.1';
const EXIT_IP = '192.0.2.10';
const VIP = '100.64.0.1';
// The namespace's own resolv.conf: `ip netns exec` bind-mounts /etc/netns/NAME/resolv.conf.
const UPSTREAM = 'nameserver 192.0.2.53\n';

describeE2E(
  'a helper killed with its kill switch on',
  { warren: true, binaries: ['nft'] },
  { timeout: 120_000 },
  () => {
    let topo: Topology;
    let cl: Namespace;
    let w: Warren;
    let resolvConf = '';

    const tables = async (): Promise<string> => (await cl.exec(['nft', 'list', 'tables'])).stdout;
    const tunnelRule = async (): Promise<boolean> =>
      new RegExp(`^${RULE_PREF_TUNNEL}:`, 'm').test((await cl.exec(['ip', '-4', 'rule', 'show'])).stdout);
    const status = (...extra: string[]) => warrenCli(cl, ['status', '--socket', w.socket, ...extra]);

    before(async () => {
      topo = Topology.create();
      cl = await topo.addNamespace('cl');
      const ex = await topo.addNamespace('ex');
      await topo.link(cl, ex, `${CLIENT_IP}/24`, `${EXIT_IP}/24`);
      await cl.exec(['ip', 'route', 'add', 'default', 'via', EXIT_IP]);
      const dir = `/etc/netns/${cl.name}`;
      mkdirSync(dir, { recursive: true });
      resolvConf = `${dir}/resolv.conf`;
      writeFileSync(resolvConf, UPSTREAM);
      const exit = genKeyPair();
      w = await startWarren(
        cl,
        {
          PrivateKey: genKeyPair().privateKey,
          ListenPort: 51820,
          VirtualAddress: VIP,
          Adapter: { Name: topo.ifname('w') },
          Peers: [
            { Name: 'exit', PublicKey: exit.publicKey, Endpoint: `${EXIT_IP}:51820`, AllowedIPs: ['100.64.0.10/32'] },
          ],
          ExitNode: {
            AvailableRoutes: { [identityFromPublicKey(Buffer.from(exit.publicKey, 'base64'))]: ['0.0.0.0/0'] },
            KillSwitch: true,
          },
        },
        { name: 'warren-killed' },
      );
    });
    // The namespaces take their nft tables, rules and links along; /etc/netns/NAME goes with them.
    after(async () => {
      await topo?.destroy();
    });

    test('after SIGKILL, status reports the kill switch and the dead nameserver, and says what to do', async () => {
      assert.match(await tables(), /table inet warren_ft_/, 'the full tunnel is in place before the kill');
      assert.match(readFileSync(resolvConf, 'utf8'), new RegExp(`^nameserver ${VIP.replace(/\./g, '\\.')}$`, 'm'));
      w.proc.signal('SIGKILL');
      await w.proc.exited;
      // Fail-closed: nothing undid the kill switch or the DNS change.
      assert.match(await tables(), /warren_ft_/);
      assert.ok(await tunnelRule());

      const r = await status();
      assert.equal(r.code, 1, `exit ${r.code}: ${r.stderr}`);
      assert.match(r.stderr, /it left a full tunnel with the kill switch on: .*blocked \(fail-closed\)/);
      assert.match(r.stderr, new RegExp(`DNS pointing at Warren's nameserver ${VIP.replace(/\./g, '\\.')}`));
      assert.match(r.stderr, new RegExp(`pid ${w.pid} is gone`));
      assert.match(r.stderr, /`sudo warren start`.*`sudo warren cleanup`/s);

      const j = await status('--json');
      assert.equal(j.code, 1);
      const report = JSON.parse(j.stdout) as HelperDownReport;
      assert.equal(report.stop, 'left-changes');
      assert.equal(report.source, 'state-dir');
      assert.equal(report.where, w.stateDir, 'without --state-dir, the record beside the socket names it');
      assert.deepEqual(report.leftovers?.fullTunnel, { killSwitch: true });
      assert.equal(report.leftovers?.dns?.kind, 'resolv.conf');
    });

    test('warren cleanup removes the kill switch and the DNS entry, and status then reports a clean machine', async () => {
      const c = await warrenCli(cl, ['cleanup', '--socket', w.socket, '--state-dir', w.stateDir]);
      assert.equal(c.code, 0, `cleanup exit ${c.code}: ${c.stdout}${c.stderr}`);
      assert.doesNotMatch(await tables(), /warren_/);
      assert.equal(await tunnelRule(), false);
      assert.equal(readFileSync(resolvConf, 'utf8'), UPSTREAM, 'resolv.conf is as it was');

      const r = await status();
      assert.equal(r.code, 1, 'the helper still does not run');
      assert.match(r.stderr, /nothing of it is left on this machine/);
      assert.doesNotMatch(r.stderr, /kill switch|cleanup/);
      const j = JSON.parse((await status('--json')).stdout) as HelperDownReport;
      assert.equal(j.stop, 'clean');
    });
  },
);
