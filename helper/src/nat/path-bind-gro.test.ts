// PathBind on a real UDP socket with UDP GRO, fed the way a relay with UDP GSO feeds it
// (udp(7) UDP_SEGMENT, UDP_GRO): relayRecv frames to one helper leave as one buffer of
// equal-sized segments and a shorter last, and arrive as one buffer that the reader cuts back
// into frames. Each segment is a whole frame with its own header, so each must be checked and
// unwrapped on its own: payloads in order, from the peer's virtual endpoint, a frame from an
// unknown peer dropped without taking its neighbours with it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as native from '../../../src-shared/lib/native/index.js';
import { LOOPBACK, waitFor } from '../../../src-shared/lib/native/testing.js';
import { NatKind } from '../../../src-shared/wire/nat-wire.js';
import { relayFrame } from '../../../src-shared/wire/nat-relay.js';
import { openNativeBind } from '../wireguard/device/bind.js';
import { PathBind, ipv4OfWords } from './path-bind.js';

const PEER_ID = Buffer.from('0102030405060708', 'hex');
const STRANGER_ID = Buffer.alloc(8, 9);
const VIRTUAL = { addr: 1, port: 9 };

/** wgData is a WireGuard transport message's worth of bytes (type 4), numbered i. */
function wgData(i: number, size: number): Buffer {
  const p = randomBytes(size);
  p.writeUInt32LE(4, 0);
  p.writeUInt32LE(i, 8);
  return p;
}

test('a relay GSO burst of frames (the last shorter) reaches the device frame by frame, unwrapped, in order', async (t) => {
  if (!native.udpOffloadWish().gro || !native.udpOffloadWish().gso) {
    t.skip('UDP offloads are turned off in this environment');
    return;
  }
  const relay = native.udpOpen('127.0.0.1', 0);
  const bind = new PathBind(openNativeBind('127.0.0.1', 0));
  const drops: string[] = [];
  bind.hooks = {
    control: () => undefined,
    relayIndex: (words, at, port) =>
      ipv4OfWords(words, at) === 0x7f000001 && port === relay.port ? VIRTUAL.addr - 1 : -1,
    relayedPort: (buf, at) => (Buffer.from(buf.subarray(at, at + 8)).equals(PEER_ID) ? VIRTUAL.port : -1),
    relaySend: () => false,
    relayFlush: () => undefined,
    dropped: (r) => drops.push(r),
  };
  const got: { data: Buffer; addr: number; port: number }[] = [];
  const reader = bind.startReader(
    1500,
    (b) => {
      for (let i = 0; i < b.count; i++) {
        const off = b.offsets[i]!;
        got.push({
          data: Buffer.from(b.buf.subarray(off, off + b.lengths[i]!)),
          addr: ipv4OfWords(b.addrWords, 4 * i),
          port: b.ports[i]!,
        });
      }
    },
    (e) => assert.fail(e),
  );
  try {
    // 39 full frames and a shorter last, as the relay's sendmmsg groups them; frame 20 names a
    // peer this helper does not know.
    const payloads = Array.from({ length: 40 }, (_, i) => wgData(i, i === 39 ? 300 : 1200));
    const frames = payloads.map((p, i) => relayFrame(NatKind.relayRecv, i === 20 ? STRANGER_ID : PEER_ID, p));
    const slot = 2048;
    const buf = Buffer.alloc(frames.length * slot);
    const offsets = new Uint32Array(frames.length);
    const lengths = new Uint32Array(frames.length);
    const words = new Uint32Array(4 * frames.length);
    const ports = new Uint16Array(frames.length);
    frames.forEach((f, i) => {
      offsets[i] = i * slot;
      lengths[i] = f.length;
      buf.set(f, offsets[i]);
      words.set(LOOPBACK, 4 * i);
      ports[i] = bind.port;
    });
    const gso = new Uint8Array([1]);
    assert.equal(native.udpSendBatch(relay.fd, buf, offsets, lengths, words, ports, frames.length, null, gso), 40);
    assert.equal(gso[0], 1, 'loopback takes GSO');
    await waitFor(() => got.length >= 39 && drops.length >= 1, 3000, '39 relayed packets and one drop');
    assert.deepEqual(
      got.map((g) => g.data),
      payloads.filter((_, i) => i !== 20),
      'every payload but the stranger’s, unwrapped, in order, the short last one whole',
    );
    assert.ok(
      got.every((g) => g.addr === VIRTUAL.addr && g.port === VIRTUAL.port),
      'all from the virtual endpoint',
    );
    assert.deepEqual(drops, ['relay-frame-refused']);
    assert.ok((reader.stats().coalesced ?? 0) > 0, 'the burst arrived as one coalesced buffer');
  } finally {
    reader.stop();
    bind.close();
    native.closeFd(relay.fd);
  }
});
