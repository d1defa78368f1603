// The native UDP bind at the largest sizes: a device with a 65,535-byte MTU asks its bind for
// datagrams of MTU + 64 bytes, which must start (the native reader bounds its slots) and
// receive the largest datagram UDP over IPv4 carries whole (65,507 bytes, RFC 768/791).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { HEADROOM, MAX_PACKET, TAILROOM, slotSizeFor } from '../../../../src-shared/lib/native/batch.js';
import { openNativeBind } from './bind.js';
import { MAX_UDP_PAYLOAD } from './send-path.js';

test('slots near 65,535 bytes stay within the native bound instead of rounding past it', () => {
  // 28 bytes of headroom + 1,420 + 32 of tailroom = 1,480, rounded up to 24 cache lines.
  assert.equal(slotSizeFor(1420), 1536, 'cache-line rounding below the bound is kept');
  assert.equal(slotSizeFor(65_535), HEADROOM + MAX_PACKET + TAILROOM);
  assert.equal(slotSizeFor(65_535 + 64, 0), MAX_PACKET + TAILROOM);
});

test('a bind for a 65,535-byte MTU starts and receives a 65,507-byte datagram whole', async () => {
  const rx = openNativeBind('127.0.0.1', 0);
  const tx = openNativeBind('127.0.0.1', 0);
  const got: Buffer[] = [];
  const reader = rx.startReader(
    65_535 + 64,
    (b) => {
      for (let i = 0; i < b.count; i++)
        got.push(Buffer.from(b.buf.subarray(b.offsets[i]!, b.offsets[i]! + b.lengths[i]!)));
    },
    (e) => assert.fail(e),
  );
  try {
    const big = randomBytes(MAX_UDP_PAYLOAD);
    assert.ok(tx.send(big, 0, big.length, Uint32Array.of(0, 0, 0xffff, 0x7f000001), 0, rx.port), 'sent');
    const end = Date.now() + 2000;
    while (got.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    assert.equal(got.length, 1);
    assert.ok(got[0]!.equals(big), 'the datagram arrived whole');
  } finally {
    reader.stop();
    rx.close();
    tx.close();
  }
});
