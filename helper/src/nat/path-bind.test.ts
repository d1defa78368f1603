// PathBind: NAT messages leave the batch before the device sees it, relayed WireGuard is
// unwrapped in place and addressed from its virtual endpoint, garbage from a relay is dropped,
// and datagrams to virtual endpoints go to the relay while the rest leave in one batch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NatKind } from '../../../src-shared/wire/nat-wire.js';
import { relayFrame } from '../../../src-shared/wire/nat-relay.js';
import { FakeNetwork } from '../wireguard/device/fake-io.js';
import type { Batch } from '../../../src-shared/lib/native/batch.js';
import { PathBind, ipv4OfWords, isVirtualEndpoint, isVirtualWords } from './path-bind.js';
import { formatIp } from '../../../src-shared/lib/ip/addr.js';
import { formatWords, wordsAreIPv4 } from '../../../src-shared/lib/ip/words.js';

const V6_PEER = { family: 6, w0: 0x20010db8, w1: 0, w2: 0, w3: 0x99 } as const; // 2001:db8::99
/** mapped returns IPv4 addresses as a batch's address words. */
const mapped = (...v4: number[]): Uint32Array => Uint32Array.from(v4.flatMap((a) => [0, 0, 0xffff, a]));

const RELAY = 0xcb007164; // 203.0.113.100
const wg = (n: number): Buffer => Buffer.concat([Buffer.from([4, 0, 0, 0]), Buffer.alloc(28, n)]);

type Seen = { data: Buffer; addr: number | string; port: number };

/** collect records what reaches the device: an IPv4 source as its number, an IPv6 one as text. */
function collect(bind: PathBind): { batches: Seen[][] } {
  const out = { batches: [] as Seen[][] };
  bind.startReader(
    1500,
    (b: Batch) => {
      const items = [];
      for (let i = 0; i < b.count; i++) {
        items.push({
          data: Buffer.from(b.buf.subarray(b.offsets[i]!, b.offsets[i]! + b.lengths[i]!)),
          addr: wordsAreIPv4(b.addrWords, 4 * i) ? b.addrWords[4 * i + 3]! : formatWords(b.addrWords, 4 * i),
          port: b.ports[i]!,
        });
      }
      out.batches.push(items);
    },
    () => undefined,
  );
  return out;
}

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 20));

test('isVirtualEndpoint is exactly 0.0.0.0/8 without 0.0.0.0', () => {
  assert.equal(isVirtualEndpoint(0), false);
  assert.equal(isVirtualEndpoint(1), true);
  assert.equal(isVirtualEndpoint(0x00ffffff), true);
  assert.equal(isVirtualEndpoint(0x01000000), false);
  assert.equal(isVirtualEndpoint(0xc0000201), false);
});

test('isVirtualWords is a mapped 0.0.0.0/8 only, never an IPv6 address', () => {
  assert.equal(isVirtualWords(mapped(1), 0), true);
  assert.equal(isVirtualWords(mapped(0), 0), false);
  assert.equal(isVirtualWords(Uint32Array.of(0, 0, 0, 1), 0), false, '::1 is not 0.0.0.1');
  assert.equal(isVirtualWords(mapped(0xc0000201, 7), 4), true, 'at the index asked');
});

test('inbound: control messages of either family are taken out, relayed WireGuard is unwrapped, unknown relay frames dropped', async () => {
  const net = new FakeNetwork();
  const bind = new PathBind(net.bind(0x0a000001, 51820));
  const controls: Array<{ kind: number; addr: string; port: number }> = [];
  const drops: string[] = [];
  const known = Buffer.from('0102030405060708', 'hex');
  bind.hooks = {
    control: (msg, addr, port) => controls.push({ kind: msg[3]!, addr: formatIp(addr), port }),
    // The relay is index 0 (virtual endpoints 0.0.0.1:*); the known peer's virtual port is 9.
    relayIndex: (words, at, port) => (ipv4OfWords(words, at) === RELAY && port === 3478 ? 0 : -1),
    relayedPort: (buf, at) => (Buffer.from(buf.subarray(at, at + 8)).equals(known) ? 9 : -1),
    relaySend: () => false,
    relayFlush: () => undefined,
    dropped: (r) => drops.push(r),
  };
  const seen = collect(bind);
  const peerAddr = 0xc6336401;
  const send = (data: Uint8Array, from: number, port: number): void =>
    net.deliver(from, port, 0x0a000001, 51820, Buffer.from(data));
  send(wg(1), peerAddr, 51820);
  send(Buffer.from([0x57, 0x52, 0x4e, NatKind.pong, 1, 2, 3]), peerAddr, 51820);
  send(relayFrame(NatKind.relayRecv, known, wg(2)), RELAY, 3478);
  send(relayFrame(NatKind.relayRecv, Buffer.alloc(8, 9), wg(3)), RELAY, 3478); // unknown id
  send(relayFrame(NatKind.relayRecv, known, wg(4)), peerAddr, 3478); // not from the relay
  send(relayFrame(NatKind.relayRecv, known, Buffer.from([0x57, 0x52, 0x4e, NatKind.ping, 0])), RELAY, 3478);
  send(wg(5), peerAddr, 51820);
  // The socket is dual-stack: an IPv6 source's NAT message reaches the NAT layer too.
  net.deliver(V6_PEER, 51820, 0x0a000001, 51820, Buffer.from([0x57, 0x52, 0x4e, NatKind.pong, 1, 2, 3]));
  net.deliver(V6_PEER, 51820, 0x0a000001, 51820, wg(6));
  await settle();
  const got = seen.batches.flat();
  assert.deepEqual(
    got.map((g) => g.data[4]),
    [1, 2, 5, 6],
    'WireGuard, unwrapped relayed WireGuard, WireGuard, WireGuard from IPv6',
  );
  assert.deepEqual(
    got.map((g) => [g.addr, g.port]),
    [
      [peerAddr, 51820],
      [1, 9],
      [peerAddr, 51820],
      ['2001:db8::99', 51820],
    ],
  );
  assert.deepEqual(controls, [
    { kind: NatKind.pong, addr: '198.51.100.1', port: 51820 },
    { kind: NatKind.ping, addr: '0.0.0.1', port: 9 },
    { kind: NatKind.pong, addr: '2001:db8::99', port: 51820 },
  ]);
  assert.deepEqual(drops, ['relay-frame-refused', 'relay-frame-refused']);
});

