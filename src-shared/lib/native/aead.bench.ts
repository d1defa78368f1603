// Micro-benchmark: ChaCha20-Poly1305 over batches of 128 packets of 1420 bytes, the addon's
// batch calls against node:crypto with one cipher object per packet (the naive data path).
// Run: node --import tsx src-shared/lib/native/aead.bench.ts   (or node dist/.../aead.bench.js)
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { aeadOpenBatch, aeadSealBatch, TAG_BYTES } from './index.js';

const BATCH = 128;
const SIZE = 1420;
const SLOT = 16 + SIZE + 32;
const ROUNDS = 400;

const key = randomBytes(32);
const buf = randomBytes(BATCH * SLOT);
const offsets = Uint32Array.from({ length: BATCH }, (_, i) => i * SLOT + 16);
const plainLengths = new Uint32Array(BATCH).fill(SIZE);
const sealedLengths = new Uint32Array(BATCH).fill(SIZE + TAG_BYTES);
const keyIndex = new Uint16Array(BATCH);
const counters = new Float64Array(BATCH);
const ok = new Uint8Array(BATCH);
const nonce = Buffer.alloc(12);

/** nsPerPacket times `round` (one batch) over ROUNDS rounds after a warm-up. */
function nsPerPacket(round: (r: number) => void): number {
  for (let r = 0; r < 20; r++) round(r);
  const start = process.hrtime.bigint();
  for (let r = 0; r < ROUNDS; r++) round(r);
  return Number(process.hrtime.bigint() - start) / (ROUNDS * BATCH);
}

function sealNode(r: number): void {
  for (let i = 0; i < BATCH; i++) {
    nonce.writeBigUInt64LE(BigInt(r * BATCH + i), 4);
    const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
    const at = offsets[i]!;
    c.update(buf.subarray(at, at + SIZE)).copy(buf, at);
    c.final();
    c.getAuthTag().copy(buf, at + SIZE);
  }
}

function openNode(r: number): void {
  for (let i = 0; i < BATCH; i++) {
    nonce.writeBigUInt64LE(BigInt(r * BATCH + i), 4);
    const d = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
    const at = offsets[i]!;
    d.setAuthTag(buf.subarray(at + SIZE, at + SIZE + TAG_BYTES));
    d.update(buf.subarray(at, at + SIZE)).copy(buf, at);
    d.final();
  }
}

const seal = nsPerPacket((r) => aeadSealBatch(key, r * BATCH, buf, offsets, plainLengths, BATCH));
const sealNodeNs = nsPerPacket(sealNode);
// Opening needs fresh ciphertext each round, so these rounds seal first and the seal time is
// subtracted afterwards.
const sealOpen = nsPerPacket((r) => {
  aeadSealBatch(key, r * BATCH, buf, offsets, plainLengths, BATCH);
  for (let i = 0; i < BATCH; i++) counters[i] = r * BATCH + i;
  if (aeadOpenBatch(key, keyIndex, counters, buf, offsets, sealedLengths, BATCH, ok) !== BATCH)
    throw new Error('open failed');
});
const sealOpenNode = nsPerPacket((r) => {
  sealNode(r);
  openNode(r);
});

const rows: Array<[string, number]> = [
  ['aeadSealBatch', seal],
  ['createCipheriv per packet', sealNodeNs],
  ['aeadOpenBatch', sealOpen - seal],
  ['createDecipheriv per packet', sealOpenNode - sealNodeNs],
];
console.log(`ChaCha20-Poly1305, ${BATCH} x ${SIZE}-byte packets per batch, ${ROUNDS} batches`);
for (const [name, ns] of rows) console.log(`  ${name.padEnd(28)} ${ns.toFixed(0).padStart(6)} ns/packet`);
console.log(
  `  speed-up: seal ${(sealNodeNs / seal).toFixed(1)}x, open ${((sealOpenNode - sealNodeNs) / (sealOpen - seal)).toFixed(1)}x`,
);
