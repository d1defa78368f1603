// A handshake flood at a device (two real devices on the in-memory network): handshake
// messages wait in the handshake queue while the data of the same batch goes to the adapter,
// the queue's bound drops the excess, and every message is counted by reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { generatePrivateKey, publicKeyFromPrivate } from '../../../../src-shared/lib/keys.js';
import { createLogger } from '../../../../src-shared/lib/log.js';
import { mac1Key } from '../noise/cookie.js';
import { mac } from '../noise/crypto.js';
import { Device } from './device.js';
import { FakeNetwork, FakeTun, icmpEcho, ipv4, prefix, type FakeBind } from './fake-io.js';
import { HANDSHAKE_QUEUE_SIZE } from './handshake-queue.js';
import { COOKIES_PER_SECOND } from './handshake-limits.js';

const silent = createLogger(0, { write: () => true });

interface Side {
  dev: Device;
  tun: FakeTun;
  bind: FakeBind;
  pub: Buffer;
}

/** pair starts devices a (192.0.2.1) and b (192.0.2.2); a knows b's endpoint. */
function pair(): { a: Side; b: Side; net: FakeNetwork; stop: () => void } {
  const clock = (): number => 1_000_000;
  const net = new FakeNetwork();
  const make = (addr: string): Side => {
    const key = generatePrivateKey();
    const tun = new FakeTun(addr, 1420);
    const bind = net.bind(ipv4(addr), 51820);
    return {
      dev: new Device({ privateKey: key, tun, bind, mtu: 1420, log: silent, clock }),
      tun,
      bind,
      pub: publicKeyFromPrivate(key),
    };
  };
  const a = make('192.0.2.1');
  const b = make('192.0.2.2');
  a.dev.addPeer({
    publicKey: b.pub,
    endpoint: { addr: ipv4('192.0.2.2'), port: 51820 },
    allowedIps: [prefix('100.64.0.2/32')],
    persistentKeepalive: 0,
  });
  b.dev.addPeer({ publicKey: a.pub, allowedIps: [prefix('100.64.0.1/32')], persistentKeepalive: 0 });
  a.dev.start();
  b.dev.start();
  return {
    a,
    b,
    net,
    stop: () => {
      a.dev.stop();
      b.dev.stop();
    },
  };
}

/** forgedInitiation is what anyone who knows pub can send: random content, a valid mac1 (§5.4.4). */
function forgedInitiation(pub: Buffer): Buffer {
  const m = randomBytes(148);
  m.writeUInt32LE(1, 0);
  mac(mac1Key(pub), m.subarray(0, 116)).copy(m, 116);
  m.fill(0, 132);
  return m;
}

function total(dev: Device): number {
  return Object.values(dev.drops.snapshot()).reduce((x, y) => x + y, 0);
}

async function until(cond: () => boolean): Promise<void> {
  const end = Date.now() + 5000;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
}

test('handshake messages wait in the queue while the data of the same batch reaches the adapter', async () => {
  const { a, b, net, stop } = pair();
  try {
    a.tun.inject(icmpEcho('100.64.0.1', '100.64.0.2', 1));
    await until(() => b.tun.written.length === 1);
    assert.equal(total(b.dev), 0);
    // One batch at b: fifty forged initiations, then a's next packet.
    for (let i = 0; i < 50; i++)
      net.deliver(ipv4('198.18.0.1'), 4000, ipv4('192.0.2.2'), 51820, forgedInitiation(b.pub));
    let countedAtWrite = -1;
    const write = b.tun.writeBatch.bind(b.tun);
    b.tun.writeBatch = (buf, offsets, lengths, count) => {
      countedAtWrite = total(b.dev);
      return write(buf, offsets, lengths, count);
    };
    a.tun.inject(icmpEcho('100.64.0.1', '100.64.0.2', 2));
    await until(() => b.tun.written.length === 2);
    assert.deepEqual(b.tun.written[1], icmpEcho('100.64.0.1', '100.64.0.2', 2));
    assert.equal(countedAtWrite, 0, 'no handshake message was handled before the data was written');
    await until(() => total(b.dev) === 50);
    const d = b.dev.drops.snapshot();
    // One source: its burst reaches Diffie-Hellman, then it is asked for cookies, then refused.
    assert.deepEqual(d, { 'decrypt-failed': 5, 'bad-mac2-cookie-sent': 5, 'cookie-rate-limited': 40 });
  } finally {
    stop();
  }
});

test('a flood from many sources fills the queue: the excess is counted, none reaches Diffie-Hellman, data flows', async () => {
  const { a, b, net, stop } = pair();
  try {
    a.tun.inject(icmpEcho('100.64.0.1', '100.64.0.2', 1));
    await until(() => b.tun.written.length === 1);
    const n = HANDSHAKE_QUEUE_SIZE + 500;
    for (let i = 0; i < n; i++) {
      net.deliver((ipv4('198.18.0.0') + i) >>> 0, 4000, ipv4('192.0.2.2'), 51820, forgedInitiation(b.pub));
    }
    a.tun.inject(icmpEcho('100.64.0.1', '100.64.0.2', 2));
    await until(() => b.tun.written.length === 2 && total(b.dev) === n);
    assert.deepEqual(b.tun.written[1], icmpEcho('100.64.0.1', '100.64.0.2', 2));
    // The queue was past 1/8 full when it drained, so b was under load (§5.3): no forged
    // initiation reached Diffie-Hellman; each got a cookie reply while the total allowed.
    assert.deepEqual(b.dev.drops.snapshot(), {
      'handshake-queue-full': 500,
      'bad-mac2-cookie-sent': COOKIES_PER_SECOND,
      'cookie-rate-limited': HANDSHAKE_QUEUE_SIZE - COOKIES_PER_SECOND,
    });
  } finally {
    stop();
  }
});
