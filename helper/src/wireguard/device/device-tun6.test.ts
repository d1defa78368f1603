// IPv6 through a real TUN device (needs root and /dev/net/tun): a UDP datagram an application
// sends over IPv6 is built by the kernel, read from the adapter, routed by the device to the
// peer that owns its destination, and arrives at the peer; the peer's answer is written to the
// adapter and the kernel delivers it to the application's socket. The peer side runs on the
// fake network. The test's device is named v6i<hex> in the root namespace, takes a random /64
// of fd7a:115c:a1e0::/48 and is deleted after, pass or fail.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { existsSync } from 'node:fs';
import { generatePrivateKey, publicKeyFromPrivate } from '../../../../src-shared/lib/keys.js';
import { createLogger } from '../../../../src-shared/lib/log.js';
import { closeFd, startReader, tunOpen, tunWriteBatch } from '../../../../src-shared/lib/native/index.js';
import { HEADROOM, MAX_BATCH, slotSizeFor } from '../../../../src-shared/lib/native/batch.js';
import type { TunAdapter } from '../../tun/index.js';
import { Device } from './device.js';
import { FakeNetwork, FakeTun, ipv4, prefix } from './fake-io.js';

const MTU = 1420;

function skipReason(): string | undefined {
  if (process.platform !== 'linux') return 'needs Linux';
  if (process.getuid?.() !== 0) return 'needs root';
  if (!existsSync('/dev/net/tun')) return 'needs /dev/net/tun';
  if (!existsSync('/proc/sys/net/ipv6')) return 'needs IPv6 in the kernel';
  return undefined;
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** realTun opens a TUN device as a TunAdapter, the way tun-linux.ts does but without its IPv4 setup. */
function realTun(name: string): TunAdapter & { fd: number } {
  const h = tunOpen(name);
  return {
    fd: h.fd,
    name: h.name,
    mtu: MTU,
    startReader: (onBatch, onError) =>
      startReader(
        h.fd,
        'tun',
        { maxBatch: MAX_BATCH, slotSize: slotSizeFor(MTU), headroom: HEADROOM, pool: 2, onError },
        onBatch,
      ),
    writeBatch: (buf, offsets, lengths, count) => tunWriteBatch(h.fd, buf, offsets, lengths, count),
    close: () => closeFd(h.fd),
  };
}

/** answer turns a received IPv6/UDP packet around: addresses and ports swapped, which keeps
 * the UDP checksum (RFC 8200 §8.1) valid, since it sums them all. */
function answer(p: Buffer): Buffer {
  const r = Buffer.from(p);
  p.copy(r, 8, 24, 40);
  p.copy(r, 24, 8, 24);
  p.copy(r, 40, 42, 44);
  p.copy(r, 42, 40, 42);
  return r;
}

test('an application’s UDP over IPv6 crosses a real adapter to the peer, and the answer comes back', async (t) => {
  const reason = skipReason();
  if (reason !== undefined) {
    t.skip(reason);
    return;
  }
  const silent = createLogger(0, { write: () => true });
  const net = new FakeNetwork();
  const keys = [generatePrivateKey(), generatePrivateKey()];
  // Written as the kernel reports it (RFC 5952: no leading zeros in a group, and never a zero group beside ::).
  const subnet = `fd7a:115c:a1e0:${(randomBytes(2).readUInt16BE(0) | 0x100).toString(16)}`;
  const [a6, b6] = [`${subnet}::1`, `${subnet}::2`];
  const tun = realTun(`v6i${randomBytes(3).toString('hex')}`);
  const a = new Device({ privateKey: keys[0]!, tun, bind: net.bind(ipv4('192.0.2.1'), 51820), mtu: MTU, log: silent });
  const bTun = new FakeTun('fake1', MTU);
  const b = new Device({
    privateKey: keys[1]!,
    tun: bTun,
    bind: net.bind(ipv4('192.0.2.2'), 51820),
    mtu: MTU,
    log: silent,
  });
  const sock = dgram.createSocket('udp6');
  try {
    // nodad: the address is usable at once, without duplicate address detection (RFC 4862 §5.4).
    ip('addr', 'add', `${a6}/64`, 'dev', tun.name, 'nodad');
    ip('link', 'set', 'dev', tun.name, 'up');
    a.addPeer({
      publicKey: publicKeyFromPrivate(keys[1]!),
      endpoint: { addr: { family: 4, v4: ipv4('192.0.2.2') }, port: 51820 },
      allowedIps: [prefix(`${b6}/128`)],
      persistentKeepalive: 0,
    });
    b.addPeer({ publicKey: publicKeyFromPrivate(keys[0]!), allowedIps: [prefix(`${a6}/128`)], persistentKeepalive: 0 });
    a.start();
    b.start();
    await new Promise<void>((resolve) => sock.bind(0, a6, resolve));
    const got = new Promise<{ msg: Buffer; from: string; port: number }>((resolve) =>
      sock.once('message', (msg, rinfo) => resolve({ msg, from: rinfo.address, port: rinfo.port })),
    );
    sock.send(Buffer.from('ping over IPv6'), 5000, b6);
    const isOurs = (p: Buffer): boolean => p[0]! >> 4 === 6 && p[6] === 17 && p.readUInt16BE(42) === 5000;
    const end = Date.now() + 5000;
    while (!bTun.written.some(isOurs) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    const arrived = bTun.written.find(isOurs);
    assert.ok(arrived, `the datagram reached the peer (a drops: ${JSON.stringify(a.drops.snapshot())})`);
    assert.equal(arrived.subarray(48).toString(), 'ping over IPv6');
    bTun.inject(answer(arrived));
    const reply = await Promise.race([
      got,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no answer through the adapter')), 5000)),
    ]);
    assert.deepEqual([reply.msg.toString(), reply.from, reply.port], ['ping over IPv6', b6, 5000]);
  } finally {
    sock.close();
    a.stop();
    b.stop();
    tun.close(); // a non-persistent TUN device goes away with its descriptor
  }
});
