// IPv6 inside the tunnel: two real devices (real protocol core, real native AEAD) on the fake
// network carry IPv6 packets both ways, route them by destination and check their source
// against the sender's allowed IPs (whitepaper §2), drop malformed headers (RFC 8200 §3) with
// named reasons, and handle inner packets as large as one datagram can carry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { generatePrivateKey, publicKeyFromPrivate } from '../../../../src-shared/lib/keys.js';
import { createLogger } from '../../../../src-shared/lib/log.js';
import { formatIpPrefix } from '../../../../src-shared/lib/ip/addr.js';
import { Firewall } from '../../firewall/filter.js';
import { compile } from '../../firewall/compile.js';
import { FLAGS, icmpMessage, tcp } from '../../firewall/testing.js';
import { parseIPv6 } from '../../../../src-shared/lib/ip/ipv6.js';
import { Device } from './device.js';
import { FakeNetwork, FakeTun, icmpEcho, ipv4, prefix, udp6, type FakeBind } from './fake-io.js';
import type { DevicePeer } from './peer.js';
import { maxInnerFor } from './send-path.js';

const silent = createLogger(0, { write: () => true });
const A6 = 'fd7a:115c:a1e0::1';
const B6 = 'fd7a:115c:a1e0::2';

interface Node {
  dev: Device;
  tun: FakeTun;
  bind: FakeBind;
  /** peer is this node's view of the other one. */
  peer: DevicePeer;
}

/** twoDevices joins a and b; each allows the other's IPv4 /32 and IPv6 /128 unless told otherwise. */
function twoDevices(opts: { mtu?: number; allowedOfA?: string[] } = {}) {
  const now = 1_000_000;
  const net = new FakeNetwork();
  const keys = [generatePrivateKey(), generatePrivateKey()];
  const mtu = opts.mtu ?? 1420;
  const make = (i: number, addr: string, peerAllowed: string[], endpoint?: string): Node => {
    const tun = new FakeTun(`fake${i}`, mtu);
    const bind = net.bind(ipv4(addr), 51820);
    const dev = new Device({ privateKey: keys[i]!, tun, bind, mtu, log: silent, clock: () => now });
    const peer = dev.addPeer({
      publicKey: publicKeyFromPrivate(keys[1 - i]!),
      endpoint: endpoint ? { addr: { family: 4, v4: ipv4(endpoint) }, port: 51820 } : undefined,
      allowedIps: peerAllowed.map(prefix),
      persistentKeepalive: 0,
    });
    return { dev, tun, bind, peer };
  };
  const a = make(0, '192.0.2.1', ['100.64.0.2/32', `${B6}/128`], '192.0.2.2');
  const b = make(1, '192.0.2.2', opts.allowedOfA ?? ['100.64.0.1/32', `${A6}/128`]);
  a.dev.start();
  b.dev.start();
  return {
    a,
    b,
    now: () => now,
    stop: (): void => {
      a.dev.stop();
      b.dev.stop();
    },
  };
}

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 20));
async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await settle();
}

/** connect exchanges one IPv6 packet, so that both sides have a session afterwards. */
async function connect(a: Node, b: Node): Promise<void> {
  a.tun.inject(udp6(A6, B6, Buffer.from('hello')));
  await until(() => b.tun.written.length === 1);
  assert.equal(b.tun.written.length, 1, 'the first IPv6 packet arrives after the handshake');
}

test('IPv6 packets cross both ways, intact and without padding, beside IPv4 on the same peer', async () => {
  const { a, b, stop } = twoDevices();
  try {
    const first = udp6(A6, B6, Buffer.from('hello b'));
    a.tun.inject(first);
    await until(() => b.tun.written.length === 1);
    assert.deepEqual(b.tun.written[0], first, 'staged during the handshake, then delivered as sent');
    // 1,001 bytes: the sender pads to 16 (whitepaper §5.4.6); the receiver cuts it back by the
    // IPv6 payload length.
    const back = udp6(B6, A6, randomBytes(953));
    b.tun.inject(back);
    await until(() => a.tun.written.length === 1);
    assert.equal(a.tun.written[0]!.length, 1001);
    assert.deepEqual(a.tun.written[0], back);
    const v4 = icmpEcho('100.64.0.1', '100.64.0.2', 7, 84);
    a.tun.inject(v4);
    await until(() => b.tun.written.length === 2);
    assert.deepEqual(b.tun.written[1], v4, 'IPv4 still works on a peer that has both families');
    assert.deepEqual(b.dev.drops.snapshot(), {});
    assert.deepEqual(a.dev.drops.snapshot(), {});
  } finally {
    stop();
  }
});

