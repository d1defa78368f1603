// Self-test of the e2e harness with wireguard-go on both sides (no Warren needed): pairs,
// checksummed transfers, the UDP relay and fuzzer, address moves, and that destroy and
// cleanupStale leave nothing behind.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  KEPT_LOGS_MARKER,
  Topology,
  cleanupStale,
  describeE2E,
  exec,
  genKeyPair,
  listNamespaces,
  moveAddress,
  pairLayout,
  ping,
  procStats,
  routedLayout,
  startUdpRelay,
  startWireguardGo,
  tcpTransfer,
  udpFuzz,
  waitForPing,
  type KeyPair,
  type PairLayout,
  type RoutedLayout,
  type WireguardGo,
} from './netns/index.js';

const MB = 1024 * 1024;

async function wgPair(l: PairLayout, ka: KeyPair, kb: KeyPair): Promise<[WireguardGo, WireguardGo]> {
  const a = await startWireguardGo(l.a, {
    privateKey: ka.privateKey,
    listenPort: 51820,
    address: '100.64.0.1/10',
    peers: [{ publicKey: kb.publicKey, endpoint: `${l.bIp}:51820`, allowedIps: ['100.64.0.2/32'] }],
  });
  const b = await startWireguardGo(l.b, {
    privateKey: kb.privateKey,
    listenPort: 51820,
    address: '100.64.0.2/10',
    peers: [{ publicKey: ka.publicKey, allowedIps: ['100.64.0.1/32'] }],
  });
  return [a, b];
}

