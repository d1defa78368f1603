// A responder that learns of a peer after the peer's initiation reached it: both sides are given
// each other by their own maps, and the initiator's map came first. Without the responder's
// help the initiator waits REKEY_TIMEOUT (§6.4) to try again; these devices run on a frozen
// clock, so no retry ever comes and only the responder's own initiation can bring the session up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIp } from '../../../../src-shared/lib/ip/addr.js';
import { prefix } from './fake-io.js';
import { pair, settle, udpPacket, until, type Node } from './testing.js';

const peerA = (pub: Buffer) => ({
  publicKey: pub,
  endpoint: { addr: parseIp('192.0.2.1')!, port: 51820 },
  allowedIps: [prefix('100.64.0.1/32')],
  persistentKeepalive: 0,
  name: 'a',
});

/** droppedAsUnknown makes b forget a, has a send b a packet, and returns the packet once a's
 * initiation for it was dropped by b as from an unknown key (a stages the packet meanwhile). */
async function droppedAsUnknown(a: Node, b: Node, text: string): Promise<Buffer> {
  b.dev.removePeer(a.pub);
  const ping = udpPacket('100.64.0.1', '100.64.0.2', Buffer.from(text));
  a.tun.inject(ping);
  await until(() => b.dev.drops.get('unknown-peer') === 1);
  assert.equal(b.dev.drops.get('unknown-peer'), 1, "a's initiation reached b, which did not know a");
  return ping;
}

test('a peer whose initiation came before it was added is sent an initiation at once, and its packet arrives', async () => {
  const { a, b, stop } = pair();
  try {
    const ping = await droppedAsUnknown(a, b, 'before b knew a');
    b.dev.addPeer(peerA(a.pub));
    await until(() => b.tun.written.length > 0);
    assert.deepEqual(b.tun.written, [ping], "a's staged packet arrives on the session b started");
    const back = udpPacket('100.64.0.2', '100.64.0.1', Buffer.from('and back'));
    b.tun.inject(back);
    await until(() => a.tun.written.length > 0);
    assert.deepEqual(a.tun.written, [back]);
  } finally {
    stop();
  }
});

test('a peer added with no endpoint is answered when it gets its first path (NAT traversal, a relay)', async () => {
  const { a, b, stop } = pair();
  try {
    const ping = await droppedAsUnknown(a, b, 'through a path found later');
    const { endpoint, ...noEndpoint } = peerA(a.pub);
    const peer = b.dev.addPeer(noEndpoint);
    await settle();
    await settle();
    assert.equal(b.tun.written.length, 0, 'no path yet, so no initiation');
    peer.setEndpoint(endpoint);
    b.dev.answerEarlyInitiator(peer);
    await until(() => b.tun.written.length > 0);
    assert.deepEqual(b.tun.written, [ping]);
  } finally {
    stop();
  }
});

test('a peer added with no earlier attempt, or while the tunnel is down, is sent nothing', async () => {
  const { a, b, stop } = pair();
  try {
    b.dev.removePeer(a.pub);
    b.dev.addPeer(peerA(a.pub));
    await settle();
    await settle();
    assert.equal(a.dev.drops.get('unknown-peer') ?? 0, 0);
    const peerOfB = [...a.dev.peersByKey.values()][0]!;
    assert.equal(peerOfB.rxPackets, 0, 'b sent a no initiation');
    await droppedAsUnknown(a, b, 'while b is down');
    b.dev.setUp(false);
    b.dev.addPeer(peerA(a.pub));
    await settle();
    await settle();
    assert.equal(peerOfB.rxPackets, 0, 'a disconnected device starts no handshake');
  } finally {
    stop();
  }
});