test('an IPv6 source outside the sender’s allowed IPs is dropped by the receiver', async () => {
  const { a, b, stop } = twoDevices();
  try {
    await connect(a, b);
    // A routes by destination to B, but B must refuse a source outside A's allowed IPs, and a
    // mapped form of A's IPv4 address is not A's IPv4 address.
    a.tun.inject(udp6('fd7a:115c:a1e0::99', B6, Buffer.from('spoofed')));
    a.tun.inject(udp6('::ffff:100.64.0.1', B6, Buffer.from('mapped')));
    await until(() => b.dev.drops.get('source-not-allowed') === 2);
    assert.equal(b.dev.drops.get('source-not-allowed'), 2);
    assert.equal(b.tun.written.length, 1);
  } finally {
    stop();
  }
});

test('an IPv6 destination no peer owns is dropped at the sender and counted', async () => {
  const { a, b, stop } = twoDevices();
  try {
    a.tun.inject(udp6(A6, 'fd7a:115c:a1e0::77', Buffer.from('nobody')), udp6(A6, '2001:db8::1', Buffer.from('x')));
    assert.equal(a.dev.drops.get('tun-no-peer'), 2);
    // IPv4 0.0.0.0/0 does not cover IPv6 (addr.ts: the families never mix).
    a.dev.addAllowedIps(a.peer, [prefix('0.0.0.0/0')]);
    a.tun.inject(udp6(A6, '2001:db8::1', Buffer.from('x')));
    assert.equal(a.dev.drops.get('tun-no-peer'), 3);
    await settle();
    assert.equal(b.tun.written.length, 0);
  } finally {
    stop();
  }
});

test('malformed headers from the adapter are dropped with a named reason', () => {
  const { a, stop } = twoDevices();
  try {
    const good = udp6(A6, B6, Buffer.from('payload'));
    const longer = Buffer.from(good);
    longer.writeUInt16BE(good.length - 40 + 1, 4); // payload length one past what was read
    const version5 = Buffer.from(good);
    version5[0] = 0x50;
    a.tun.inject(good.subarray(0, 39), longer, version5, Buffer.alloc(0));
    assert.equal(a.dev.drops.get('tun-bad-length'), 2);
    assert.equal(a.dev.drops.get('tun-bad-version'), 2);
  } finally {
    stop();
  }
});

test('malformed inner headers from an authenticated peer are dropped after decryption', async () => {
  const { a, b, now, stop } = twoDevices();
  try {
    await connect(a, b);
    // The sender's own checks are passed by going straight to its staged-packet flush, which
    // seals whatever it is given: the receiver must not trust a peer's headers either.
    const good = udp6(A6, B6, Buffer.from('payload'));
    const longer = Buffer.from(good);
    longer.writeUInt16BE(0xffff, 4);
    const version7 = Buffer.from(good);
    version7[0] = 0x70;
    a.peer.staged.push(good.subarray(0, 30), longer, version7, good);
    a.dev.flushStaged(a.peer, now());
    await until(() => b.tun.written.length === 2);
    assert.deepEqual(b.tun.written[1], good);
    assert.equal(b.dev.drops.get('inner-bad-length'), 2);
    assert.equal(b.dev.drops.get('inner-bad-version'), 1);
  } finally {
    stop();
  }
});

test('replacing allowed IPs moves IPv6 routing: the old prefix stops, the new one works', async () => {
  const { a, b, stop } = twoDevices();
  try {
    await connect(a, b);
    a.dev.replaceAllowedIps(a.peer, [prefix('fd00:b::/64')]);
    b.dev.replaceAllowedIps(b.peer, [prefix('fd00:a::/64')]);
    a.tun.inject(udp6(A6, B6, Buffer.from('old')));
    assert.equal(a.dev.drops.get('tun-no-peer'), 1);
    const moved = udp6('fd00:a::5', 'fd00:b::7', Buffer.from('new'));
    a.tun.inject(moved);
    await until(() => b.tun.written.length === 2);
    assert.deepEqual(b.tun.written[1], moved);
    assert.deepEqual(a.dev.routes.prefixesOf(a.peer).map(formatIpPrefix), ['fd00:b::/64']);
    assert.equal(a.dev.routes.size, 1);
  } finally {
    stop();
  }
});

test('addAllowedIps lists a prefix once and takes it from another peer; replaceAllowedIps keeps routes it never listed', () => {
  const { a, stop } = twoDevices();
  try {
    const c = a.dev.addPeer({
      publicKey: publicKeyFromPrivate(generatePrivateKey()),
      allowedIps: [prefix('fd00:c::/64')],
      persistentKeepalive: 0,
    });
    a.dev.addAllowedIps(a.peer, [prefix('fd00:c::/64'), prefix('fd00:c::/64'), prefix(`${B6}/128`)]);
    assert.deepEqual(a.peer.allowedIps.map(formatIpPrefix), ['100.64.0.2/32', `${B6}/128`, 'fd00:c::/64']);
    assert.deepEqual(a.dev.routes.prefixesOf(c), [], 'the prefix moved to b');
    // An exit route goes straight into the table (ExitRoutes): it is not an allowed IP.
    a.dev.routes.insert(prefix('10.8.0.0/24'), a.peer);
    a.dev.replaceAllowedIps(a.peer, [prefix('fd00:d::/64')]);
    assert.deepEqual(a.dev.routes.prefixesOf(a.peer).map(formatIpPrefix), ['10.8.0.0/24', 'fd00:d::/64']);
  } finally {
    stop();
  }
});

