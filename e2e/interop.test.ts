// Scenario 2: Warren and wireguard-go interoperate, whichever side initiates the handshake
// (the initiator is the only side that knows an endpoint).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  Topology,
  describeE2E,
  genKeyPair,
  pairLayout,
  ping,
  startWarren,
  startWireguardGo,
  tcpTransfer,
  waitForPing,
  warrenProfile,
} from './netns/index.js';

const MB = 1024 * 1024;

const cases = [
  { name: 'Warren initiates', warrenInitiates: true },
  { name: 'wireguard-go initiates', warrenInitiates: false },
] as const;

describeE2E(
  'Warren <-> wireguard-go',
  { warren: true, binaries: ['wireguard-go', 'wg', 'ping'] },
  { timeout: 240_000 },
  () => {
    for (const c of cases) {
      test(`${c.name}: ping and a 20 MB checksummed transfer each way`, async (t) => {
        const topo = Topology.create();
        // wg(8) reports handshake times in whole seconds, so compare against the second we started.
        const startedSec = Math.floor(Date.now() / 1000) * 1000;
        try {
          const l = await pairLayout(topo);
          const kw = genKeyPair();
          const kg = genKeyPair();
          // Warren lives in a (100.64.0.1), wireguard-go in b (100.64.0.2).
          const warren = await startWarren(
            l.a,
            warrenProfile({
              keys: kw,
              listenPort: 51820,
              virtualAddress: '100.64.0.1',
              adapter: topo.ifname('w'),
              peers: [
                {
                  publicKey: kg.publicKey,
                  allowedIps: ['100.64.0.2/32'],
                  ...(c.warrenInitiates ? { endpoint: `${l.bIp}:51820` } : {}),
                },
              ],
            }),
          );
          const wg = await startWireguardGo(l.b, {
            privateKey: kg.privateKey,
            listenPort: 51820,
            address: '100.64.0.2/10',
            peers: [
              {
                publicKey: kw.publicKey,
                allowedIps: ['100.64.0.1/32'],
                ...(c.warrenInitiates ? {} : { endpoint: `${l.aIp}:51820` }),
              },
            ],
          });
          const [initiator, responderIp] = c.warrenInitiates ? [l.a, '100.64.0.2'] : [l.b, '100.64.0.1'];
          await waitForPing(initiator, responderIp);
          const ab = await ping(l.a, '100.64.0.2', { count: 5, interval: 0.05 });
          assert.equal(ab.received, 5);
          const ba = await ping(l.b, '100.64.0.1', { count: 5, interval: 0.05 });
          assert.equal(ba.received, 5);

          const up = await tcpTransfer(l.a, l.b, '100.64.0.2', 20 * MB);
          assert.equal(up.recvSha, up.sentSha);
          const down = await tcpTransfer(l.b, l.a, '100.64.0.1', 20 * MB);
          assert.equal(down.recvSha, down.sentSha);
          t.diagnostic(`warren->wg-go ${up.mbps.toFixed(0)} Mbit/s, wg-go->warren ${down.mbps.toFixed(0)} Mbit/s`);

          const p = await warren.peer(kg.publicKey);
          assert.equal(p.endpoint, `${l.bIp}:51820`);
          assert.ok(
            typeof p.lastHandshake === 'number' && p.lastHandshake >= startedSec,
            `Warren's handshake time: ${JSON.stringify(p)}`,
          );
          assert.ok(p.rxBytes >= 20 * MB && p.txBytes >= 20 * MB, JSON.stringify(p));
          const peers = await wg.peers();
          assert.equal(peers.length, 1, JSON.stringify(peers));
          const g = peers[0]!;
          assert.equal(g.publicKey, kw.publicKey);
          assert.equal(g.endpoint, `${l.aIp}:51820`);
          assert.ok(
            g.lastHandshake !== null && g.lastHandshake >= startedSec,
            `wireguard-go's handshake time: ${JSON.stringify(g)}`,
          );
        } finally {
          await topo.destroy();
        }
      });
    }
  },
);
