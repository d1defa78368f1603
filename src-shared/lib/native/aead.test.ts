// The native ChaCha20-Poly1305 against Node's own (RFC 7539 AEAD with WireGuard's nonce layout,
// WireGuard whitepaper §5.4.6), tamper detection, the batch forms, and argument checking.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, randomBytes } from 'node:crypto';
import { aeadOpen, aeadOpenBatch, aeadSeal, aeadSealBatch, MAX_COUNTER, TAG_BYTES } from './index.js';

/** reference seals with node:crypto: ciphertext || tag. */
function reference(key: Buffer, counter: number, plain: Buffer): Buffer {
  const nonce = Buffer.alloc(12);
  nonce.writeBigUInt64LE(BigInt(counter), 4);
  const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
  return Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]);
}

const COUNTERS = [0, 1, 2 ** 32 + 5, MAX_COUNTER];
const LENGTHS = [0, 1, 15, 16, 1420];
const OFFSET = 7; // an unaligned offset, as inside a batch slot

for (const counter of COUNTERS) {
  for (const length of LENGTHS) {
    test(`aeadSeal/aeadOpen match node:crypto, counter ${counter}, ${length} bytes`, () => {
      const key = randomBytes(32);
      const plain = randomBytes(length);
      const buf = Buffer.alloc(OFFSET + length + TAG_BYTES + 5, 0xee);
      plain.copy(buf, OFFSET);
      aeadSeal(key, counter, buf, OFFSET, length);
      assert.deepEqual(buf.subarray(OFFSET, OFFSET + length + TAG_BYTES), reference(key, counter, plain));
      assert.equal(buf[OFFSET - 1], 0xee, 'byte before the packet untouched');
      assert.equal(buf[OFFSET + length + TAG_BYTES], 0xee, 'byte after the tag untouched');

      const sealed = Buffer.from(buf);
      assert.equal(aeadOpen(key, counter, buf, OFFSET, length + TAG_BYTES), true);
      assert.deepEqual(buf.subarray(OFFSET, OFFSET + length), plain);

      for (let i = 0; i < length + TAG_BYTES; i++) {
        const t = Buffer.from(sealed);
        t[OFFSET + i]! ^= 0x01;
        assert.equal(aeadOpen(key, counter, t, OFFSET, length + TAG_BYTES), false, `flipped byte ${i}`);
      }
      const other = counter === 0 ? 1 : counter - 1;
      assert.equal(aeadOpen(key, other, Buffer.from(sealed), OFFSET, length + TAG_BYTES), false, 'wrong counter');
      assert.equal(
        aeadOpen(randomBytes(32), counter, Buffer.from(sealed), OFFSET, length + TAG_BYTES),
        false,
        'wrong key',
      );
    });
  }
}

test('aeadOpen of a region shorter than a tag is false, not an error', () => {
  assert.equal(aeadOpen(randomBytes(32), 0, Buffer.alloc(15), 0, 15), false);
});

/** layout places packets of the given lengths in slots of 1500 bytes at offset 16. */
function layout(lengths: number[]) {
  const buf = randomBytes(lengths.length * 1500);
  const offsets = Uint32Array.from(lengths, (_, i) => i * 1500 + 16);
  return { buf, offsets, lengths: Uint32Array.from(lengths) };
}

test('aeadSealBatch equals aeadSeal per packet with consecutive counters', () => {
  const key = randomBytes(32);
  const lens = [0, 1, 64, 1420, 300];
  const batch = layout(lens);
  const single = Buffer.from(batch.buf);
  const first = 2 ** 40;
  aeadSealBatch(key, first, batch.buf, batch.offsets, batch.lengths, lens.length);
  lens.forEach((len, i) => aeadSeal(key, first + i, single, batch.offsets[i]!, len));
  assert.deepEqual(batch.buf, single);
});

test('aeadOpenBatch opens each packet with its own key and counter and flags failures', () => {
  const keys = randomBytes(3 * 32);
  const keyOf = (k: number) => keys.subarray(k * 32, k * 32 + 32);
  const lens = [100, 0, 1420, 50, 20, 26]; // sealed lengths, tag included
  const keyIndex = Uint16Array.from([2, 0, 1, 2, 0, 1]);
  const counters = Float64Array.from([5, 0, MAX_COUNTER, 7, 9, 11]);
  const plain = layout(lens.map((l) => l - TAG_BYTES).map((l) => Math.max(l, 0)));
  const buf = Buffer.from(plain.buf);
  lens.forEach((len, i) => {
    if (len >= TAG_BYTES) aeadSeal(keyOf(keyIndex[i]!), counters[i]!, buf, plain.offsets[i]!, len - TAG_BYTES);
  });
  buf[plain.offsets[3]! + 2]! ^= 0x80; // forged packet
  counters[4] = 10; // replayed under the wrong counter
  const ok = new Uint8Array(lens.length);
  const n = aeadOpenBatch(keys, keyIndex, counters, buf, plain.offsets, Uint32Array.from(lens), lens.length, ok);
  // Packet 1 is shorter than a tag (0 bytes), so it cannot open either.
  assert.deepEqual([...ok], [1, 0, 1, 0, 0, 1]);
  assert.equal(n, 3);
  for (const i of [0, 2, 5]) {
    const at = plain.offsets[i]!;
    const len = lens[i]! - TAG_BYTES;
    assert.deepEqual(buf.subarray(at, at + len), plain.buf.subarray(at, at + len), `packet ${i} plaintext`);
  }
});