test('jumbo MTU: the largest packet one datagram holds crosses, one byte more is dropped', async () => {
  const mtu = 65_535;
  const max = maxInnerFor(mtu);
  assert.equal(max, 65_472, '65,472 + 32 bytes of header and tag fit a 65,507-byte UDP payload');
  const { a, b, stop } = twoDevices({ mtu });
  try {
    await connect(a, b);
    const big = udp6(A6, B6, randomBytes(max - 48));
    a.tun.inject(big, udp6(A6, B6, randomBytes(max - 47)));
    await until(() => b.tun.written.length === 2);
    assert.equal(b.tun.written[1]!.length, max);
    assert.deepEqual(b.tun.written[1], big);
    assert.equal(a.dev.drops.get('tun-packet-too-big'), 1);
    const back = udp6(B6, A6, randomBytes(max - 48));
    b.tun.inject(back);
    await until(() => a.tun.written.length === 1);
    assert.deepEqual(a.tun.written[0], back);
  } finally {
    stop();
  }
});

test('with the stateful firewall on both devices, IPv6 TCP is allowed from a to b and refused from b to a', async () => {
  const { a, b, stop } = twoDevices();
  try {
    // a (AAAAA, tag dev) may open tcp/22 on b (BBBBB, tag server); nothing lets b open anything on a.
    const policies = [
      {
        name: 'ssh',
        senders: ['tag:dev'],
        receivers: ['tag:server'],
        acls: [{ protocol: 'tcp' as const, ports: [{ from: 22, to: 22 }] }],
        trustRequirements: [],
        enabled: true,
      },
    ];
    const firewallOf = (self: string, selfTags: string[], peer: string, peerTags: string[], index: number) => {
      const fw = new Firewall();
      fw.setRules(
        compile({
          local: { identity: self, tags: selfTags },
          peers: [{ index, identity: peer, tags: peerTags }],
          policies,
          now: Date.now(),
          mode: 'policy',
        }),
      );
      fw.setLocal(ipv4(self === 'AAAAA' ? '100.64.0.1' : '100.64.0.2'), [], parseIPv6(self === 'AAAAA' ? A6 : B6));
      return fw;
    };
    a.dev.filter = firewallOf('AAAAA', ['dev'], 'BBBBB', ['server'], a.peer.index);
    b.dev.filter = firewallOf('BBBBB', ['server'], 'AAAAA', ['dev'], b.peer.index);
    // a's SYN crosses a's egress check and b's ingress check; b's SYN-ACK matches the flows.
    const syn = tcp(A6, 40000, B6, 22, FLAGS.syn);
    a.tun.inject(syn);
    await until(() => b.tun.written.length === 1);
    assert.deepEqual(b.tun.written[0], syn, 'the SYN arrived intact');
    const synAck = tcp(B6, 22, A6, 40000, FLAGS.synAck);
    b.tun.inject(synAck);
    await until(() => a.tun.written.length === 1);
    assert.deepEqual(a.tun.written[0], synAck, 'the answer came back');
    // b may not open a connection to a: its own firewall stops it on the way out, and a's would on
    // the way in (b's filter is taken away to show it).
    b.tun.inject(tcp(B6, 40001, A6, 22, FLAGS.syn));
    await until(() => b.dev.drops.get('no-policy-egress') === 1);
    assert.equal(b.dev.drops.get('no-policy-egress'), 1);
    b.dev.filter = null;
    b.tun.inject(tcp(B6, 40002, A6, 22, FLAGS.syn), udp6(B6, A6, Buffer.from('x'), 4000, 5000));
    await until(() => a.dev.drops.get('no-policy-ingress') === 2);
    assert.equal(a.dev.drops.get('no-policy-ingress'), 2);
    assert.equal(a.tun.written.length, 1, 'nothing b started reached a');
    // Neighbour discovery never crosses, whatever policy says.
    a.tun.inject(icmpMessage(A6, B6, 135, 0, 20));
    await until(() => a.dev.drops.get('icmpv6-link-only') === 1);
    assert.equal(a.dev.drops.get('icmpv6-link-only'), 1);
  } finally {
    stop();
  }
});
