// The flow table's hash: murmur3's mixing constants and finaliser over the key words, seeded per
// table so that remote parties cannot aim collisions (conntrack.ts). A key is the peer slot, the
// local and remote addresses (four words each, IPv4 mapped), the packed ports and the protocol.

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
  let h = seed ^ proto;
  h = mix(h, peer);
  h = mix(h, addr[lo]!);
  h = mix(h, addr[lo + 1]!);
  h = mix(h, addr[lo + 2]!);
  h = mix(h, addr[lo + 3]!);
  h = mix(h, addr[ro]!);
  h = mix(h, addr[ro + 1]!);
  h = mix(h, addr[ro + 2]!);
  h = mix(h, addr[ro + 3]!);
  h = mix(h, ports);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function mix(h: number, w: number): number {
  let k = Math.imul(w, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}
