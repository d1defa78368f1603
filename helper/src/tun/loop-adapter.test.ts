// The warm-up's adapter: the real adapter code over a descriptor pair. What inject() writes
// reaches the adapter's reader as a batch; what the adapter writes is counted on the other side.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { HEADROOM } from '../../../src-shared/lib/native/batch.js';
import { waitFor } from '../../../src-shared/lib/native/testing.js';
import { openLoopAdapter } from './loop-adapter.js';

test('a loop adapter hands injected packets to its reader and counts what it writes', async () => {
  const fds = readdirSync('/proc/self/fd').length;
  const loop = openLoopAdapter('warm-t', 1420);
  const seen: Buffer[] = [];
  const reader = loop.tun.startReader(
    (b) => {
      for (let i = 0; i < b.count; i++)
        seen.push(Buffer.from(b.buf.subarray(b.offsets[i]!, b.offsets[i]! + b.lengths[i]!)));
    },
    (e) => assert.fail(e),
  );
  let heard = 0;
  loop.onArrive = () => heard++;
  try {
    const packet = Buffer.alloc(84, 0x45);
    assert.equal(loop.inject(packet), true);
    await waitFor(() => seen.length === 1, 5000, 'the injected packet');
    assert.deepEqual(seen[0], packet);
    const out = Buffer.alloc(2 * 1536);
    out.fill(9, HEADROOM, HEADROOM + 60);
    assert.equal(loop.tun.writeBatch(out, Uint32Array.of(HEADROOM, 1536 + HEADROOM), Uint32Array.of(60, 70), 2), 2);
    await waitFor(() => loop.arrived === 2, 5000, 'two written packets');
    assert.ok(heard >= 1);
  } finally {
    reader.stop();
    loop.close();
  }
  assert.equal(loop.inject(Buffer.alloc(20)), false, 'a closed loop adapter accepted a packet');
  assert.equal(readdirSync('/proc/self/fd').length, fds, 'descriptors left open after close');
});
