// Order within one received batch: a relay frame that cannot be forwarded in place (its
// destination is registered over IPv6, so it takes the ordinary path and is sent at once) must
// not overtake the in-place frames queued before it for the end of the batch. TCP inside the
// tunnel takes a reordered segment for a lost one (RFC 5681 §3.2), so a relay that reorders
// costs its users throughput.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { NatKind } from '../../src-shared/wire/nat-wire.js';
import * as native from '../../src-shared/lib/native/index.js';
import { copyBatch, LOOPBACK, waitFor } from '../../src-shared/lib/native/testing.js';
import { startRelay } from './sockets.js';
import { recvOf, registerMessage, sendMessage, testCoordinator, testLog, testSystem } from './test-support.js';

const coord = testCoordinator();

test('a coalesced burst for an in-place and an ordinary-path destination leaves the relay in arrival order', async (t) => {
  if (!native.udpOffloadWish().gro || !native.udpOffloadWish().gso) {
    t.skip('UDP offloads are turned off in this environment');
    return;
  }
  const r = await startRelay({
    coordinatorKey: coord.publicKey,
    relayKey: coord.relayKey,
    log: testLog().log,
    udp: '[::]:0',
  });
  // The sender: a native socket, so that its burst goes as one GSO buffer and reaches the relay
  // as one coalesced datagram, i.e. in one batch.
  const a = testSystem(coord, 'a');
  const h = native.udpOpen('127.0.0.1', 0);
  const toA: Buffer[] = [];
  const reader = native.startReader(h.fd, 'udp', { maxBatch: 8, slotSize: 2048, headroom: 0, pool: 2 }, (b) => {
    for (const d of copyBatch(b)) toA.push(d.data);
  });
  // The receiver: one dual-stack socket registered twice, as x over IPv4 (forwarded to in place)
  // and as y over IPv6 (the ordinary path), so one socket sees the relay's output order.
  const [x, y] = [testSystem(coord, 'x'), testSystem(coord, 'y')];
  const rx = createSocket({ type: 'udp6', ipv6Only: false });
  const got: Buffer[] = [];
  rx.on('message', (m) => got.push(m));
  try {
    await new Promise<void>((resolve) => rx.bind(0, '::', () => resolve()));
    const m = registerMessage(a);
    assert.ok(native.udpSend(h.fd, m, 0, m.length, LOOPBACK, 0, r.udpPort!));
    rx.send(registerMessage(x), r.udpPort!, '::ffff:127.0.0.1');
    rx.send(registerMessage(y), r.udpPort!, '::1');
    await waitFor(() => toA.length >= 1 && got.length >= 2, 3000, 'three registrations answered');
    assert.ok(
      toA.concat(got).every((b) => b[3] === NatKind.relayRegistered),
      'all three are registered',
    );
    got.length = 0;

    const n = 20;
    const payloads = Array.from({ length: n }, (_, i) => {
      const p = randomBytes(1000);
      p.writeUInt16BE(i, 0);
      return p;
    });
    burst(
      h.fd,
      r.udpPort!,
      payloads.map((p, i) => sendMessage((i % 2 === 0 ? x : y).id, p)),
    );
    await waitFor(() => got.length >= n, 3000, `${n} relayed frames`);
    assert.ok((r.udpOffloads()?.coalesced ?? 0) > 0, 'the burst reached the relay in one batch');
    const order = got.map((g) => recvOf(g)?.payload.readUInt16BE(0));
    assert.deepEqual(
      order,
      Array.from({ length: n }, (_, i) => i),
      'frames leave in the order they arrived',
    );
    assert.equal(r.relay.stats().forwarded, n);
    assert.deepEqual(r.relay.stats().dropped, {});
  } finally {
    reader.stop();
    native.closeFd(h.fd);
    rx.close();
    await r.close();
  }
});

// burst sends frames (all one size) to 127.0.0.1:port with one udpSendBatch, GSO allowed.
function burst(fd: number, port: number, frames: Buffer[]): void {
  const n = frames.length;
  const buf = Buffer.alloc(n * 2048);
  const offsets = new Uint32Array(n);
  const lengths = new Uint32Array(n);
  const words = new Uint32Array(4 * n);
  const ports = new Uint16Array(n).fill(port);
  frames.forEach((f, i) => {
    offsets[i] = i * 2048;
    lengths[i] = f.length;
    f.copy(buf, offsets[i]);
    words.set(LOOPBACK, 4 * i);
  });
  const gso = new Uint8Array([1]);
  assert.equal(native.udpSendBatch(fd, buf, offsets, lengths, words, ports, n, null, gso), n);
  assert.equal(gso[0], 1, 'loopback takes GSO');
}
