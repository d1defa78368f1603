// The WireGuard underlay over IPv6: two Warren helpers whose veth carries IPv6 (and IPv4), each on
// its default dual-stack socket ("::"). A peer configured at [v6]:port is reached over IPv6, the
// other side learns that endpoint from the handshake and `warren status` shows it in brackets;
// the same socket still serves a peer configured at an IPv4 address.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  Topology,
  describeE2E,
  genKeyPair,
  pairLayout,
  ping,
  startWarren,
  tcpTransfer,
  waitForPing,
  warrenProfile,
  type PairLayout,
  type Warren,
} from './netns/index.js';

const MB = 1024 * 1024;
const A6 = '2001:db8:6::1';
const B6 = '2001:db8:6::2';

describeE2E('Warren pair over an IPv6 underlay', { warren: true, binaries: ['ping'] }, { timeout: 300_000 }, () => {
  let topo: Topology;
  let l: PairLayout;
  let wa: Warren;
  let wb: Warren;
  const ka = genKeyPair();
  const kb = genKeyPair();

  before(async () => {
    topo = Topology.create();
    l = await pairLayout(topo);
    // nodad: the addresses are usable at once instead of after duplicate address detection.
    await l.a.exec(['ip', '-6', 'addr', 'add', `${A6}/64`, 'dev', l.aIf, 'nodad']);
    await l.b.exec(['ip', '-6', 'addr', 'add', `${B6}/64`, 'dev', l.bIf, 'nodad']);
    wa = await startWarren(
      l.a,
      warrenProfile({
        keys: ka,
        listenPort: 51820,
        virtualAddress: '100.64.0.1',
        adapter: topo.ifname('w'),
        peers: [{ name: 'b', publicKey: kb.publicKey, endpoint: `[${B6}]:51820`, allowedIps: ['100.64.0.2/32'] }],
      }),
    );
    // b knows no endpoint for a: it learns one from a's handshake.
    wb = await startWarren(
      l.b,
      warrenProfile({
        keys: kb,
        listenPort: 51820,
        virtualAddress: '100.64.0.2',
        adapter: topo.ifname('w'),
        peers: [{ name: 'a', publicKey: ka.publicKey, allowedIps: ['100.64.0.1/32'] }],
      }),
    );
  });
  after(async () => {
    await topo?.destroy();
  });

  test('the helpers listen on one dual-stack UDP socket ([::]:51820)', async () => {
    for (const ns of [l.a, l.b]) {
      const ss = (await ns.exec(['ss', '-u', '-a', '-n'])).stdout;
      assert.match(ss, /\[::\]:51820\b|\*:51820\b/, ss);
    }
  });

  test('pings cross the tunnel both ways and each side shows the other at its IPv6 endpoint', async () => {
    await waitForPing(l.a, '100.64.0.2');
    const ab = await ping(l.a, '100.64.0.2', { count: 10, interval: 0.05 });
    assert.equal(ab.received, 10, `a->b loss ${ab.lossPct}%`);
    const ba = await ping(l.b, '100.64.0.1', { count: 10, interval: 0.05 });
    assert.equal(ba.received, 10, `b->a loss ${ba.lossPct}%`);
    assert.equal((await wa.peer(kb.publicKey)).endpoint, `[${B6}]:51820`);
    assert.equal((await wb.peer(ka.publicKey)).endpoint, `[${A6}]:51820`, 'b learned the IPv6 source');
  });

  test('a 20 MB stream over the IPv6 underlay arrives intact', async (t) => {
    const r = await tcpTransfer(l.a, l.b, '100.64.0.2', 20 * MB);
    assert.equal(r.recvBytes, 20 * MB);
    assert.equal(r.recvSha, r.sentSha);
    t.diagnostic(`a->b ${r.mbps.toFixed(0)} Mbit/s`);
  });
});