describeE2E(
  'e2e harness (wireguard-go on both sides)',
  { binaries: ['wireguard-go', 'wg', 'ping'] },
  { timeout: 180_000 },
  () => {
    test('a wireguard-go pair pings and moves checksummed TCP both ways', async () => {
      const topo = Topology.create();
      try {
        const l = await pairLayout(topo);
        const ka = genKeyPair();
        const kb = genKeyPair();
        const [a, b] = await wgPair(l, ka, kb);
        await waitForPing(l.a, '100.64.0.2');
        const p = await ping(l.b, '100.64.0.1', { count: 5, interval: 0.05 });
        assert.equal(p.received, 5);
        assert.ok(p.avg > 0 && p.rtts.length === 5, JSON.stringify(p));

        const ab = await tcpTransfer(l.a, l.b, '100.64.0.2', 20 * MB);
        assert.equal(ab.recvBytes, 20 * MB);
        assert.equal(ab.recvSha, ab.sentSha);
        const ba = await tcpTransfer(l.b, l.a, '100.64.0.1', 5 * MB);
        assert.equal(ba.recvSha, ba.sentSha);
        assert.ok(ab.mbps > 1, `throughput ${ab.mbps} Mbit/s`);

        const [peerOfB] = await b.peers();
        assert.equal(peerOfB?.publicKey, ka.publicKey);
        assert.equal(peerOfB?.endpoint, `${l.aIp}:51820`, "b learned a's endpoint from its handshake");
        assert.ok((peerOfB?.rxBytes ?? 0) > 20 * MB);
        const st = procStats(a.pid);
        assert.ok(st.cpuSeconds > 0, `wireguard-go a used ${st.cpuSeconds} s of CPU moving 25 MB`);
        assert.ok(st.peakRssKiB > 1024, `peak RSS ${st.peakRssKiB} KiB`);
      } finally {
        await topo.destroy();
      }
    });

    test('destroy stops processes and removes namespaces, sockets and the run dir', async () => {
      const topo = Topology.create();
      const l = await pairLayout(topo);
      const [a] = await wgPair(l, genKeyPair(), genKeyPair());
      const sleeper = l.b.spawn(['sleep', '1000']);
      const names = topo.namespaceNames();
      assert.equal(names.length, 2);
      assert.ok(existsSync(`/var/run/wireguard/${a.ifname}.sock`));
      await topo.destroy();
      assert.equal(sleeper.exitSignal, 'SIGTERM');
      assert.equal(a.proc.running, false);
      const left = listNamespaces();
      for (const n of names) assert.ok(!left.includes(n), `${n} still exists`);
      assert.ok(!existsSync(`/var/run/wireguard/${a.ifname}.sock`));
      assert.ok(!existsSync(topo.dir));
      await topo.destroy(); // idempotent
    });

    test('cleanupStale removes leftovers of dead runs and keeps live ones, and logs kept on purpose', async () => {
      const topo = Topology.create();
      const deadPid = 99_999_999; // above any pid_max, so never alive
      const keptDir = mkdtempSync(join(tmpdir(), `wre2e-y${deadPid.toString(36)}-`));
      try {
        const live = await topo.addNamespace('live');
        const staleNs = `wre2e-z${deadPid.toString(36)}-stale`;
        await exec(['ip', 'netns', 'add', staleNs]);
        const staleDir = mkdtempSync(join(tmpdir(), `wre2e-z${deadPid.toString(36)}-`));
        writeFileSync(join(keptDir, KEPT_LOGS_MARKER), 'kept\n');
        writeFileSync(join(keptDir, 'warren.log'), 'a dead run kept with WARREN_E2E_KEEP_LOGS=1\n');
        const removed = cleanupStale();
        assert.deepEqual(removed, [staleNs]);
        const left = listNamespaces();
        assert.ok(!left.includes(staleNs));
        assert.ok(left.includes(live.name));
        assert.ok(!existsSync(staleDir));
        assert.ok(existsSync(topo.dir));
        assert.ok(existsSync(join(keptDir, 'warren.log')), 'a dead run whose logs were kept keeps them');
      } finally {
        rmSync(keptDir, { recursive: true, force: true });
        await topo.destroy();
      }
    });

    test('a switch namespace joins several hosts on one segment', async () => {
      const topo = Topology.create();
      try {
        const sw = await topo.addSwitch('internet');
        const hosts = await Promise.all(['h1', 'h2', 'h3'].map((h) => topo.addNamespace(h)));
        for (const [i, h] of hosts.entries()) await topo.attach(h, sw, `203.0.113.${i + 1}/24`);
        for (const [i, h] of hosts.entries()) {
          const dst = `203.0.113.${((i + 1) % hosts.length) + 1}`;
          const p = await ping(h, dst, { count: 2, interval: 0.05 });
          assert.equal(p.received, 2, `${h.short} -> ${dst}`);
        }
      } finally {
        await topo.destroy();
      }
    });

    test("exec rejects with the command's stderr", async () => {
      const topo = Topology.create();
      try {
        const ns = await topo.addNamespace('x');
        await assert.rejects(ns.exec(['ip', 'link', 'show', 'nosuchlink0']), /does not exist/);
        const r = await ns.exec(['ip', 'link', 'show', 'nosuchlink0'], { allowFailure: true });
        assert.notEqual(r.code, 0);
        await assert.rejects(ns.exec(['sleep', '5'], { timeoutMs: 200 }), /timed out/);
      } finally {
        await topo.destroy();
      }
    });

    describe('routed layout', () => {
      let topo: Topology;
      let l: RoutedLayout;
      let b: WireguardGo;
      let a: WireguardGo;
      const kb = genKeyPair();
      before(async () => {
        topo = Topology.create();
        l = await routedLayout(topo);
        const ka = genKeyPair();
        a = await startWireguardGo(l.a, {
          privateKey: ka.privateKey,
          listenPort: 51820,
          address: '100.64.0.1/10',
          peers: [{ publicKey: kb.publicKey, endpoint: `${l.bIp}:51820`, allowedIps: ['100.64.0.2/32'] }],
        });
        b = await startWireguardGo(l.b, {
          privateKey: kb.privateKey,
          listenPort: 51820,
          address: '100.64.0.2/10',
          peers: [{ publicKey: ka.publicKey, allowedIps: ['100.64.0.1/32'] }],
        });
        await waitForPing(l.a, '100.64.0.2');
      });
      after(async () => {
        await topo?.destroy();
      });

      // Slow by nature (about 30 s): Debian's wireguard-go (0.0.20220316) keeps sending from the
      // vanished source address until its 15 s handshake retry.
      test('wireguard-go follows a peer whose address moves mid-transfer', async () => {
        let moved: Promise<void> | undefined;
        const res = await tcpTransfer(l.a, l.b, '100.64.0.2', 30 * MB, {
          rateBytesPerSec: 10 * MB,
          onProgress: (sent) => {
            if (moved === undefined && sent > 8 * MB) {
              moved = moveAddress(l.a, l.aIf, '198.51.100.2/24', '198.51.100.3/24', l.rA);
              moved.catch(() => {
                /* awaited below */
              });
            }
          },
        });
        assert.ok(moved !== undefined, 'the address moved during the transfer');
        await moved;
        assert.equal(res.recvSha, res.sentSha);
        const [peer] = await b.peers();
        assert.equal(peer?.endpoint, '198.51.100.3:51820');
      });

      test('relay records and replays real datagrams; the fuzzer reaches the peer', async () => {
        const relay = await startUdpRelay(l.r, {
          listenIp: l.rA,
          listenPort: 40000,
          targetIp: l.bIp,
          targetPort: 51820,
          outIp: l.rB,
        });
        // a now reaches b only through the relay.
        await l.a.exec(['wg', 'set', a.ifname, 'peer', kb.publicKey, 'endpoint', relay.endpoint]);
        const res = await tcpTransfer(l.a, l.b, '100.64.0.2', 2 * MB);
        assert.equal(res.recvSha, res.sentSha);
        const [peer] = await b.peers();
        assert.equal(peer?.endpoint, `${l.rB}:${relay.outPort}`);
        const c = await relay.counts();
        assert.ok(c.recorded > 100, JSON.stringify(c));
        assert.equal(await relay.replay(), c.recorded);
        const fuzz = await udpFuzz(l.r, l.bIp, 51820, 2000);
        assert.equal(fuzz.sent, 2000);
        assert.equal(fuzz.kinds.type4, 400);
        assert.ok(b.proc.running);
        const p = await ping(l.a, '100.64.0.2', { count: 3, interval: 0.1 });
        assert.equal(p.received, 3);
      });
    });
  },
);
