// PathBind: NAT messages leave the batch before the device sees it, relayed WireGuard is
// unwrapped in place and addressed from its virtual endpoint, garbage from a relay is dropped,
// and datagrams to virtual endpoints go to the relay while the rest leave in one batch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NatKind } from '../../../src-shared/wire/nat-wire.js';
import { relayFrame } from '../../../src-shared/wire/nat-relay.js';
import { FakeNetwork } from '../wireguard/device/fake-io.js';
import type { Batch } from '../../../src-shared/lib/native/batch.js';
import { PathBind, isVirtualEndpoint } from './path-bind.js';

const RELAY = 0xcb007164; // 203.0.113.100
const wg = (n: number): Buffer => Buffer.concat([Buffer.from([4, 0, 0, 0]), Buffer.alloc(28, n)]);

function collect(bind: PathBind): { batches: Array<Array<{ data: Buffer; addr: number; port: number }>> } {
  const out = { batches: [] as Array<Array<{ data: Buffer; addr: number; port: number }>> };
  bind.startReader(
    1500,
    (b: Batch) => {
      const items = [];
      for (let i = 0; i < b.count; i++) {
        items.push({
          data: Buffer.from(b.buf.subarray(b.offsets[i]!, b.offsets[i]! + b.lengths[i]!)),
          addr: b.addrs[i]!,
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

test('inbound: control messages are taken out, relayed WireGuard is unwrapped, unknown relay frames dropped', async () => {
  const net = new FakeNetwork();
  const bind = new PathBind(net.bind(0x0a000001, 51820));
  const controls: Array<{ kind: number; addr: number; port: number }> = [];
  const drops: string[] = [];
  const known = Buffer.from('0102030405060708', 'hex');
  bind.hooks = {
    control: (msg, addr, port) => controls.push({ kind: msg[3]!, addr, port }),
    relayedSource: (addr, port, id) =>
      addr === RELAY && port === 3478 && Buffer.from(id).equals(known) ? { addr: 1, port: 9 } : null,
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
  await settle();
  const got = seen.batches.flat();
  assert.deepEqual(
    got.map((g) => g.data[4]),
    [1, 2, 5],
    'WireGuard, unwrapped relayed WireGuard, WireGuard',
  );
  assert.deepEqual(
    got.map((g) => [g.addr, g.port]),
    [
      [peerAddr, 51820],
      [1, 9],
      [peerAddr, 51820],
    ],
  );
  assert.deepEqual(controls, [
    { kind: NatKind.pong, addr: peerAddr, port: 51820 },
    { kind: NatKind.ping, addr: 1, port: 9 },
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
    relayedSource: () => null,
    dropped: () => undefined,
    relaySend: (addr, port, buf, off, len, deferred) => {
      relayed.push({ addr, port, data: Buffer.from(buf.subarray(off, off + len)), deferred: deferred === true });
      return true;
    },
    relayFlush: () => {
      flushes++;
    },
  };
  const buf = Buffer.concat([wg(1), wg(2), wg(3)]);
  const n = bind.sendBatch(
    buf,
    Uint32Array.of(0, 32, 64),
    Uint32Array.of(32, 32, 32),
    Uint32Array.of(0x0a000002, 1, 0x0a000003),
    Uint16Array.of(1, 7, 2),
    3,
  );
  assert.equal(n, 3);
  assert.deepEqual(
    relayed.map((r) => [r.addr, r.port, r.data[4], r.deferred]),
    [[1, 7, 2, true]],
    'queued with the batch',
  );
  assert.equal(flushes, 1, 'and the queue leaves once, at the end of the batch');
  assert.deepEqual(
    net.sent.map((s) => [s.to, s.data[4]]),
    [
      [`${0x0a000002}:1`, 1],
      [`${0x0a000003}:2`, 3],
    ],
  );
  assert.equal(bind.send(wg(9), 0, 32, 2, 5), true);
  assert.equal(relayed.length, 2);
  assert.equal(relayed[1]!.deferred, false, 'a single send (a handshake) is not held back');
});
