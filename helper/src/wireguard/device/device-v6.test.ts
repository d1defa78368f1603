// The device over an IPv6 underlay (the UDP outside the tunnel), on the in-memory network:
// handshake and data between IPv6 endpoints, roaming between the two families, and a cookie
// reply under load (whitepaper §5.4.7) bound to an IPv6 source.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { REKEY_TIMEOUT } from '../noise/index.js';
import { mac1Key } from '../noise/cookie.js';
import { mac } from '../noise/crypto.js';
import { UNDER_LOAD_FILL } from './handshake-queue.js';
import { endpointOf, pair, udpPacket, until } from './testing.js';
import type { FakeNetwork } from './fake-io.js';
import { parseIp } from '../../../../src-shared/lib/ip/addr.js';

/** forgedInitiation is what anyone who knows pub can send: random content, a valid mac1 (§5.4.4). */
function forgedInitiation(pub: Buffer): Buffer {
  const m = randomBytes(148);
  m.writeUInt32LE(1, 0);
  mac(mac1Key(pub), m.subarray(0, 116)).copy(m, 116);
  m.fill(0, 132);
  return m;
}

/** flood queues enough forged initiations at `to` (from IPv4 addresses) to put it under load. */
function flood(net: FakeNetwork, to: string, pub: Buffer): void {
  const dst = parseIp(to)!;
  for (let i = 0; i < UNDER_LOAD_FILL + 8; i++)
    net.deliver({ family: 4, v4: 0xc6120000 + i }, 4000, dst, 51820, forgedInitiation(pub));
}

test('two devices on IPv6 endpoints shake hands and exchange data; the responder learns [v6]:port', async () => {
  const { a, b, stop } = pair({ addrs: ['2001:db8:0:1::1', '2001:db8:0:2::2'] });
  try {
    const ping = udpPacket('100.64.0.1', '100.64.0.2', Buffer.from('over IPv6'));
    a.tun.inject(ping);
    await until(() => b.tun.written.length > 0);
    assert.deepEqual(b.tun.written[0], ping);
    const pong = udpPacket('100.64.0.2', '100.64.0.1', randomBytes(1372));
    b.tun.inject(pong);
    await until(() => a.tun.written.length > 0);
    assert.deepEqual(a.tun.written.at(-1), pong);
    const peerOfA = [...b.dev.peersByKey.values()][0]!;
    assert.equal(endpointOf(peerOfA), '[2001:db8:0:1::1]:51820');
    assert.deepEqual(peerOfA.endpoint?.addr, { family: 6, w0: 0x20010db8, w1: 1, w2: 0, w3: 1 });
  } finally {
    stop();
  }
});

test('roaming moves the endpoint from an IPv4 source to an IPv6 one and back', async () => {
  const { a, b, net, stop } = pair();
  try {
    a.tun.inject(udpPacket('100.64.0.1', '100.64.0.2', Buffer.from('v4')));
    await until(() => b.tun.written.length === 1);
    const peerOfA = [...b.dev.peersByKey.values()][0]!;
    assert.equal(endpointOf(peerOfA), '192.0.2.1:51820');
    assert.equal(peerOfA.endpoint?.addr.family, 4, 'an IPv4 endpoint reads back as IPv4, not mapped');

    net.move(a.bind, { family: 6, w0: 0x20010db8, w1: 7, w2: 0, w3: 7 });
    a.tun.inject(udpPacket('100.64.0.1', '100.64.0.2', Buffer.from('v6')));
    await until(() => b.tun.written.length === 2);
    assert.equal(endpointOf(peerOfA), '[2001:db8:0:7::7]:51820');
    b.tun.inject(udpPacket('100.64.0.2', '100.64.0.1', Buffer.from('reply to v6')));
    await until(() => a.tun.written.length === 1);
    assert.equal(a.tun.written[0]!.subarray(28).toString(), 'reply to v6', 'the reply went to the IPv6 endpoint');

    net.move(a.bind, { family: 4, v4: 0xc6336407 }); // 198.51.100.7
    a.tun.inject(udpPacket('100.64.0.1', '100.64.0.2', Buffer.from('v4 again')));
    await until(() => b.tun.written.length === 3);
    assert.equal(endpointOf(peerOfA), '198.51.100.7:51820');
    b.tun.inject(udpPacket('100.64.0.2', '100.64.0.1', Buffer.from('reply to v4')));
    await until(() => a.tun.written.length === 2);
    assert.equal(a.tun.written[1]!.subarray(28).toString(), 'reply to v4');
  } finally {
    stop();
  }
});

test('under load, a peer on IPv6 gets a cookie reply, and its retry with mac2 for that address is accepted', async () => {
  const { a, b, net, stop, advance } = pair({ addrs: ['2001:db8:0:1::1', '2001:db8:0:2::2'] });
  try {
    const toA = '[2001:db8:0:1::1]:51820';
    const cookieRepliesToA = (): number => net.sent.filter((s) => s.to === toA && s.data.readUInt32LE(0) === 3).length;
    // The flood and a's initiation reach b in the same turn: the queue is past 1/8 full when it
    // drains, so b demands cookies (§5.3) from everyone, a included.
    flood(net, '2001:db8:0:2::2', b.pub);
    a.tun.inject(udpPacket('100.64.0.1', '100.64.0.2', Buffer.from('staged')));
    await until(() => cookieRepliesToA() === 1);
    assert.equal(cookieRepliesToA(), 1, 'b answered the IPv6 source with a cookie reply');
    assert.equal(b.tun.written.length, 0, 'no handshake was done under load without mac2');
    const peerB = [...a.dev.peersByKey.values()][0]!;
    await until(() => peerB.noise.cookies.hasCookie(a.dev.clock()));
    assert.ok(peerB.noise.cookies.hasCookie(a.dev.clock()), 'a took the cookie');

    // Still under load, a's retransmission carries mac2 = MAC(cookie, message); b recomputes the
    // cookie from the source's 16 address bytes and port and accepts it.
    advance(REKEY_TIMEOUT + 1);
    flood(net, '2001:db8:0:2::2', b.pub);
    a.dev.initiate(peerB, a.dev.clock());
    await until(() => b.tun.written.length === 1);
    assert.equal(b.tun.written[0]!.subarray(28).toString(), 'staged');
    assert.equal(endpointOf([...b.dev.peersByKey.values()][0]!), toA);
  } finally {
    stop();
  }
});

test("the handshake limits count an IPv6 /64 as one source: 50 addresses of one /64 get one source's share", async () => {
  const { a, b, net, stop } = pair({ addrs: ['2001:db8:0:1::1', '2001:db8:0:2::2'] });
  try {
    a.tun.inject(udpPacket('100.64.0.1', '100.64.0.2', Buffer.from('warm up')));
    await until(() => b.tun.written.length === 1);
    const dst = parseIp('2001:db8:0:2::2')!;
    for (let i = 0; i < 50; i++)
      net.deliver(
        { family: 6, w0: 0x20010db8, w1: 9, w2: i * 0x1000, w3: i + 1 },
        4000,
        dst,
        51820,
        forgedInitiation(b.pub),
      );
    const total = (): number => Object.values(b.dev.drops.snapshot()).reduce((x, y) => x + y, 0);
    await until(() => total() === 50);
    // As from one address (handshake-flood.test.ts): its burst reaches Diffie-Hellman, then it
    // must prove its address with a cookie, then it is refused.
    assert.deepEqual(b.dev.drops.snapshot(), {
      'decrypt-failed': 5,
      'bad-mac2-cookie-sent': 5,
      'cookie-rate-limited': 40,
    });
  } finally {
    stop();
  }
});
