// Addresses as four words in a Uint32Array, the form in which packet batches carry UDP sources
// and destinations across the native boundary (src-shared/lib/native/batch.ts): word i of the
// address at index `at` is words[at + i], host order, w0 the most significant, as in ipv6.ts.
// An IPv4 address is always written IPv4-mapped, ::ffff:a.b.c.d (RFC 4291 §2.5.5.2), so that
// comparing two endpoints is four integer comparisons whatever their families, with no
// allocation; reading one back as an IpAddress unmaps it to family 4 (addr.ts keeps the two
// families apart everywhere else).
import { formatIPv4 } from './ipv4.js';
import { formatIPv6 } from './ipv6.js';
import type { IpAddress } from './addr.js';

/** WORDS is the number of words an address takes. */
export const WORDS = 4;

/** wordsAreIPv4 tells whether the address at `at` is IPv4-mapped (::ffff:0:0/96), i.e. IPv4. */
export function wordsAreIPv4(words: Uint32Array, at: number): boolean {
  return words[at] === 0 && words[at + 1] === 0 && words[at + 2] === 0xffff;
}

/** readWordsAddress reads the address at `at`; a mapped one comes back as family 4. */
export function readWordsAddress(words: Uint32Array, at: number): IpAddress {
  if (wordsAreIPv4(words, at)) return { family: 4, v4: words[at + 3]! };
  return { family: 6, w0: words[at]!, w1: words[at + 1]!, w2: words[at + 2]!, w3: words[at + 3]! };
}

/** writeWordsAddress writes the address at `at`, an IPv4 one mapped. */
export function writeWordsAddress(words: Uint32Array, at: number, a: IpAddress): void {
  if (a.family === 4) writeWordsIPv4(words, at, a.v4);
  else {
    words[at] = a.w0;
    words[at + 1] = a.w1;
    words[at + 2] = a.w2;
    words[at + 3] = a.w3;
  }
}

/** writeWordsIPv4 writes ipv4.ts's number at `at` as ::ffff:a.b.c.d. */
export function writeWordsIPv4(words: Uint32Array, at: number, v4: number): void {
  words[at] = 0;
  words[at + 1] = 0;
  words[at + 2] = 0xffff;
  words[at + 3] = v4;
}

/** copyWords copies the address at `from` of src to `to` of dst. */
export function copyWords(src: Uint32Array, from: number, dst: Uint32Array, to: number): void {
  dst[to] = src[from]!;
  dst[to + 1] = src[from + 1]!;
  dst[to + 2] = src[from + 2]!;
  dst[to + 3] = src[from + 3]!;
}

/** wordsEqual tells whether the addresses at a[ai] and b[bi] are the same. */
export function wordsEqual(a: Uint32Array, ai: number, b: Uint32Array, bi: number): boolean {
  return a[ai] === b[bi] && a[ai + 1] === b[bi + 1] && a[ai + 2] === b[bi + 2] && a[ai + 3] === b[bi + 3];
}

/** wordsAreZero tells whether the address at `at` is :: (no address: a TUN batch, an unknown family). */
export function wordsAreZero(words: Uint32Array, at: number): boolean {
  return words[at] === 0 && words[at + 1] === 0 && words[at + 2] === 0 && words[at + 3] === 0;
}

/** formatWords writes the address at `at` as a.b.c.d (mapped) or in RFC 5952 form, for logs. */
export function formatWords(words: Uint32Array, at: number): string {
  if (wordsAreIPv4(words, at)) return formatIPv4(words[at + 3]!);
  return formatIPv6({ w0: words[at]!, w1: words[at + 1]!, w2: words[at + 2]!, w3: words[at + 3]! });
}

/**
 * sourceNetworkKey groups a source by the network one holder of addresses usually has: an IPv4
 * /24 (a number, no allocation) or an IPv6 /64 (a string), the unit of fairness between
 * sources. A /64 is one IPv6 subnet, since interface identifiers are 64 bits (RFC 4291 §2.5.4,
 * RFC 7421), and a single host may use any address of it; keys of the two families never collide.
 */
export function sourceNetworkKey(words: Uint32Array, at: number): number | string {
  if (wordsAreIPv4(words, at)) return words[at + 3]! >>> 8;
  return `${words[at]!.toString(16)}:${words[at + 1]!.toString(16)}::/64`;
}

/**
 * sourceRateKey names one sender for per-source rate limits: an IPv4 address, or the /64 of an
 * IPv6 address (as wireguard-go's rate limiter does), since one host may hold all of its /64.
 */
export function sourceRateKey(a: IpAddress): string {
  if (a.family === 4) return formatIPv4(a.v4);
  return `${formatIPv6({ w0: a.w0, w1: a.w1, w2: 0, w3: 0 })}/64`;
}
