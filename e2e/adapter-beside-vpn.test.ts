// Warren beside another VPN, in a namespace (docs/profile.md, "Beside other VPNs"): another
// program already has a link named warren0 and the route for Warren's overlay 100.64.0.0/10.
// A helper whose profile does not name its adapter takes warren1 and says so; it runs without
// the overlay route it cannot have (the IPv6 one it can add stays), and `warren status` reports
// that as a problem with what to do. Stopping, crashing and `warren cleanup` never touch the
// other program's link or route; a profile that names warren0 gets a clear error.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Topology, describeE2E, genKeyPair, startWarren, type Namespace } from './netns/index.js';
import { warrenCli } from './netns/warren.js';

const NET6 = 'fd12:3456:789a::/48';
// The UAPI socket lives in the shared filesystem: helpers in namespaces must not claim it.
const ENV = { ...process.env, WARREN_UAPI_DIR: 'off' };

describeE2E('adapter names and overlay routes beside another VPN', { warren: true }, { timeout: 120_000 }, () => {
  let topo: Topology;
  let ns: Namespace;
  let vpn = '';
  const profile = (extra: object = {}) => ({
    PrivateKey: genKeyPair().privateKey,
    ListenPort: 0,
    VirtualAddress: '100.64.0.1',
    VirtualAddress6: 'fd12:3456:789a::6440:1',
    VirtualNetwork6: NET6,
    Peers: [],
    ...extra,
  });
  const routes = async (): Promise<string> => (await ns.exec(['ip', 'route', 'show', '100.64.0.0/10'])).stdout.trim();
  const untouched = async (why: string): Promise<void> =>
    assert.match(await routes(), new RegExp(`^100\\.64\\.0\\.0/10 dev ${vpn} scope link$`), why);
  const links = async (): Promise<string> => (await ns.exec(['ip', '-o', 'link', 'show'])).stdout;

  before(async () => {
    topo = Topology.create();
    ns = await topo.addNamespace('adapter');
    vpn = topo.ifname('vpn');
    // The other program: a link named warren0 and a link that holds Warren's overlay route
    // (veth pairs: this kernel has no dummy links; both ends up, so the route has a carrier).
    await ns.exec(['ip', 'link', 'add', 'warren0', 'type', 'veth', 'peer', 'name', topo.ifname('o')]);
    const vpnPeer = topo.ifname('vpn');
    await ns.exec(['ip', 'link', 'add', vpn, 'type', 'veth', 'peer', 'name', vpnPeer]);
    for (const dev of [vpn, vpnPeer]) await ns.exec(['ip', 'link', 'set', dev, 'up']);
    await ns.exec(['ip', 'route', 'add', '100.64.0.0/10', 'dev', vpn]);
  });
  after(async () => {
    await topo?.destroy();
  });

  test('warren0 taken: the helper uses warren1 and reports the route another VPN holds', async () => {
    const w = await startWarren(ns, profile(), { name: 'adapter-fallback', env: ENV });
    try {
      const s = await w.status();
      assert.equal(s.adapter, 'warren1');
      assert.deepEqual(s.adapterTaken, ['warren0']);
      assert.equal(s.state, 'connected', 'the tunnel stays up without the route');
      const problem = (s.problems ?? []).find((p) => p.includes('100.64.0.0/10'));
      assert.ok(problem, JSON.stringify(s.problems));
      assert.match(problem, new RegExp(`held by another program's route via ${vpn}`));
      assert.match(problem, /Stop the other VPN .*set another VirtualNetwork in the profile/);
      const human = await warrenCli(ns, ['status', '--socket', w.socket]);
      assert.match(human.stdout, /on warren1 \(warren0 is taken by another program\)/);
      assert.match(human.stdout, /^Problem: +the overlay route 100\.64\.0\.0\/10 is held/m);
      assert.doesNotMatch(human.stdout + JSON.stringify(s), /RTNETLINK|File exists/);
      // The IPv6 overlay route, which nobody held, is Warren's.
      await untouched('the other route is as it was while the helper runs');
      assert.match((await ns.exec(['ip', '-6', 'route', 'show', NET6])).stdout, /dev warren1 /);
      assert.match(w.proc.output(), /warren0 is taken by another program .*uses warren1/);
      const record = JSON.parse(readFileSync(join(w.stateDir, 'helper.json'), 'utf8')) as { adapter: string };
      assert.equal(record.adapter, 'warren1', 'crash recovery knows the name in use');
    } finally {
      assert.equal((await w.stop()).code, 0);
    }
    await untouched('stop leaves the other route alone');
    assert.match(await links(), /: warren0@/, "the other program's warren0 is still there");
    assert.doesNotMatch(await links(), /: warren1: /);
  });

  test('after a crash, warren cleanup removes what the record names and nothing of the other program', async () => {
    const w = await startWarren(ns, profile(), { name: 'adapter-crash', env: ENV });
    w.proc.signal('SIGKILL');
    await w.proc.exited;
    const c = await warrenCli(ns, ['cleanup', '--socket', w.socket, '--state-dir', w.stateDir]);
    assert.equal(c.code, 0, `cleanup exit ${c.code}: ${c.stdout}${c.stderr}`);
    await untouched('cleanup leaves the other route alone');
    assert.match(await links(), /: warren0@/);
    assert.doesNotMatch(await links(), /: warren1: /);
  });

  test('a profile that names warren0 keeps a clear error', async () => {
    await assert.rejects(
      startWarren(ns, profile({ Adapter: { Name: 'warren0' } }), { name: 'adapter-named', env: ENV }),
      /adapter warren0 is taken by another program \(a link of that name exists.*set another Adapter\.Name/s,
    );
    assert.match(await links(), /: warren0@/);
  });
});
