// Device tests: two real devices (real protocol core, real native AEAD) joined by an in-memory
// network and adapters that use the native batch layout. Covers the handshake through the
// device, data both ways, cryptokey routing in both directions, replay, roaming and garbage.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { generatePrivateKey, publicKeyFromPrivate } from '../../../../src-shared/lib/keys.js';
import { createLogger } from '../../../../src-shared/lib/log.js';
import { boottimeMs } from '../../../../src-shared/lib/native/index.js';
import { REKEY_TIMEOUT } from '../noise/index.js';
import { CookieChecker } from '../noise/cookie.js';
import { Device } from './device.js';
import { FakeNetwork, FakeTun, prefix, type FakeBind } from './fake-io.js';

const ip = (s: string): number => s.split('.').reduce((a, o) => (a * 256 + Number(o)) >>> 0, 0);
const silent = createLogger(0, { write: () => true });

/** udpPacket builds an IPv4/UDP packet (checksums are not checked by the device). */
function udpPacket(src: string, dst: string, payload: Buffer): Buffer {
  const p = Buffer.alloc(28 + payload.length);
  p[0] = 0x45;
  p.writeUInt16BE(p.length, 2);
  p[8] = 64;
  p[9] = 17;
  p.writeUInt32BE(ip(src), 12);
  p.writeUInt32BE(ip(dst), 16);
  p.writeUInt16BE(4000, 20);
  p.writeUInt16BE(5000, 22);
  p.writeUInt16BE(8 + payload.length, 24);
  payload.copy(p, 28);
  return p;
}

interface Node {
  dev: Device;
  tun: FakeTun;
  bind: FakeBind;
  pub: Buffer;
}

function pair(opts: { keepalive?: number } = {}) {
  let now = 1_000_000;
  const clock = (): number => now;
  const net = new FakeNetwork();
  const keys = [generatePrivateKey(), generatePrivateKey()];
  const make = (i: number, addr: string): Node => {
    const tun = new FakeTun(`fake${i}`, 1420);
    const bind = net.bind(ip(addr), 51820);
    const dev = new Device({ privateKey: keys[i]!, tun, bind, mtu: 1420, log: silent, clock });
    return { dev, tun, bind, pub: publicKeyFromPrivate(keys[i]!) };
  };
  const a = make(0, '192.0.2.1');
  const b = make(1, '192.0.2.2');
  a.dev.addPeer({
    publicKey: b.pub,
    endpoint: { addr: ip('192.0.2.2'), port: 51820 },
    allowedIps: [prefix('100.64.0.2/32')],
    persistentKeepalive: opts.keepalive ?? 0,
    name: 'b',
  });
  b.dev.addPeer({
    publicKey: a.pub,
    allowedIps: [prefix('100.64.0.1/32')],
    persistentKeepalive: 0,
    name: 'a',
  });
  a.dev.start();
  b.dev.start();
  const stop = (): void => {
    a.dev.stop();
    b.dev.stop();
  };
  return {
    a,
    b,
    net,
    stop,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 20));

/** until polls a condition (the fake network delivers on later event-loop turns). */
async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await settle();
}

test("the device's default timer clock is CLOCK_BOOTTIME, which counts suspend", () => {
  const net = new FakeNetwork();
  const dev = new Device({
    privateKey: generatePrivateKey(),
    tun: new FakeTun('fake0', 1420),
    bind: net.bind(ip('192.0.2.1'), 51820),
    mtu: 1420,
    log: silent,
  });
  assert.equal(dev.clock, boottimeMs);
  const before = boottimeMs();
  const now = dev.clock();
  assert.ok(before <= now && now <= boottimeMs(), `the device read ${now} ms, boottime ${before} ms`);
});

test('handshake on first packet, then data both ways', async () => {
  const { a, b, stop } = pair();
  try {
    const ping = udpPacket('100.64.0.1', '100.64.0.2', Buffer.from('hello b'));
    a.tun.inject(ping);
    await until(() => b.tun.written.length > 0);
    assert.equal(b.tun.written.length, 1, 'the staged packet arrives after the handshake');
    assert.deepEqual(b.tun.written[0], ping);
    const pong = udpPacket('100.64.0.2', '100.64.0.1', randomBytes(1372));
    b.tun.inject(pong);
    await until(() => a.tun.written.length > 0);
    assert.deepEqual(a.tun.written.at(-1), pong);
    const peerOfA = [...b.dev.peersByKey.values()][0]!;
    assert.ok(peerOfA.rxBytes > 0 && peerOfA.txBytes > 0);
    assert.equal(peerOfA.endpointAddr, ip('192.0.2.1'), 'responder learned the endpoint from the handshake');
    assert.notEqual(peerOfA.noise.lastHandshakeAt, null);
  } finally {
    stop();
  }
});

