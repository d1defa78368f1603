// Large MTUs in the helper: two helpers with an adapter MTU of 65,000 over a veth that carries
// 65,535-byte frames (as the WireGuard project's netns scenarios set it). A ping that fills the
// MTU exactly, with fragmentation forbidden, crosses whole over IPv4 and IPv6 inside; one byte
// more is refused by the sender's own stack; a TCP transfer uses the large segments.
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
  type PairLayout,
} from './netns/index.js';

const MTU = 65_000;
const MB = 1024 * 1024;
const V6 = { a: 'fd12:3456:789a::1', b: 'fd12:3456:789a::2' };

describeE2E('helpers with a jumbo MTU', { warren: true, binaries: ['ping'] }, { timeout: 180_000 }, () => {
  let topo: Topology;
  let l: PairLayout;
  const keys = { a: genKeyPair(), b: genKeyPair() };

  before(async () => {
    topo = Topology.create();
    l = await pairLayout(topo);
    await l.a.exec(['ip', 'link', 'set', l.aIf, 'mtu', '65535']);
    await l.b.exec(['ip', 'link', 'set', l.bIf, 'mtu', '65535']);
    for (const [me, other, ip] of [
      ['a', 'b', l.bIp],
      ['b', 'a', l.aIp],
    ] as const) {
      await startWarren(l[me], {
        PrivateKey: keys[me].privateKey,
        ListenPort: 51820,
        VirtualAddress: me === 'a' ? '100.64.0.1' : '100.64.0.2',
        VirtualAddress6: V6[me],
        Adapter: { Name: topo.ifname('w'), Mtu: MTU },
        Peers: [
          {
            PublicKey: keys[other].publicKey,
            Endpoint: `${ip}:51820`,
            AllowedIPs: [me === 'a' ? '100.64.0.2/32' : '100.64.0.1/32', `${V6[other]}/128`],
          },
        ],
      });
    }
  });
  after(async () => {
    await topo?.destroy();
  });

  test('a ping filling the 65,000-byte MTU crosses whole over IPv4 and IPv6 inside, one byte more is refused', async () => {
    await waitForPing(l.a, '100.64.0.2');
    // ICMP payload = MTU - IP header - 8-byte ICMP header (20 bytes for IPv4, 40 for IPv6).
    const v4 = await ping(l.a, '100.64.0.2', { count: 3, interval: 0.1, size: MTU - 28, dontFragment: true });
    assert.equal(v4.received, 3, 'IPv4 inside');
    await waitForPing(l.a, V6.b);
    const v6 = await ping(l.a, V6.b, { count: 3, interval: 0.1, size: MTU - 48, dontFragment: true });
    assert.equal(v6.received, 3, 'IPv6 inside');
    const over = await l.a.exec(
      ['ping', '-n', '-c', '1', '-W', '1', '-M', 'do', '-s', String(MTU - 27), '100.64.0.2'],
      {
        allowFailure: true,
      },
    );
    assert.notEqual(over.code, 0, `a packet over the MTU must not go out whole:\n${over.stdout}${over.stderr}`);
  });

  test('TCP through the jumbo tunnel moves 32 MB intact', async () => {
    const r = await tcpTransfer(l.a, l.b, '100.64.0.2', 32 * MB);
    assert.equal(r.recvBytes, 32 * MB);
    assert.equal(r.recvSha, r.sentSha, 'the received bytes match what was sent');
  });
});
