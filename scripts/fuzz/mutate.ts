// Mutations of the fuzzer: byte-level ones for every harness (libFuzzer's set: bit flips,
// interesting integers at any offset and width, inserts, deletes, duplicated and copied
// ranges, splices with another corpus entry, truncation, dictionary tokens) and, for harnesses
// whose input is JSON, changes to the parsed tree (a value swapped for an interesting one,
// members removed, duplicated or renamed), so that mutants get past the syntax and reach the
// validators behind it.
import type { Rng } from './rng.js';

/** MutationContext is what a mutation may draw on besides the input itself. */
export interface MutationContext {
  rng: Rng;
  /** other returns another corpus entry, for splices. */
  other(): Buffer;
  dictionary: readonly Buffer[];
  maxLen: number;
}

// Values at the edges of 8, 16 and 32-bit fields, signed and unsigned.
const INTERESTING = [
  0, 1, 2, 3, 4, 7, 8, 15, 16, 31, 32, 63, 64, 100, 127, 128, 255, 256, 511, 512, 1000, 1024, 4096, 32767, 32768, 65535,
  65536, 0x7fffffff, 0x80000000, 0xffffffff,
];

type Mutator = (b: Buffer, c: MutationContext) => Buffer;

function offset(b: Buffer, c: MutationContext): number {
  return c.rng.below(b.length + 1);
}

function insert(b: Buffer, at: number, piece: Buffer): Buffer {
  return Buffer.concat([b.subarray(0, at), piece, b.subarray(at)]);
}

function overwrite(b: Buffer, at: number, piece: Buffer): Buffer {
  const out = Buffer.from(b);
  piece.copy(out, at, 0, Math.max(0, Math.min(piece.length, out.length - at)));
  return out;
}

function range(b: Buffer, c: MutationContext): [number, number] {
  const start = c.rng.below(b.length + 1);
  const len = c.rng.below(Math.min(b.length - start, c.rng.chance(4) ? 4096 : 32) + 1);
  return [start, start + len];
}

// writeInteger writes v at `at` in 1, 2 or 4 bytes, either byte order, clipped to the buffer.
function writeInteger(b: Buffer, at: number, v: number, c: MutationContext): Buffer {
  const width = c.rng.pick([1, 2, 4]);
  const piece = Buffer.alloc(4);
  if (c.rng.chance(2)) piece.writeUInt32BE(v >>> 0, 0);
  else piece.writeUInt32LE(v >>> 0, 0);
  const bytes = piece.subarray(c.rng.chance(2) ? 4 - width : 0).subarray(0, width);
  return overwrite(b, at, bytes);
}

const MUTATORS: Mutator[] = [
  // bit flip
  (b, c) => {
    if (b.length === 0) return b;
    const out = Buffer.from(b);
    out[c.rng.below(out.length)]! ^= 1 << c.rng.below(8);
    return out;
  },
  // random byte
  (b, c) => (b.length === 0 ? c.rng.bytes(1) : overwrite(b, c.rng.below(b.length), c.rng.bytes(1))),
  // small arithmetic on a byte
  (b, c) => {
    if (b.length === 0) return b;
    const out = Buffer.from(b);
    const at = c.rng.below(out.length);
    out[at] = (out[at]! + c.rng.below(35) - 17) & 0xff;
    return out;
  },
  // an interesting integer
  (b, c) => writeInteger(b, c.rng.below(Math.max(1, b.length)), c.rng.pick(INTERESTING), c),
  // a length that matches the input or what follows the offset: length fields
  (b, c) => {
    const at = c.rng.below(Math.max(1, b.length));
    const lens = [b.length, b.length - at, b.length - at - 2, b.length - at - 4, b.length + 1, b.length - 1];
    return writeInteger(b, at, Math.max(0, c.rng.pick(lens)), c);
  },
  // insert random bytes
  (b, c) => insert(b, offset(b, c), c.rng.bytes(1 + c.rng.below(8))),
  // insert a repeated byte, sometimes many
  (b, c) => insert(b, offset(b, c), Buffer.alloc(1 + c.rng.below(c.rng.chance(8) ? 2048 : 16), c.rng.next() & 0xff)),
  // delete a range
  (b, c) => {
    const [s, e] = range(b, c);
    return Buffer.concat([b.subarray(0, s), b.subarray(e)]);
  },
  // duplicate a range in place
  (b, c) => {
    const [s, e] = range(b, c);
    const piece = Buffer.from(b.subarray(s, e));
    const times = c.rng.chance(8) ? 1 + c.rng.below(64) : 1;
    return insert(b, e, Buffer.concat(Array.from({ length: times }, () => piece)));
  },
  // copy a range over another place
  (b, c) => {
    const [s, e] = range(b, c);
    return overwrite(b, c.rng.below(Math.max(1, b.length)), Buffer.from(b.subarray(s, e)));
  },
  // truncate
  (b, c) => b.subarray(0, c.rng.below(b.length + 1)),
  // splice: a prefix of this input, a suffix of another
  (b, c) => {
    const o = c.other();
    return Buffer.concat([b.subarray(0, c.rng.below(b.length + 1)), o.subarray(c.rng.below(o.length + 1))]);
  },
  // splice: a piece of another input inserted
  (b, c) => {
    const o = c.other();
    const s = c.rng.below(o.length + 1);
    return insert(b, offset(b, c), o.subarray(s, s + c.rng.below(o.length - s + 1)));
  },
  // dictionary token, inserted or written over
  (b, c) => {
    if (c.dictionary.length === 0) return b;
    const token = c.rng.pick(c.dictionary);
    return c.rng.chance(2) ? insert(b, offset(b, c), token) : overwrite(b, c.rng.below(Math.max(1, b.length)), token);
  },
  // swap two bytes
  (b, c) => {
    if (b.length < 2) return b;
    const out = Buffer.from(b);
    const i = c.rng.below(out.length);
    const j = c.rng.below(out.length);
    [out[i], out[j]] = [out[j]!, out[i]!];
    return out;
  },
];

/** mutateBytes applies one to five byte-level mutations and keeps the result within maxLen. */
export function mutateBytes(input: Buffer, c: MutationContext): Buffer {
  let b = input;
  const n = 1 + c.rng.below(c.rng.chance(4) ? 8 : 3);
  for (let i = 0; i < n; i++) b = c.rng.pick(MUTATORS)(b, c);
  return b.length > c.maxLen ? b.subarray(0, c.maxLen) : b;
}