test('cryptokey routing: unknown destination dropped, spoofed inner source dropped', async () => {
  const { a, b, stop } = pair();
  try {
    a.tun.inject(udpPacket('100.64.0.1', '100.64.0.2', Buffer.from('warm up')));
    await until(() => b.tun.written.length === 1);
    a.tun.inject(udpPacket('100.64.0.1', '100.64.0.77', Buffer.from('nobody')));
    assert.equal(a.dev.drops.get('tun-no-peer'), 1);
    // A routes by destination to B, but B must refuse a source outside A's allowed IPs.
    a.tun.inject(udpPacket('100.64.0.99', '100.64.0.2', Buffer.from('spoofed')));
    await until(() => b.dev.drops.get('source-not-allowed') === 1);
    assert.equal(b.dev.drops.get('source-not-allowed'), 1);
    assert.equal(b.tun.written.length, 1);
  } finally {
    stop();
  }
});

test('a replayed data message is dropped and counted', async () => {
  const { a, b, net, stop } = pair();
  try {
    a.tun.inject(udpPacket('100.64.0.1', '100.64.0.2', Buffer.from('once')));
    await until(() => b.tun.written.length === 1);
    const data = net.sent.filter((s) => s.to === `${ip('192.0.2.2')}:51820` && s.data.readUInt32LE(0) === 4);
    assert.ok(data.length >= 1);
    for (const d of data) b.bind.enqueue(Buffer.from(d.data), ip('192.0.2.1'), 51820);
    await until(() => b.dev.drops.get('replayed-counter') === data.length);
    assert.equal(b.dev.drops.get('replayed-counter'), data.length);
    assert.equal(b.tun.written.length, 1);
  } finally {
    stop();
  }
});

test('roaming: the endpoint follows the latest authenticated packet', async () => {
  const { a, b, net, stop } = pair();
  try {
    a.tun.inject(udpPacket('100.64.0.1', '100.64.0.2', Buffer.from('before')));
    await until(() => b.tun.written.length === 1);
    net.move(a.bind, ip('198.51.100.7'));
    a.tun.inject(udpPacket('100.64.0.1', '100.64.0.2', Buffer.from('after')));
    await until(() => b.tun.written.length === 2);
    const peerOfA = [...b.dev.peersByKey.values()][0]!;
    assert.equal(peerOfA.endpointAddr, ip('198.51.100.7'));
    b.tun.inject(udpPacket('100.64.0.2', '100.64.0.1', Buffer.from('reply')));
    await until(() => a.tun.written.length > 0);
    assert.equal(a.tun.written.at(-1)!.subarray(28).toString(), 'reply');
  } finally {
    stop();
  }
});

