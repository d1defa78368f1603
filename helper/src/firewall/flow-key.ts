// The flow table's key (conntrack.ts): the peer slot, the local and remote addresses (four words
// each, IPv4 mapped, as parsed.ts reads them), the packed ports and the protocol. The table keeps
// an address's last word in kLocal / kRemote and, for IPv6 only, the first three of both in
// kHigh (HIGH words a slot), so that an IPv4 flow costs the memory and the reads it did before
// IPv6 and kHigh's pages are never touched without IPv6 traffic. The family is a bit of the
// stored protocol (FAMILY6). The hash is murmur3's mixing and finaliser over the key, seeded per
// table so that remote parties cannot aim collisions. An IPv4 key is hashed and probed for by
// numbers (hash4, which V8 inlines into the filter's lookup), an IPv6 key by its words (hash6).

/** HIGH is how many kHigh words an IPv6 flow takes: w0-w2 of its local, then remote address. */
export const HIGH = 6;

/** FAMILY6 marks an IPv6 flow in the stored protocol. */
export const FAMILY6 = 0x100;

/** PROBE is the longest run of slots a key may be placed from its hash. */
export const PROBE = 32;

// Slot states (conntrack.ts's FLOW_STATE): empty ends a probe run, deleted continues it.
const EMPTY = 0;
const DELETED = 1;

/** KeyColumns is what a lookup reads of the flow table (conntrack.ts), a column per key field. */
export interface KeyColumns {
  readonly capacity: number;
  readonly state: Uint8Array;
  readonly kPeer: Uint32Array;
  readonly kLocal: Uint32Array;
  readonly kRemote: Uint32Array;
  readonly kHigh: Uint32Array;
  readonly kPorts: Uint32Array;
  readonly kProto: Uint16Array;
}

/** probe returns the slot in t's probe window from h that holds the key, or -1. pk is the stored
 * protocol (FAMILY6 set for IPv6), local and remote the addresses' last words; an IPv6 key's
 * high words are compared with those of the addresses at addr[lo], addr[ro]. */
export function probe(
  t: KeyColumns,
  h: number,
  peer: number,
  local: number,
  remote: number,
  ports: number,
  pk: number,
  addr: Uint32Array,
  lo: number,
  ro: number,
): number {
  const mask = t.capacity - 1;
  for (let i = 0; i < PROBE; i++) {
    const s = (h + i) & mask;
    const st = t.state[s]!;
    if (st === EMPTY) return -1;
    if (
      st !== DELETED &&
      t.kRemote[s] === remote &&
      t.kPorts[s] === ports &&
      t.kLocal[s] === local &&
      t.kPeer[s] === peer &&
      t.kProto[s] === pk &&
      (pk < FAMILY6 || highEqual(t.kHigh, s, addr, lo, ro))
    )
      return s;
  }
  return -1;
}

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

/** hash4 hashes an IPv4 flow key: the peer slot, the two addresses (their last words, which
 * are the IPv4 addresses), the packed ports and the protocol. */
export function hash4(seed: number, peer: number, local: number, remote: number, ports: number, proto: number): number {
  // Small enough for V8 to inline into the filter's lookup, as the IPv4-only hash was: a call
  // per packet, or one hash for both families, cost a fifth of a decision.
  return fmix(mix(mix(mix(mix(seed ^ proto, peer), local), remote), ports));
}

/** hash6 hashes an IPv6 flow key whose local address is at addr[lo] and remote address at
 * addr[ro]: all eight address words, and a family mark so that no IPv6 key is hashed as an IPv4
 * one would be by construction. */
export function hash6(
  seed: number,
  peer: number,
  addr: Uint32Array,
  lo: number,
  ro: number,
  ports: number,
  proto: number,
): number {
  let h = mix(seed ^ (proto | FAMILY6), peer);
  for (let i = 0; i < 4; i++) h = mix(h, addr[lo + i]!);
  for (let i = 0; i < 4; i++) h = mix(h, addr[ro + i]!);
  return fmix(mix(h, ports));
}

// murmur3's constants.
const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;
const N = 0xe6546b64;

// mix folds one word into the running hash.
function mix(h: number, w: number): number {
  let k = Math.imul(w, C1);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, C2);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + N) | 0;
}

// fmix is murmur3's finaliser, kept within a small integer (callers mask it to at most 24 bits):
// a larger number returned from a call V8 does not inline would be boxed, an allocation.
function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h & 0x3fffffff;
}
