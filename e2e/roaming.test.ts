// Scenario 3: A reaches B through a router; in the middle of a 50 MB transfer A's underlay
// address changes (a laptop changing networks). The stream survives intact and B follows A
// to its new endpoint (WireGuard whitepaper §2.1, endpoint roaming).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  Topology,
  describeE2E,
  genKeyPair,
  moveAddress,
  ping,
  routedLayout,
  startWarren,
  tcpTransfer,
  waitForPing,
  warrenProfile,
} from './netns/index.js';

const MB = 1024 * 1024;

describeE2E('Warren roaming', { warren: true, binaries: ['ping'] }, { timeout: 240_000 }, () => {
  test("a 50 MB transfer survives a change of A's address and B learns the new endpoint", async (t) => {
    const topo = Topology.create();
    try {
      const l = await routedLayout(topo);
      const ka = genKeyPair();
      const kb = genKeyPair();
      await startWarren(
        l.a,
        warrenProfile({
          keys: ka,
          listenPort: 51820,
          virtualAddress: '100.64.0.1',
          adapter: topo.ifname('w'),
          peers: [{ publicKey: kb.publicKey, endpoint: `${l.bIp}:51820`, allowedIps: ['100.64.0.2/32'] }],
        }),
      );
      const wb = await startWarren(
        l.b,
        warrenProfile({
          keys: kb,
          listenPort: 51820,
          virtualAddress: '100.64.0.2',
          adapter: topo.ifname('w'),
          peers: [{ publicKey: ka.publicKey, allowedIps: ['100.64.0.1/32'] }],
        }),
      );
      await waitForPing(l.a, '100.64.0.2');
      assert.equal((await wb.peer(ka.publicKey)).endpoint, `${l.aIp}:51820`);

      let moved: Promise<void> | undefined;
      let transferDone = false;
      let movedMidTransfer = false;
      const started = Date.now();
      const res = await tcpTransfer(l.a, l.b, '100.64.0.2', 50 * MB, {
        // Paced so the move lands well inside the transfer however fast the tunnel is.
        rateBytesPerSec: 10 * MB,
        onProgress: (sent) => {
          if (moved !== undefined || sent < 15 * MB) return;
          moved = moveAddress(l.a, l.aIf, '198.51.100.2/24', '198.51.100.3/24', l.rA).then(() => {
            movedMidTransfer = !transferDone;
          });
          moved.catch(() => {
            /* awaited below */
          });
        },
      });
      transferDone = true;
      await moved;
      assert.ok(movedMidTransfer, 'the address changed while the transfer was running');
      assert.equal(res.recvBytes, 50 * MB);
      assert.equal(res.recvSha, res.sentSha);
      t.diagnostic(`transfer took ${((Date.now() - started) / 1000).toFixed(1)} s`);

      assert.equal((await wb.peer(ka.publicKey)).endpoint, '198.51.100.3:51820');
      // B answers at the new address too.
      const back = await ping(l.b, '100.64.0.1', { count: 5, interval: 0.05 });
      assert.equal(back.received, 5);
    } finally {
      await topo.destroy();
    }
  });
});
