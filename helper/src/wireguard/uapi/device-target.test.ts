// DeviceTarget against real devices on the in-memory network: what a set changes, what it
// refuses without changing anything, and that two devices configured only through the UAPI
// complete a handshake and pass data, which the get then reports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generatePrivateKey, publicKeyFromPrivate } from '../../../../src-shared/lib/keys.js';
import { createLogger } from '../../../../src-shared/lib/log.js';
import { formatIpPrefix } from '../../../../src-shared/lib/ip/addr.js';
import { Device, formatPeer } from '../device/device.js';
import { FakeNetwork, FakeTun, icmpEcho, ipv4, type FakeBind } from '../device/fake-io.js';
import { DeviceTarget } from './device-target.js';
import { UAPI_ERRNO, UapiError } from './errors.js';
import { SetParser } from './set-request.js';

const silent = createLogger(-1, { write: () => true });
const hex = (b: Buffer): string => b.toString('hex');

function node(net: FakeNetwork, addr: string, opts: { readOnly?: string; inUse?: boolean } = {}) {
  const tun = new FakeTun('fake', 1420);
  const bind = net.bind(ipv4(addr), 51820);
  const dev = new Device({ privateKey: null, tun, bind, mtu: 1420, log: silent });
  const opened: FakeBind[] = [];
  const target = new DeviceTarget(dev, {
    log: silent,
    readOnly: opts.readOnly,
    openBind: (port) => {
      if (opts.inUse) throw Object.assign(new Error('in use'), { code: 'EADDRINUSE' });
      const b = net.bind(ipv4(addr), port === 0 ? 40000 : port);
      opened.push(b);
      return b;
    },
  });
  const set = (lines: string[]): Promise<void> => {
    const p = new SetParser();
    for (const l of lines) p.line(l);
    return target.set(p.finish());
  };
  const get = async (): Promise<Map<string, string[]>> => {
    const m = new Map<string, string[]>();
    for (const l of (await target.get()).split('\n').filter((x) => x !== '')) {
      const [k, v] = l.split('=') as [string, string];
      m.set(k, [...(m.get(k) ?? []), v]);
    }
    return m;
  };
  return { dev, tun, bind, target, set, get, opened };
}

async function rejects(p: Promise<unknown>, errno: number): Promise<void> {
  await assert.rejects(p, (e: unknown) => e instanceof UapiError && e.errno === errno);
}

const KEY1 = generatePrivateKey();
const PEER1 = publicKeyFromPrivate(generatePrivateKey());
const PEER2 = publicKeyFromPrivate(generatePrivateKey());

test('a fresh device reports its port and no key; a set of every device and peer key shows in the get', async () => {
  const n = node(new FakeNetwork(), '192.0.2.1');
  assert.equal(await n.target.get(), 'listen_port=51820\nerrno=0\n\n');
  await n.set([
    `private_key=${hex(KEY1)}`,
    'fwmark=7',
    `public_key=${hex(PEER1)}`,
    `preshared_key=${'11'.repeat(32)}`,
    'endpoint=198.51.100.7:51820',
    'allowed_ip=10.1.0.0/16',
    'allowed_ip=10.2.0.1/32',
  ]);
  const g = await n.get();
  assert.deepEqual(g.get('private_key'), [hex(KEY1)]);
  assert.deepEqual(g.get('fwmark'), ['7']);
  assert.equal(n.bind.mark, 7);
  assert.deepEqual(g.get('public_key'), [hex(PEER1)]);
  assert.deepEqual(g.get('preshared_key'), ['11'.repeat(32)]);
  assert.deepEqual(g.get('endpoint'), ['198.51.100.7:51820']);
  assert.deepEqual(g.get('allowed_ip'), ['10.1.0.0/16', '10.2.0.1/32']);
  assert.deepEqual(g.get('persistent_keepalive_interval'), ['0']);
});

