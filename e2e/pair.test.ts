// Scenario 1: two Warren helpers in two namespaces joined by a veth: ping both ways, status
// shows each other with a handshake and traffic, and large TCP streams arrive intact.
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
  warrenCli,
  warrenProfile,
  type PairLayout,
  type Warren,
  jsSliceWords,
} from './netns/index.js';
import { WARM_UP_ROUND_TRIPS } from '../helper/src/daemon/warm-up.js';

const MB = 1024 * 1024;

describeE2E('Warren pair over veth', { warren: true, binaries: ['ping'] }, { timeout: 300_000 }, () => {
  let topo: Topology;
  let l: PairLayout;
  let wa: Warren;
  let wb: Warren;
  const ka = genKeyPair();
  const kb = genKeyPair();
  const adapters = { a: '', b: '' };

  before(async () => {
    topo = Topology.create();
    l = await pairLayout(topo);
    adapters.a = topo.ifname('w');
    adapters.b = topo.ifname('w');
    wa = await startWarren(
      l.a,
      warrenProfile({
        keys: ka,
        listenPort: 51820,
        virtualAddress: '100.64.0.1',
        adapter: adapters.a,
        peers: [{ name: 'b', publicKey: kb.publicKey, endpoint: `${l.bIp}:51820`, allowedIps: ['100.64.0.2/32'] }],
      }),
    );
    wb = await startWarren(
      l.b,
      warrenProfile({
        keys: kb,
        listenPort: 51820,
        virtualAddress: '100.64.0.2',
        adapter: adapters.b,
        peers: [{ name: 'a', publicKey: ka.publicKey, endpoint: `${l.aIp}:51820`, allowedIps: ['100.64.0.1/32'] }],
      }),
    );
  });
  after(async () => {
    await topo?.destroy();
  });

  test('each adapter carries its virtual address, MTU and the overlay route', async () => {
    for (const [ns, ifname, addr] of [
      [l.a, adapters.a, '100.64.0.1'],
      [l.b, adapters.b, '100.64.0.2'],
    ] as const) {
      const link = (await ns.exec(['ip', '-o', 'addr', 'show', 'dev', ifname])).stdout;
      assert.match(link, new RegExp(`inet ${addr.replaceAll('.', '\\.')}/`));
      const mtu = (await ns.exec(['cat', `/sys/class/net/${ifname}/mtu`])).stdout.trim();
      assert.equal(mtu, '1420');
      const route = (await ns.exec(['ip', 'route', 'show', '100.64.0.0/10'])).stdout;
      assert.match(route, new RegExp(`dev ${ifname}`));
    }
  });

  test('pings both ways', async () => {
    await waitForPing(l.a, '100.64.0.2');
    const ab = await ping(l.a, '100.64.0.2', { count: 10, interval: 0.05 });
    assert.equal(ab.received, 10, `a->b loss ${ab.lossPct}%`);
    const ba = await ping(l.b, '100.64.0.1', { count: 10, interval: 0.05 });
    assert.equal(ba.received, 10, `b->a loss ${ba.lossPct}%`);
  });

  test('status --json on both shows the peer with a handshake and bytes both ways', async () => {
    await waitForPing(l.a, '100.64.0.2');
    await ping(l.b, '100.64.0.1', { count: 2, interval: 0.05 });
    for (const [w, self, peer, peerIp] of [
      [wa, ka, kb, l.bIp],
      [wb, kb, ka, l.aIp],
    ] as const) {
      const s = await w.status();
      assert.equal(s.publicKey, self.publicKey);
      assert.equal(s.listenPort, 51820);
      assert.equal(s.mode, 'static');
      assert.equal(s.peers.length, 1);
      const p = await w.peer(peer.publicKey);
      assert.ok(p.lastHandshake !== null && p.lastHandshake > Date.now() - 60_000, `${w.name}: ${JSON.stringify(p)}`);
      assert.ok(p.rxBytes > 0 && p.txBytes > 0, `${w.name}: ${JSON.stringify(p)}`);
      assert.equal(p.online, true, `${w.name}: a recent handshake is online in status --json`);
      assert.equal(p.endpoint, `${peerIp}:51820`);
      assert.deepEqual(p.allowedIps, [peerIp === l.bIp ? '100.64.0.2/32' : '100.64.0.1/32']);
    }
  });

  test('100 MB a->b and 10 MB b->a arrive with identical sha256', async (t) => {
    const ab = await tcpTransfer(l.a, l.b, '100.64.0.2', 100 * MB);
    assert.equal(ab.recvBytes, 100 * MB);
    assert.equal(ab.recvSha, ab.sentSha);
    const ba = await tcpTransfer(l.b, l.a, '100.64.0.1', 10 * MB);
    assert.equal(ba.recvBytes, 10 * MB);
    assert.equal(ba.recvSha, ba.sentSha);
    t.diagnostic(`a->b ${ab.mbps.toFixed(0)} Mbit/s, b->a ${ba.mbps.toFixed(0)} Mbit/s`);
    const p = await wb.peer(ka.publicKey);
    assert.ok(p.rxBytes >= 100 * MB, `b counted ${p.rxBytes} bytes received`);
  });

  test('each helper warmed its packet path up in memory before its device started', async () => {
    for (const w of [wa, wb]) {
      const o = (await w.status()).offloads;
      // All of them on a quiet machine; a loaded one may end the warm-up at its time budget.
      const trips = o?.warmUpRoundTrips ?? 0;
      assert.ok(trips >= 1 && trips <= WARM_UP_ROUND_TRIPS, `${w.name}: ${JSON.stringify(o)}`);
      assert.equal(typeof o?.warmUpMs, 'number', `${w.name}: ${JSON.stringify(o)}`);
    }
  });

  test('after the transfers both helpers still use UDP GSO/GRO and the TUN offloads', async () => {
    // Linux 4.18+/5.0+ and veth take both, so neither was refused on the way (a refusal turns
    // GSO off for the socket: native/src/sendmmsg.c).
    for (const w of [wa, wb]) {
      const { udpGso, udpGro, tunTso, tunGro } = (await w.status()).offloads ?? {};
      assert.deepEqual(
        { udpGso, udpGro, tunTso, tunGro },
        { udpGso: true, udpGro: true, tunTso: true, tunGro: true },
        w.name,
      );
      const human = await warrenCli(w.ns, ['status', '--socket', w.socket]);
      assert.match(
        human.stdout,
        new RegExp(
          `^Offloads: +udp-gso on, udp-gro on, tun-tso on, tun-gro on, threads (off|\\d+), wake-ticker off, ${jsSliceWords()}, warm-up \\d+ms$`,
          'm',
        ),
        `${w.name}: ${human.stdout}`,
      );
    }
  });
});
