// The crypto pool (native/src/pool.c): a batch split across the JS thread and the workers is
// sealed and opened exactly as node:crypto does packet by packet (RFC 7539 AEAD, WireGuard's
// nonce, whitepaper §5.4.6), every packet in its own slot, for batch sizes 0, 1, odd, a chunk
// boundary, and past one native window (1024); the workers really take part; the pool stops.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, randomBytes, randomInt } from 'node:crypto';
import { aeadOpenBatch, aeadSealMany, aeadThreads, aeadThreadStats, TAG_BYTES } from './index.js';

after(() => aeadThreads(0, 0));

function reference(key: Buffer, counter: number, plain: Buffer): Buffer {
  const nonce = Buffer.alloc(12);
  nonce.writeBigUInt64LE(BigInt(counter), 4);
  const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
  return Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]);
}

/** batchOf lays out n random packets (0..1500 bytes) in 1600-byte slots at offset 16, each
 * under one of three keys with a random counter. */
function batchOf(n: number) {
  const keys = randomBytes(3 * 32);
  const buf = randomBytes(Math.max(1, n) * 1600);
  const offsets = Uint32Array.from({ length: n }, (_, i) => i * 1600 + 16);
  const lengths = Uint32Array.from({ length: n }, () => randomInt(0, 1501));
  const keyIndex = Uint16Array.from({ length: n }, () => randomInt(0, 3));
  const counters = Float64Array.from({ length: n }, () => randomInt(0, 2 ** 40));
  const plain = Array.from({ length: n }, (_, i) => Buffer.from(buf.subarray(offsets[i]!, offsets[i]! + lengths[i]!)));
  return { keys, buf, offsets, lengths, keyIndex, counters, plain };
}

const SIZES = [0, 1, 2, 3, 4, 5, 7, 9, 63, 64, 65, 257, 1023, 1024, 1025, 2049];

for (const workers of [0, 1, 3]) {
  test(`with ${workers} worker(s), batches of ${SIZES.join(', ')} seal and open as node:crypto does`, () => {
    assert.equal(aeadThreads(workers, 0), workers);
    for (const n of [...SIZES, randomInt(1, 600) | 1]) {
      const b = batchOf(n);
      aeadSealMany(b.keys, b.keyIndex, b.counters, b.buf, b.offsets, b.lengths, n);
      for (let i = 0; i < n; i++) {
        const key = b.keys.subarray(32 * b.keyIndex[i]!, 32 * b.keyIndex[i]! + 32);
        const sealed = b.buf.subarray(b.offsets[i]!, b.offsets[i]! + b.lengths[i]! + TAG_BYTES);
        assert.deepEqual(sealed, reference(key, b.counters[i]!, b.plain[i]!), `batch ${n}, packet ${i}`);
      }
      // Every third packet is forged: only those fail, and the others open in place.
      const sealedLengths = b.lengths.map((l) => l + TAG_BYTES);
      for (let i = 0; i < n; i += 3) b.buf[b.offsets[i]! + sealedLengths[i]! - 1]! ^= 0x40;
      const ok = new Uint8Array(n);
      const good = aeadOpenBatch(b.keys, b.keyIndex, b.counters, b.buf, b.offsets, sealedLengths, n, ok);
      assert.equal(good, n - Math.ceil(n / 3), `batch ${n}: how many opened`);
      for (let i = 0; i < n; i++) {
        assert.equal(ok[i], i % 3 === 0 ? 0 : 1, `batch ${n}, packet ${i}`);
        if (i % 3 !== 0)
          assert.deepEqual(b.buf.subarray(b.offsets[i]!, b.offsets[i]! + b.lengths[i]!), b.plain[i], `${n}/${i}`);
      }
    }
  });
}

test('the workers take part in large batches, and below minBytes they do not', () => {
  assert.equal(aeadThreads(1, 0), 1);
  const b = batchOf(1024);
  b.lengths.fill(1420);
  // A worker that wakes late finds the batch done: over many batches it must join some.
  for (let round = 0; round < 500 && aeadThreadStats().workerPackets === 0; round++)
    aeadSealMany(b.keys, b.keyIndex, b.counters, b.buf, b.offsets, b.lengths, 1024);
  assert.ok(aeadThreadStats().workerPackets > 0, JSON.stringify(aeadThreadStats()));
  assert.equal(aeadThreads(1, 1 << 30), 1);
  aeadSealMany(b.keys, b.keyIndex, b.counters, b.buf, b.offsets, b.lengths, 1024);
  assert.deepEqual(aeadThreadStats(), { workers: 1, jobs: 0, workerPackets: 0 });
});

test('aeadThreads(0) stops the workers; bad arguments throw', () => {
  assert.equal(aeadThreads(2, 0), 2);
  assert.equal(aeadThreads(0, 0), 0);
  assert.equal(aeadThreadStats().workers, 0);
  assert.throws(() => aeadThreads(8, 0), RangeError);
  const b = batchOf(2);
  assert.throws(
    () => aeadSealMany(b.keys, b.keyIndex, Float64Array.of(0, 1.5), b.buf, b.offsets, b.lengths, 2),
    /counters\[1\]/,
  );
  assert.throws(
    () => aeadSealMany(b.keys, Uint16Array.of(0, 3), b.counters, b.buf, b.offsets, b.lengths, 2),
    /outside buf or keys/,
  );
});