test('allowed IPs and endpoints of both families are taken; a request with a link-local endpoint changes nothing at all', async () => {
  const both = node(new FakeNetwork(), '192.0.2.1');
  await both.set([
    `public_key=${hex(PEER1)}`,
    'allowed_ip=10.0.0.0/8',
    'allowed_ip=fd00::1/8',
    'endpoint=[2001:DB8::1]:51820',
  ]);
  assert.deepEqual((await both.get()).get('allowed_ip'), ['10.0.0.0/8', 'fd00::/8']);
  assert.deepEqual((await both.get()).get('endpoint'), ['[2001:db8::1]:51820'], 'an IPv6 endpoint, canonical');
  assert.equal(formatPeer(both.dev.peersByKey.values().next().value!), '[2001:db8::1]:51820');
  const n = node(new FakeNetwork(), '192.0.2.1');
  const p = n.set([
    `private_key=${hex(KEY1)}`,
    `public_key=${hex(PEER1)}`,
    'allowed_ip=10.0.0.0/8',
    'endpoint=[fe80::1]:51820',
  ]);
  await rejects(p, UAPI_ERRNO.invalid);
  assert.equal(n.dev.privateKey, null);
  assert.equal(n.dev.peersByKey.size, 0);
});

test('a port in use is -EADDRINUSE and changes nothing; a free one moves the device to a new socket', async () => {
  const busy = node(new FakeNetwork(), '192.0.2.1', { inUse: true });
  await rejects(busy.set([`private_key=${hex(KEY1)}`, 'listen_port=51821']), UAPI_ERRNO.portInUse);
  assert.equal(busy.dev.privateKey, null);
  const n = node(new FakeNetwork(), '192.0.2.1');
  await n.set(['fwmark=9', 'listen_port=51821']);
  assert.equal(n.dev.bind.port, 51821);
  assert.equal(n.opened[0]!.mark, 9, 'the new socket carries the mark');
  assert.equal(n.bind.closed, true, 'the old socket is closed');
  assert.deepEqual((await n.get()).get('listen_port'), ['51821']);
});

test('a read-only target refuses set with -EPERM and changes nothing', async () => {
  const n = node(new FakeNetwork(), '192.0.2.1', { readOnly: 'coordinated' });
  await rejects(n.set([`private_key=${hex(KEY1)}`]), UAPI_ERRNO.permission);
  assert.equal(n.dev.privateKey, null);
});

test('update_only does not create, remove forgets, replace_peers clears the peers from before', async () => {
  const n = node(new FakeNetwork(), '192.0.2.1');
  await n.set([`public_key=${hex(PEER1)}`, 'update_only=true', 'allowed_ip=10.0.0.0/8']);
  assert.equal(n.dev.peersByKey.size, 0);
  await n.set([`public_key=${hex(PEER1)}`, `public_key=${hex(PEER2)}`]);
  assert.equal(n.dev.peersByKey.size, 2);
  await n.set([`public_key=${hex(PEER1)}`, 'remove=true']);
  assert.deepEqual((await n.get()).get('public_key'), [hex(PEER2)]);
  await n.set(['replace_peers=true', `public_key=${hex(PEER1)}`]);
  assert.deepEqual((await n.get()).get('public_key'), [hex(PEER1)]);
});

test('a prefix given to another peer moves, replace_allowed_ips replaces, "-" removes', async () => {
  const n = node(new FakeNetwork(), '192.0.2.1');
  await n.set([`public_key=${hex(PEER1)}`, 'allowed_ip=10.0.0.0/8', 'allowed_ip=10.9.0.0/16']);
  await n.set([`public_key=${hex(PEER2)}`, 'allowed_ip=10.9.0.0/16']);
  const [p1, p2] = [...n.dev.peersByKey.values()];
  assert.ok(p1 && p2);
  assert.deepEqual(p1.allowedIps.map(formatIpPrefix), ['10.0.0.0/8']);
  assert.deepEqual(p2.allowedIps.map(formatIpPrefix), ['10.9.0.0/16']);
  await n.set([`public_key=${hex(PEER1)}`, 'replace_allowed_ips=true', 'allowed_ip=172.16.0.0/12']);
  assert.deepEqual(p1.allowedIps.map(formatIpPrefix), ['172.16.0.0/12']);
  await n.set([`public_key=${hex(PEER1)}`, 'allowed_ip=-172.16.0.0/12', 'allowed_ip=-10.9.0.0/16']);
  assert.deepEqual(p1.allowedIps, []);
  assert.equal(
    n.dev.routes.lookup4(ipv4('10.9.1.1')),
    p2,
    "removing a prefix the peer does not own leaves its owner's",
  );
});

