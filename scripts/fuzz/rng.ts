// A small seeded generator for the fuzzer: every choice the engine makes comes from one seed,
// so a run printed as `--seed N` makes the same inputs again. sfc32 (Chris Doty-Humphrey's
// Small Fast Counter) passes PractRand and needs no BigInt on the hot path.

/** Rng is a seeded source of numbers; next() returns an unsigned 32-bit integer. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d = 1;

  constructor(readonly seed: number) {
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = seed >>> 0;
    for (let i = 0; i < 12; i++) this.next();
  }

  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** below returns an integer in [0, n); n must be at least 1. */
  below(n: number): number {
    return n <= 1 ? 0 : Math.floor((this.next() / 0x1_0000_0000) * n);
  }

  /** chance is true with probability 1/n. */
  chance(n: number): boolean {
    return this.below(n) === 0;
  }

  /** pick returns one element of a non-empty list. */
  pick<T>(list: readonly T[]): T {
    return list[this.below(list.length)]!;
  }

  /** bytes returns n random bytes. */
  bytes(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) out[i] = this.next() & 0xff;
    return out;
  }

  /** fork returns a new generator seeded from this one. */
  fork(): Rng {
    return new Rng(this.next());
  }
}

/** hashSeed is FNV-1a over bytes: a generator seeded from an input itself, so a harness's
 * own choices (how to cut a stream into chunks) replay with the input alone. */
export function hashSeed(bytes: Uint8Array, start = 0): number {
  let h = 0x811c9dc5;
  for (let i = start; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h >>> 0;
}