test('aeadOpenBatch fails packets whose wire counter is not a safe integer instead of throwing', () => {
  const key = randomBytes(32);
  const buf = Buffer.alloc(64);
  aeadSeal(key, 3, buf, 0, 16);
  for (const bad of [-1, 0.5, 2 ** 53, NaN, Infinity]) {
    const ok = Uint8Array.of(9);
    const n = aeadOpenBatch(
      key,
      Uint16Array.of(0),
      Float64Array.of(bad),
      Buffer.from(buf),
      Uint32Array.of(0),
      Uint32Array.of(32),
      1,
      ok,
    );
    assert.equal(n, 0, `counter ${bad}`);
    assert.equal(ok[0], 0);
  }
});

test('aeadSealBatch seals the packets its arrays named at the call when they share memory with them', () => {
  // offsets sits in the first bytes of packet 0, so sealing packet 0 scrambles offsets[1]: the
  // addon copies the spans before it seals anything (and before workers could see them).
  const mem = new ArrayBuffer(256);
  const buf = Buffer.from(mem);
  const offsets = new Uint32Array(mem, 0, 2);
  offsets.set([0, 100]);
  const key = randomBytes(32);
  const plain1 = randomBytes(32);
  plain1.copy(buf, 100);
  aeadSealBatch(key, 0, buf, offsets, Uint32Array.of(32, 32), 2);
  assert.deepEqual(buf.subarray(100, 148), reference(key, 1, plain1));
});

const key = randomBytes(32);
const buf = Buffer.alloc(64);
const bad: Array<[string, () => unknown, typeof TypeError | typeof RangeError]> = [
  ['short key', () => aeadSeal(randomBytes(31), 0, buf, 0, 16), RangeError],
  ['long key', () => aeadOpen(randomBytes(33), 0, buf, 0, 32), RangeError],
  ['key not bytes', () => aeadSeal('k'.repeat(32) as unknown as Buffer, 0, buf, 0, 16), TypeError],
  ['negative counter', () => aeadSeal(key, -1, buf, 0, 16), RangeError],
  ['fractional counter', () => aeadSeal(key, 1.5, buf, 0, 16), RangeError],
  ['counter 2^53', () => aeadOpen(key, 2 ** 53, buf, 0, 32), RangeError],
  ['counter not a number', () => aeadSeal(key, 1n as unknown as number, buf, 0, 16), TypeError],
  ['no room for the tag', () => aeadSeal(key, 0, buf, 40, 10), RangeError],
  ['offset beyond the buffer', () => aeadOpen(key, 0, buf, 65, 0), RangeError],
  ['negative offset', () => aeadSeal(key, 0, buf, -1, 1), RangeError],
  [
    'batch span beyond the buffer',
    () => aeadSealBatch(key, 0, buf, Uint32Array.of(0, 40), Uint32Array.of(1, 10), 2),
    RangeError,
  ],
  [
    'batch count beyond the arrays',
    () => aeadSealBatch(key, 0, buf, Uint32Array.of(0), Uint32Array.of(1), 2),
    RangeError,
  ],
  [
    'batch counters past 2^53 - 1',
    () => aeadSealBatch(key, MAX_COUNTER, buf, Uint32Array.of(0, 20), Uint32Array.of(1, 1), 2),
    RangeError,
  ],
  [
    'offsets of the wrong type',
    () => aeadSealBatch(key, 0, buf, new Int32Array(1) as unknown as Uint32Array, Uint32Array.of(1), 1),
    TypeError,
  ],
  [
    'keys not a multiple of 32',
    () =>
      aeadOpenBatch(
        randomBytes(33),
        Uint16Array.of(0),
        Float64Array.of(0),
        buf,
        Uint32Array.of(0),
        Uint32Array.of(16),
        1,
        new Uint8Array(1),
      ),
    RangeError,
  ],
  [
    'keyIndex beyond the keys',
    () =>
      aeadOpenBatch(
        key,
        Uint16Array.of(1),
        Float64Array.of(0),
        buf,
        Uint32Array.of(0),
        Uint32Array.of(16),
        1,
        new Uint8Array(1),
      ),
    RangeError,
  ],
  [
    'ok array too short',
    () =>
      aeadOpenBatch(
        key,
        Uint16Array.of(0),
        Float64Array.of(0),
        buf,
        Uint32Array.of(0),
        Uint32Array.of(16),
        1,
        new Uint8Array(0),
      ),
    RangeError,
  ],
  [
    'counters of the wrong type',
    () =>
      aeadOpenBatch(
        key,
        Uint16Array.of(0),
        new Float32Array(1) as unknown as Float64Array,
        buf,
        Uint32Array.of(0),
        Uint32Array.of(16),
        1,
        new Uint8Array(1),
      ),
    TypeError,
  ],
];
for (const [name, call, type] of bad) {
  test(`AEAD rejects ${name} with ${type.name}`, () => {
    const before = Buffer.from(buf);
    assert.throws(call, type);
    assert.deepEqual(buf, before, 'nothing was modified');
  });
}