test("setting a private key whose public key is a peer's removes that peer, as wireguard-go", async () => {
  const n = node(new FakeNetwork(), '192.0.2.1');
  await n.set([`public_key=${hex(publicKeyFromPrivate(KEY1))}`, `public_key=${hex(PEER1)}`]);
  await n.set([`private_key=${hex(KEY1)}`, `public_key=${hex(publicKeyFromPrivate(KEY1))}`]);
  assert.deepEqual((await n.get()).get('public_key'), [hex(PEER1)]);
});

test('two devices configured only through the UAPI shake hands, pass data and report it', async () => {
  const net = new FakeNetwork();
  const a = node(net, '192.0.2.1');
  const b = node(net, '192.0.2.2');
  const [ka, kb] = [generatePrivateKey(), generatePrivateKey()];
  a.dev.start();
  b.dev.start();
  try {
    await b.set([`private_key=${hex(kb)}`, `public_key=${hex(publicKeyFromPrivate(ka))}`, 'allowed_ip=100.64.0.1/32']);
    await a.set([
      `private_key=${hex(ka)}`,
      `public_key=${hex(publicKeyFromPrivate(kb))}`,
      'endpoint=192.0.2.2:51820',
      'allowed_ip=100.64.0.2/32',
    ]);
    const before = BigInt(Date.now()) * 1_000_000n;
    a.tun.inject(icmpEcho('100.64.0.1', '100.64.0.2', 1, 100));
    const end = Date.now() + 2000;
    while (b.tun.written.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    assert.equal(b.tun.written.length, 1, 'the packet crossed');
    const g = await a.get();
    const ns =
      BigInt(g.get('last_handshake_time_sec')![0]!) * 1_000_000_000n + BigInt(g.get('last_handshake_time_nsec')![0]!);
    assert.ok(ns >= before - 1_000_000n && ns <= BigInt(Date.now()) * 1_000_000n, `handshake at ${ns}`);
    assert.ok(Number(g.get('tx_bytes')![0]) > 0 && Number(g.get('rx_bytes')![0]) > 0);
    // b moves to another port: the device reads the new socket, and a, told the new endpoint,
    // reaches it there.
    await b.set(['listen_port=51999']);
    await a.set([`public_key=${hex(publicKeyFromPrivate(kb))}`, 'endpoint=192.0.2.2:51999']);
    a.tun.inject(icmpEcho('100.64.0.1', '100.64.0.2', 3, 100));
    const end2 = Date.now() + 2000;
    while (b.tun.written.length < 2 && Date.now() < end2) await new Promise((r) => setTimeout(r, 10));
    assert.equal(b.tun.written.length, 2, 'the packet reached the new port');
    // A new key erases the sessions: the next packet needs a new handshake with the new key,
    // which b does not know, so it does not arrive.
    await a.set([`private_key=${hex(generatePrivateKey())}`]);
    a.tun.inject(icmpEcho('100.64.0.1', '100.64.0.2', 2, 100));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(b.tun.written.length, 2);
  } finally {
    a.dev.stop();
    b.dev.stop();
  }
});

test('a keyless device sends nothing, even for a peer with an endpoint and keepalive', async () => {
  const net = new FakeNetwork();
  const a = node(net, '192.0.2.1');
  a.dev.start();
  try {
    await a.set([
      `public_key=${hex(PEER1)}`,
      'endpoint=192.0.2.9:51820',
      'persistent_keepalive_interval=1',
      'allowed_ip=0.0.0.0/0',
    ]);
    a.tun.inject(icmpEcho('100.64.0.1', '10.0.0.1', 1, 100));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(net.sent.length, 0);
  } finally {
    a.dev.stop();
  }
});