test('outbound: virtual endpoints go to the relay, the rest leave together', async () => {
  const net = new FakeNetwork();
  const bind = new PathBind(net.bind(0x0a000001, 51820));
  const relayed: Array<{ addr: number; port: number; data: Buffer; deferred: boolean }> = [];
  let flushes = 0;
  bind.hooks = {
    control: () => undefined,
    relayIndex: () => -1,
    relayedPort: () => -1,
    dropped: () => undefined,
    relaySend: (addr, port, buf, off, len, deferred) => {
      relayed.push({ addr, port, data: Buffer.from(buf.subarray(off, off + len)), deferred: deferred === true });
      return true;
    },
    relayFlush: () => {
      flushes++;
    },
  };
  const buf = Buffer.concat([wg(1), wg(2), wg(3), wg(4)]);
  const words = mapped(0x0a000002, 1, 0x0a000003, 0);
  words.set([V6_PEER.w0, V6_PEER.w1, V6_PEER.w2, V6_PEER.w3], 12);
  const n = bind.sendBatch(
    buf,
    Uint32Array.of(0, 32, 64, 96),
    Uint32Array.of(32, 32, 32, 32),
    words,
    Uint16Array.of(1, 7, 2, 4),
    4,
  );
  assert.equal(n, 4);
  assert.deepEqual(
    relayed.map((r) => [r.addr, r.port, r.data[4], r.deferred]),
    [[1, 7, 2, true]],
    'queued with the batch',
  );
  assert.equal(flushes, 1, 'and the queue leaves once, at the end of the batch');
  assert.deepEqual(
    net.sent.map((s) => [s.to, s.data[4]]),
    [
      ['10.0.0.2:1', 1],
      ['10.0.0.3:2', 3],
      ['[2001:db8::99]:4', 4],
    ],
  );
  assert.equal(bind.send(wg(9), 0, 32, mapped(9, 2), 4, 5), true);
  assert.equal(relayed.length, 2);
  assert.equal(relayed[1]!.deferred, false, 'a single send (a handshake) is not held back');
});

test('inbound: a batch of frames from alternating senders gives each its own port, one lookup per run of a sender', async () => {
  const net = new FakeNetwork();
  const bind = new PathBind(net.bind(0x0a000001, 51820));
  const ids = [Buffer.from('0102030405060708', 'hex'), Buffer.from('0102030405060709', 'hex')];
  let lookups = 0;
  bind.hooks = {
    control: () => undefined,
    relayIndex: (words, at, port) => (ipv4OfWords(words, at) === RELAY && port === 3478 ? 0 : -1),
    relayedPort: (buf, at) => {
      lookups++;
      const i = ids.findIndex((id) => Buffer.from(buf.subarray(at, at + 8)).equals(id));
      return i < 0 ? -1 : 10 + i;
    },
    relaySend: () => false,
    relayFlush: () => undefined,
    dropped: () => undefined,
  };
  const seen = collect(bind);
  // Senders 0 0 1 1 0 ?, then a disco ping from 0 (a control message) and 0 again.
  const order = [0, 0, 1, 1, 0, 2];
  const other = Buffer.alloc(8, 7);
  order.forEach((s, k) =>
    net.deliver(RELAY, 3478, 0x0a000001, 51820, Buffer.from(relayFrame(NatKind.relayRecv, ids[s] ?? other, wg(k)))),
  );
  const ping = Buffer.from([0x57, 0x52, 0x4e, NatKind.ping, 0]);
  net.deliver(RELAY, 3478, 0x0a000001, 51820, Buffer.from(relayFrame(NatKind.relayRecv, ids[0]!, ping)));
  net.deliver(RELAY, 3478, 0x0a000001, 51820, Buffer.from(relayFrame(NatKind.relayRecv, ids[0]!, wg(9))));
  await settle();
  const got = seen.batches.flat();
  assert.equal(seen.batches.length, 1, 'one batch');
  assert.deepEqual(
    got.map((g) => [g.data[4], g.addr, g.port]),
    [
      [0, 1, 10],
      [1, 1, 10],
      [2, 1, 11],
      [3, 1, 11],
      [4, 1, 10],
      [9, 1, 10],
    ],
    'each frame from its own sender; the unknown one dropped',
  );
  // 0, 1, 0, the unknown id, 0 (the ping), and 0 again after the control message ran.
  assert.equal(lookups, 6);
});
