// The warm-up's native pieces: a descriptor pair that keeps packet boundaries as a TUN does, so
// the 'tun' reader and tunWriteBatch run over it unchanged, and buffers of the hidden class the
// readers' batches have (which a Buffer made in JS does not share).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeFd, startReader, tunWriteBatch } from './index.js';
import { MAX_READER_BUFFER, packetPair, readerBuffer } from './loop.js';
import { copyBatch, MODES, waitFor, type Received } from './testing.js';

test('readerBuffer is zeroed, of the size asked, and refuses sizes out of range', () => {
  const b = readerBuffer(4096);
  assert.ok(Buffer.isBuffer(b));
  assert.equal(b.length, 4096);
  assert.ok(b.every((x) => x === 0));
  assert.throws(() => readerBuffer(0), RangeError);
  assert.throws(() => readerBuffer(MAX_READER_BUFFER + 1), RangeError);
  assert.throws(() => readerBuffer(-1), RangeError);
});

for (const mode of MODES) {
  test(`packetPair carries one packet per write to a ${mode} 'tun' reader, boundaries kept, both ways`, async () => {
    const [a, b] = packetPair();
    const got: Received[] = [];
    const reader = startReader(b, 'tun', { maxBatch: 8, slotSize: 2048, headroom: 16, pool: 2, mode }, (batch) =>
      got.push(...copyBatch(batch)),
    );
    try {
      const buf = Buffer.alloc(300);
      buf.fill(1, 0, 100).fill(2, 100, 300);
      assert.equal(tunWriteBatch(a, buf, Uint32Array.of(0, 100), Uint32Array.of(100, 200), 2), 2);
      await waitFor(() => got.length === 2, 5000, 'two packets');
      assert.deepEqual(
        got.map((r) => r.data),
        [Buffer.alloc(100, 1), Buffer.alloc(200, 2)],
      );
    } finally {
      reader.stop();
      closeFd(a);
      closeFd(b);
    }
  });
}

test("a readerBuffer has the hidden class of a reader's batch buffer, and Buffer.alloc's does not", () => {
  const url = (p: string): string => JSON.stringify(new URL(p, import.meta.url).href);
  const script = `
import { closeFd, startReader, tunWriteBatch } from ${url('./index.js')};
import { packetPair, readerBuffer } from ${url('./loop.js')};
const [a, b] = packetPair();
const batch = await new Promise((resolve) => {
  const r = startReader(b, 'tun', { maxBatch: 4, slotSize: 2048, headroom: 16, pool: 1, mode: 'poll' }, (x) => {
    r.stop();
    resolve(x);
  });
  tunWriteBatch(a, Buffer.alloc(64, 7), Uint32Array.of(0), Uint32Array.of(64), 1);
});
closeFd(a);
closeFd(b);
console.log(JSON.stringify({ native: %HaveSameMap(readerBuffer(64), batch.buf), js: %HaveSameMap(Buffer.alloc(64), batch.buf) }));
`;
  const r = spawnSync(process.execPath, ['--allow-natives-syntax', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout.trim()), { native: true, js: false });
});
