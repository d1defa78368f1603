// Connect, disconnect and live peer changes on a running helper: `warren down` really stops
// traffic (and `up` restores it) without stopping the helper; a reload that removes or adds a
// peer applies at once, without a restart.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import {
  Topology,
  describeE2E,
  genKeyPair,
  pairLayout,
  ping,
  startWarren,
  waitForPing,
  warrenCli,
  warrenProfile,
  type PairLayout,
  type Warren,
} from './netns/index.js';

describeE2E('connect, disconnect and live peers', { warren: true, binaries: ['ping'] }, { timeout: 180_000 }, () => {
  let topo: Topology;
  let l: PairLayout;
  let wa: Warren;
  let wb: Warren;
  const ka = genKeyPair();
  const kb = genKeyPair();
  let profileB: (withA: boolean) => object;

  before(async () => {
    topo = Topology.create();
    l = await pairLayout(topo);
    wa = await startWarren(
      l.a,
      warrenProfile({
        keys: ka,
        listenPort: 51820,
        virtualAddress: '100.64.0.1',
        adapter: topo.ifname('w'),
        peers: [{ name: 'b', publicKey: kb.publicKey, endpoint: `${l.bIp}:51820`, allowedIps: ['100.64.0.2/32'] }],
      }),
    );
    const adapterB = topo.ifname('w');
    profileB = (withA) =>
      warrenProfile({
        keys: kb,
        listenPort: 51820,
        virtualAddress: '100.64.0.2',
        adapter: adapterB,
        peers: withA
          ? [{ name: 'a', publicKey: ka.publicKey, endpoint: `${l.aIp}:51820`, allowedIps: ['100.64.0.1/32'] }]
          : [],
      });
    wb = await startWarren(l.b, profileB(true));
  });
  after(async () => {
    await topo?.destroy();
  });

  test('warren down stops traffic both ways and warren up restores it', async () => {
    await waitForPing(l.a, '100.64.0.2');
    const down = await warrenCli(l.a, ['down', '--socket', wa.socket]);
    assert.equal(down.code, 0, down.stderr);
    assert.match(down.stdout, /tunnel disconnected/);
    assert.equal((await wa.status()).state, 'disconnected');
    const out = await ping(l.a, '100.64.0.2', { count: 5, interval: 0.1 });
    assert.equal(out.received, 0, 'nothing crosses from the disconnected side');
    const back = await ping(l.b, '100.64.0.1', { count: 5, interval: 0.1 });
    assert.equal(back.received, 0, 'nothing reaches the disconnected side');
    assert.ok(((await wa.status()).drops.disconnected ?? 0) >= 5, 'the drops are counted as disconnected');
    assert.ok(wa.proc.running, 'the helper keeps running');
    const up = await warrenCli(l.a, ['up', '--socket', wa.socket]);
    assert.equal(up.code, 0, up.stderr);
    assert.equal((await wa.status()).state, 'connected');
    await waitForPing(l.a, '100.64.0.2', 15_000);
    const again = await ping(l.a, '100.64.0.2', { count: 5, interval: 0.05 });
    assert.equal(again.received, 5);
  });

  test('a reload removes and adds a peer without a restart', async () => {
    await waitForPing(l.a, '100.64.0.2');
    const pid = wb.pid;
    writeFileSync(wb.profilePath, JSON.stringify(profileB(false)));
    const r1 = await warrenCli(l.b, ['reload', '--socket', wb.socket]);
    assert.equal(r1.code, 0, r1.stderr);
    assert.equal((await wb.status()).peers.length, 0);
    const cut = await ping(l.a, '100.64.0.2', { count: 3, interval: 0.1 });
    assert.equal(cut.received, 0, 'b no longer accepts a');
    writeFileSync(wb.profilePath, JSON.stringify(profileB(true)));
    const r2 = await warrenCli(l.b, ['reload', '--socket', wb.socket]);
    assert.equal(r2.code, 0, r2.stderr);
    assert.match(r2.stdout, /peers, policies/);
    await waitForPing(l.a, '100.64.0.2', 15_000);
    assert.equal(wb.pid, pid);
    assert.ok(wb.proc.running);
  });
});
