// Packet batches: the unit in which packets cross the native boundary. A reader thread fills
// one fixed block of memory with up to maxBatch packets, one per slot, and hands it to JS in a
// single call; JS processes the batch in place and must not keep references to it afterwards,
// because the block is reused for a later batch.
//
// Slot layout (slotSize bytes each):  [HEADROOM][packet: lengths[i] bytes ...][>= TAILROOM]
// HEADROOM lets the device write the 16-byte WireGuard data header in front of a TUN packet, and
// TAILROOM lets it pad to 16 bytes and append the 16-byte Poly1305 tag, so a packet is encrypted
// where it was read, with no copy.

/** HEADROOM is the free space before each packet in a slot (WireGuard data header size). */
export const HEADROOM = 16;
/** TAILROOM is the free space reserved after the largest packet (padding up to 15 + tag 16). */
export const TAILROOM = 32;
/** MAX_BATCH is how many packets one batch carries at most (wireguard-go uses 128 too). */
export const MAX_BATCH = 128;

/** PacketBatch is one batch of packets handed over by a reader. */
export interface PacketBatch {
  buf: Buffer;
  count: number;
  /** packet i starts at offsets[i]. Read-only for consumers: the native reader fills this table
   * once per reader and reuses it for every batch (only lengths, addrs and ports are rewritten). */
  offsets: Uint32Array;
  lengths: Uint32Array; // and is lengths[i] bytes long
  addrs: Uint32Array; // UDP only: source IPv4, host order
  ports: Uint16Array; // UDP only: source port
}

/** BatchReader is a running reader thread. */
export interface BatchReader {
  stop(): void;
  stats(): { batches: number; packets: number; truncated: number; errors: number };
}

/** slotSizeFor returns the slot size that holds a packet of `maxPacket` bytes with room. */
export function slotSizeFor(maxPacket: number): number {
  const need = HEADROOM + maxPacket + TAILROOM;
  return (need + 63) & ~63; // cache-line aligned slots
}
