// The flow table's key (conntrack.ts): the peer slot, the local and remote addresses (four words
// each, IPv4 mapped, as parsed.ts reads them), the packed ports and the protocol. The table keeps
// an address's last word in kLocal / kRemote and, for IPv6 only, the first three of both in
// kHigh (HIGH words a slot), so that an IPv4 flow costs the memory and the reads it did before
// IPv6 and kHigh's pages are never touched without IPv6 traffic. The family is a bit of the
// stored protocol (FAMILY6). The hash is murmur3's mixing and finaliser over the key, seeded per
// table so that remote parties cannot aim collisions.

/** HIGH is how many kHigh words an IPv6 flow takes: w0-w2 of its local, then remote address. */
export const HIGH = 6;

/** FAMILY6 marks an IPv6 flow in the stored protocol. */
export const FAMILY6 = 0x100;

/** isMapped tells whether the address at addr[at] is IPv4 (::ffff:a.b.c.d). */
export function isMapped(addr: Uint32Array, at: number): boolean {
  return addr[at] === 0 && addr[at + 1] === 0 && addr[at + 2] === 0xffff;
}

/** highEqual tells whether slot s's high words are those of the addresses at addr[lo], addr[ro]. */
export function highEqual(high: Uint32Array, s: number, addr: Uint32Array, lo: number, ro: number): boolean {
  const a = s * HIGH;
  return (
    high[a] === addr[lo] &&
    high[a + 1] === addr[lo + 1] &&
    high[a + 2] === addr[lo + 2] &&
    high[a + 3] === addr[ro] &&
    high[a + 4] === addr[ro + 1] &&
    high[a + 5] === addr[ro + 2]
  );
}

/** writeHigh stores the high words of the addresses at addr[lo], addr[ro] as slot s's. */
export function writeHigh(high: Uint32Array, s: number, addr: Uint32Array, lo: number, ro: number): void {
  const a = s * HIGH;
  high[a] = addr[lo]!;
  high[a + 1] = addr[lo + 1]!;
  high[a + 2] = addr[lo + 2]!;
  high[a + 3] = addr[ro]!;
  high[a + 4] = addr[ro + 1]!;
  high[a + 5] = addr[ro + 2]!;
}

/** hashKey hashes a flow key whose local address is at addr[lo] and remote address at addr[ro]. */
export function hashKey(
  seed: number,
  peer: number,
  addr: Uint32Array,
  lo: number,
  ro: number,
  ports: number,
  proto: number,
): number {
  // An IPv4 address (mapped: ::ffff:a.b.c.d) is hashed by its last word alone, so an IPv4 key
  // costs what it did before IPv6; an IPv6 key mixes all eight words and a family mark. Within a
  // family the words hashed tell every key apart, so no collision can be aimed without the seed.
  let h: number;
  if (isMapped(addr, lo)) {
    // The IPv4 path mixes its four words (peer, the two addresses' last words, ports) written
    // out: V8 does not inline mix() this deep on the hot path, and a call per word, or a loop
    // choosing the word, cost a third of a denied packet's decision.
    let k = Math.imul(peer, C1);
    h = seed ^ proto ^ Math.imul((k << 15) | (k >>> 17), C2);
    h = (Math.imul((h << 13) | (h >>> 19), 5) + N) | 0;
    k = Math.imul(addr[lo + 3]!, C1);
    h ^= Math.imul((k << 15) | (k >>> 17), C2);
    h = (Math.imul((h << 13) | (h >>> 19), 5) + N) | 0;
    k = Math.imul(addr[ro + 3]!, C1);
    h ^= Math.imul((k << 15) | (k >>> 17), C2);
    h = (Math.imul((h << 13) | (h >>> 19), 5) + N) | 0;
    k = Math.imul(ports, C1);
    h ^= Math.imul((k << 15) | (k >>> 17), C2);
    h = (Math.imul((h << 13) | (h >>> 19), 5) + N) | 0;
  } else {
    h = mix(seed ^ (proto | FAMILY6), peer);
    for (let i = 0; i < 4; i++) h = mix(h, addr[lo + i]!);
    for (let i = 0; i < 4; i++) h = mix(h, addr[ro + i]!);
    h = mix(h, ports);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  // Kept within a small integer (callers mask it to at most 24 bits): a larger number returned
  // from a call V8 does not inline would be boxed, an allocation per packet.
  return h & 0x3fffffff;
}

// murmur3's constants.
const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;
const N = 0xe6546b64;

function mix(h: number, w: number): number {
  let k = Math.imul(w, C1);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, C2);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + N) | 0;
}