test('a valid cookie reply from a new address leaves the endpoint alone; accepted handshake messages move it', async () => {
  const { a, b, net, stop, advance } = pair();
  try {
    const toB = `${ip('192.0.2.2')}:51820`;
    const initiationsToB = (): Buffer[] =>
      net.sent.filter((s) => s.to === toB && s.data.readUInt32LE(0) === 1).map((s) => s.data);
    net.drop = (to) => to === toB;
    a.tun.inject(udpPacket('100.64.0.1', '100.64.0.2', Buffer.from('staged')));
    await until(() => initiationsToB().length === 1);
    const init = initiationsToB()[0]!;
    // Whoever saw the initiation can answer it with a valid cookie reply: its key derives from
    // b's public key and its AAD is the initiation's mac1 (§5.4.7).
    const forger = new CookieChecker(b.pub, randomBytes);
    const forged = forger.createReply(init, init.readUInt32LE(4), { ip: '203.0.113.66', port: 6666 }, 0);
    a.bind.enqueue(forged, ip('203.0.113.66'), 6666);
    const peerB = [...a.dev.peersByKey.values()][0]!;
    await until(() => peerB.noise.cookies.hasCookie(a.dev.clock()));
    assert.ok(peerB.noise.cookies.hasCookie(a.dev.clock()), 'the forged reply was valid: a took its cookie');
    assert.deepEqual(
      [peerB.endpointAddr, peerB.endpointPort],
      [ip('192.0.2.2'), 51820],
      'the cookie reply moved nothing',
    );

    // A response that completes a's handshake, from b's new address, moves the endpoint there.
    net.drop = null;
    net.move(b.bind, ip('198.51.100.9'));
    b.bind.enqueue(Buffer.from(init), ip('192.0.2.1'), 51820);
    await until(() => b.tun.written.length === 1);
    assert.deepEqual([peerB.endpointAddr, peerB.endpointPort], [ip('198.51.100.9'), 51820]);
    assert.equal(b.tun.written[0]!.subarray(28).toString(), 'staged', 'the staged packet followed the new endpoint');

    // An initiation b accepts from a's new address moves b's endpoint for a; data messages are
    // lost so that only the handshake can have moved it.
    const peerA = [...b.dev.peersByKey.values()][0]!;
    assert.equal(peerA.endpointAddr, ip('192.0.2.1'));
    net.move(a.bind, ip('198.51.100.7'));
    net.drop = (_to, data) => data.readUInt32LE(0) === 4;
    advance(REKEY_TIMEOUT);
    a.dev.initiate(peerB, a.dev.clock());
    await until(() => peerA.endpointAddr === ip('198.51.100.7'));
    assert.deepEqual([peerA.endpointAddr, peerA.endpointPort], [ip('198.51.100.7'), 51820]);
  } finally {
    stop();
  }
});

test('garbage datagrams are counted and never stop the device', async () => {
  const { a, b, stop } = pair();
  try {
    for (let i = 0; i < 3000; i++) {
      const junk = randomBytes(i % 200);
      if (junk.length >= 4 && i % 3 === 0) junk.writeUInt32LE(1 + (i % 4), 0);
      b.bind.enqueue(junk, ip('203.0.113.9'), 40000 + (i % 100));
    }
    const total = (): number => Object.values(b.dev.drops.snapshot()).reduce((x, y) => x + y, 0);
    await until(() => total() >= 2900);
    const dropped = Object.values(b.dev.drops.snapshot()).reduce((x, y) => x + y, 0);
    assert.ok(dropped >= 2900, `dropped ${dropped}`);
    a.tun.inject(udpPacket('100.64.0.1', '100.64.0.2', Buffer.from('still works')));
    await until(() => b.tun.written.length > 0);
    assert.equal(b.tun.written.at(-1)!.subarray(28).toString(), 'still works');
  } finally {
    stop();
  }
});

test('setUp(false) drops traffic both ways and erases sessions; setUp(true) restores it', async () => {
  const { a, b, net, stop, advance } = pair();
  try {
    a.tun.inject(udpPacket('100.64.0.1', '100.64.0.2', Buffer.from('before')));
    await until(() => b.tun.written.length === 1);
    const dataBefore = net.sent.filter((s) => s.data.readUInt32LE(0) === 4).length;
    a.dev.setUp(false);
    assert.equal(a.dev.isUp, false);
    const peerB = [...a.dev.peersByKey.values()][0]!;
    assert.equal(peerB.noise.keypairs().current, null, 'the session is erased');
    a.tun.inject(udpPacket('100.64.0.1', '100.64.0.2', Buffer.from('while down')));
    b.tun.inject(udpPacket('100.64.0.2', '100.64.0.1', Buffer.from('towards a')));
    await until(() => a.dev.drops.get('disconnected') >= 2);
    assert.equal(a.dev.drops.get('disconnected'), 2, 'one packet each way was dropped as disconnected');
    assert.equal(
      net.sent.filter((s) => s.data.readUInt32LE(0) === 4 && s.to === `${ip('192.0.2.2')}:51820`).length,
      dataBefore,
      'nothing more was sent to b',
    );
    assert.equal(b.tun.written.length, 1);
    assert.equal(a.tun.written.length, 0);
    // The responder rate-limits initiations per peer (20 ms apart); a real reconnect is later.
    advance(1000);
    a.dev.setUp(true);
    a.tun.inject(udpPacket('100.64.0.1', '100.64.0.2', Buffer.from('after')));
    await until(() => b.tun.written.length === 2);
    assert.equal(b.tun.written.at(-1)!.subarray(28).toString(), 'after', 'a new handshake brought the tunnel back');
  } finally {
    stop();
  }
});
