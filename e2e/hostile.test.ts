// Scenario 4: hostile UDP at a helper's port. A's traffic to B passes through a relay in the
// router namespace that records real WireGuard datagrams; then the relay replays them and a
// fuzzer sends 5000 random, truncated and malformed datagrams. B must keep running, keep
// working, and count what it dropped (replays as 'replayed-counter', WireGuard whitepaper
// §5.4.6; the rest under their own reasons).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  Topology,
  describeE2E,
  genKeyPair,
  ping,
  routedLayout,
  startUdpRelay,
  startWarren,
  tcpTransfer,
  udpFuzz,
  udpKernelDrops,
  waitForPing,
  waitUntil,
  warrenProfile,
} from './netns/index.js';

const MB = 1024 * 1024;
const FUZZ = 5000;

function sum(r: Record<string, number>): number {
  return Object.values(r).reduce((a, b) => a + b, 0);
}

function delta(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(after)
      .map(([k, v]) => [k, v - (before[k] ?? 0)])
      .filter(([, v]) => v !== 0),
  );
}

describeE2E('Warren under hostile UDP', { warren: true, binaries: ['ping'] }, { timeout: 240_000 }, () => {
  test(`survives replays and ${FUZZ} malformed datagrams, and counts them`, async (t) => {
    const topo = Topology.create();
    try {
      const l = await routedLayout(topo);
      const ka = genKeyPair();
      const kb = genKeyPair();
      const relay = await startUdpRelay(l.r, {
        listenIp: l.rA,
        listenPort: 40000,
        targetIp: l.bIp,
        targetPort: 51820,
        outIp: l.rB,
      });
      await startWarren(
        l.a,
        warrenProfile({
          keys: ka,
          listenPort: 51820,
          virtualAddress: '100.64.0.1',
          adapter: topo.ifname('w'),
          peers: [{ publicKey: kb.publicKey, endpoint: relay.endpoint, allowedIps: ['100.64.0.2/32'] }],
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
      const tr = await tcpTransfer(l.a, l.b, '100.64.0.2', 2 * MB);
      assert.equal(tr.recvSha, tr.sentSha);
      assert.equal((await wb.peer(ka.publicKey)).endpoint, `${l.rB}:${relay.outPort}`);

      const { recorded } = await relay.counts();
      assert.ok(recorded > 200, `relay recorded only ${recorded} datagrams`);
      const before = (await wb.status()).drops;
      const kernelBefore = await udpKernelDrops(l.b);

      const replayed = await relay.replay();
      const fuzz = await udpFuzz(l.r, l.bIp, 51820, FUZZ);
      assert.equal(replayed, recorded);
      assert.equal(fuzz.sent, FUZZ);

      assert.ok(wb.proc.running, `B died:\n${wb.proc.output().slice(-3000)}`);
      const ab = await ping(l.a, '100.64.0.2', { count: 5, interval: 0.05 });
      assert.equal(ab.received, 5, 'a->b ping after the storm');
      const ba = await ping(l.b, '100.64.0.1', { count: 5, interval: 0.05 });
      assert.equal(ba.received, 5, 'b->a ping after the storm');

      const kernel = (await udpKernelDrops(l.b)) - kernelBefore;
      // Handshake-sized messages wait in the handshake queue, which drains on a bounded share
      // of the CPU; on a slow machine the last of them are judged (and counted) a second or
      // so after the storm, so the counts are read once they account for the whole storm, or
      // as they stand after the wait.
      let d: Record<string, number> = {};
      const counting = Date.now();
      await waitUntil(
        'the drop counts to cover the storm',
        async () => {
          d = delta((await wb.status()).drops, before);
          return sum(d) + kernel >= FUZZ + replayed ? true : undefined;
        },
        20_000,
        200,
      ).catch(() => undefined);
      t.diagnostic(
        `drops: ${JSON.stringify(d)}; kernel dropped ${kernel}; counted ${Date.now() - counting} ms after the pings`,
      );
      // The bounds below forgive what the kernel dropped; were that most of the storm, they
      // would check nothing, so the run must have reached the helper for the most part.
      assert.ok(
        kernel < (FUZZ + replayed) / 10,
        `the kernel dropped ${kernel} of ${FUZZ + replayed} datagrams: too many to judge the helper`,
      );
      // Nearly all recorded datagrams are transport data of the live session, so replays of
      // them must be refused by the replay window.
      assert.ok(
        (d['replayed-counter'] ?? 0) >= recorded * 0.9 - kernel,
        `replayed-counter ${d['replayed-counter'] ?? 0} for ${recorded} replays: ${JSON.stringify(d)}`,
      );
      const others = sum(d) - (d['replayed-counter'] ?? 0);
      assert.ok(others >= FUZZ - kernel, `only ${others} of ${FUZZ} fuzz datagrams counted: ${JSON.stringify(d)}`);
      // Every hostile datagram the kernel delivered is refused under some reason.
      assert.ok(sum(d) + kernel >= FUZZ + replayed, `drops ${sum(d)} + kernel ${kernel} < ${FUZZ + replayed}`);
    } finally {
      await topo.destroy();
    }
  });
});
