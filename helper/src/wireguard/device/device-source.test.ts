// Sticky source addresses through the device: on a host with several addresses a peer is
// answered from the local address its latest authenticated packet arrived on (handshake
// response, data, keepalives), a source that went away falls over to the kernel's choice, and
// an endpoint set by configuration forgets the source. The fake network (fake-io.ts) delivers
// each datagram with the local address it was sent to, and refuses a source that is not one of
// the sending host's addresses the way the native send does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIp } from '../../../../src-shared/lib/ip/addr.js';
import { formatWords } from '../../../../src-shared/lib/ip/words.js';
import { endpointOf, ip, pair, udpPacket, until } from './testing.js';

/** sources lists the distinct sources of what `from` sent on the network, in order. */
function sourcesOf(sent: Array<{ from: string }>, host: string): string[] {
  return [...new Set(sent.map((s) => s.from).filter((f) => f.startsWith(host)))];
}

test('a multi-homed device answers from the address its peer wrote to', async () => {
  const { a, b, net, stop } = pair();
  try {
    // b's host also has 192.0.2.20, which its kernel would not pick (the fake's primary is .2).
    net.addAddress(b.bind, ip('192.0.2.20'));
    const peerB = [...a.dev.peersByKey.values()][0]!;
    peerB.setEndpoint({ addr: parseIp('192.0.2.20')!, port: 51820 });
    a.tun.inject(udpPacket('100.64.0.1', '100.64.0.2', Buffer.from('to .20')));
    await until(() => b.tun.written.length === 1);
    b.tun.inject(udpPacket('100.64.0.2', '100.64.0.1', Buffer.from('back')));
    await until(() => a.tun.written.length === 1);
    assert.equal(a.tun.written.length, 1);
    const fromB = net.sent.filter((s) => s.from.startsWith('192.0.2.2'));
    assert.ok(fromB.length >= 2, 'b sent a handshake response and data');
    assert.deepEqual(sourcesOf(fromB, '192.0.2.2'), ['192.0.2.20:51820'], 'every answer left from .20');
    assert.equal(endpointOf(peerB), '192.0.2.20:51820', "a's endpoint for b did not roam");
    const peerA = [...b.dev.peersByKey.values()][0]!;
    assert.equal(formatWords(peerA.sourceWords, 0), '192.0.2.20');
  } finally {
    stop();
  }
});

test('a source the host no longer has falls over to the default one, and the peer follows', async () => {
  const { a, b, net, stop } = pair();
  try {
    net.addAddress(b.bind, ip('192.0.2.20'));
    const peerB = [...a.dev.peersByKey.values()][0]!;
    peerB.setEndpoint({ addr: parseIp('192.0.2.20')!, port: 51820 });
    a.tun.inject(udpPacket('100.64.0.1', '100.64.0.2', Buffer.from('to .20')));
    await until(() => b.tun.written.length === 1);
    const peerA = [...b.dev.peersByKey.values()][0]!;
    assert.ok(peerA.hasSource);
    net.removeAddress(b.bind, ip('192.0.2.20'));
    const before = net.sent.length;
    b.tun.inject(udpPacket('100.64.0.2', '100.64.0.1', Buffer.from('after the move')));
    await until(() => a.tun.written.length === 1);
    assert.equal(a.tun.written.length, 1, 'the packet still got through');
    assert.equal(peerA.hasSource, false, 'the refused source is forgotten');
    assert.deepEqual(sourcesOf(net.sent.slice(before), '192.0.2.2'), ['192.0.2.2:51820']);
    assert.equal(endpointOf(peerB), '192.0.2.2:51820', 'a roamed to where b now sends from');
    // A handshake message falls over the same way (Bind.send zeros the peer's source itself).
    net.addAddress(b.bind, ip('192.0.2.30'));
    peerA.sourceWords.set(Uint32Array.of(0, 0, 0xffff, ip('192.0.2.31')));
    b.dev.sendControl(peerA, Buffer.alloc(148));
    assert.equal(peerA.hasSource, false);
    assert.equal(net.sent.at(-1)!.from, '192.0.2.2:51820');
  } finally {
    stop();
  }
});

test('an endpoint set by configuration forgets the source, even when it is the same endpoint', async () => {
  const { a, b, stop } = pair();
  try {
    a.tun.inject(udpPacket('100.64.0.1', '100.64.0.2', Buffer.from('hello')));
    await until(() => b.tun.written.length === 1);
    const peerA = [...b.dev.peersByKey.values()][0]!;
    assert.equal(formatWords(peerA.sourceWords, 0), '192.0.2.2', 'learned from the handshake');
    assert.equal(peerA.setEndpoint({ addr: parseIp('192.0.2.1')!, port: 51820 }), false, 'same endpoint');
    assert.equal(peerA.hasSource, false);
  } finally {
    stop();
  }
});
