// Packet batches: the unit in which packets cross the native boundary. A reader thread fills
// one fixed block of memory with up to maxBatch packets, one per slot, and hands it to JS in a
// single call; JS processes the batch in place and must not keep references to it afterwards,
// because the block is reused for a later batch.
//
// Slot layout (slotSize bytes each):  [HEADROOM][packet: lengths[i] bytes ...][>= TAILROOM]
// HEADROOM lets the device write the 16-byte WireGuard data header in front of a TUN packet, and
// TAILROOM lets it pad to 16 bytes and append the 16-byte Poly1305 tag, so a packet is encrypted
// where it was read, with no copy. The SEND_ROOM bytes before the data header stay free, so a
// sealed datagram that goes through a relay gets the relay's header written in front of it
// there, again with no copy.

/** DATA_HEADER is the WireGuard transport message header (whitepaper §5.4.6). */
export const DATA_HEADER = 16;
/** SEND_ROOM is what stays free before each sealed datagram of a slot: room for the largest
 * header a path wraps datagrams in (a relay frame's 12 bytes, src-shared/wire/nat-relay.ts). */
export const SEND_ROOM = 12;
/** HEADROOM is the free space before each packet in a slot: SEND_ROOM, then the data header. */
export const HEADROOM = SEND_ROOM + DATA_HEADER;
/**
 * TAILROOM is the number of bytes a reader leaves free at the end of every slot, after the
 * largest packet it accepts, so that the data path can pad a packet to 16 bytes and append the
 * 16-byte Poly1305 tag in place. A slot holds at most `slotSize - headroom - TAILROOM` packet
 * bytes; longer packets are skipped and counted in `stats().truncated`.
 */
export const TAILROOM = 32;

/** MAX_BATCH is how many packets one batch carries at most (wireguard-go uses 128 too). */
export const MAX_BATCH = 128;

/**
 * Batch is one batch of packets from a reader, handed to `onBatch` on the event loop.
 *
 * Memory contract: every reader owns `pool` Batch objects (one in 'poll' mode), created once
 * at start, and hands the same objects (same Buffer, same typed arrays) over again and again.
 * While onBatch runs the batch belongs to JS and may be modified in place (decrypt, prepend
 * headers into the headroom, append tags into the tailroom). Once onBatch returns, the reader
 * may overwrite it at any moment: keep no reference to `buf` or the arrays, copy what must
 * outlive the call, and never transfer or detach their ArrayBuffers (postMessage/structuredClone
 * transfer lists).
 */
export interface Batch {
  /** buf is the whole pool entry: maxBatch slots of slotSize bytes. */
  buf: Buffer;
  /** count is the number of packets in this batch (at least 1). */
  count: number;
  /** offsets[i] is where packet i starts: always i * slotSize + headroom. Read-only for
   * consumers: a reader fills this table once and reuses it for every batch (only lengths,
   * addrWords, ports, localWords and ifindex are rewritten). */
  offsets: Uint32Array;
  /** lengths[i] is the length of packet i. */
  lengths: Uint32Array;
  /**
   * addrWords[4i .. 4i+3] is the source address of datagram i as four host-order words, w0 the
   * most significant (src-shared/lib/ip/words.ts). An IPv4 source, on an AF_INET socket or a
   * dual-stack one, is always IPv4-mapped: 0, 0, 0xffff, a<<24|b<<16|c<<8|d. All zeros for TUN.
   */
  addrWords: Uint32Array;
  /** ports[i] is the source UDP port of datagram i; 0 for TUN. */
  ports: Uint16Array;
  /**
   * localWords[4i .. 4i+3] is the local address datagram i arrived on: the destination the
   * sender wrote to, one of this host's addresses (ip(7) IP_PKTINFO, ipv6(7) IPV6_PKTINFO),
   * in the form of addrWords, IPv4 mapped even on a dual-stack socket. It is what a reply
   * should leave from (udpSendBatch's localWords). All zeros when unknown, and for TUN.
   */
  localWords: Uint32Array;
  /** ifindex[i] is the index of the interface datagram i arrived on; 0 when unknown, and for TUN. */
  ifindex: Uint32Array;
}

/** MAX_PACKET is the largest packet a reader slot holds: an IP packet's 16-bit length field
 * (RFC 791 §3.1, RFC 8200 §3 without jumbograms); the native reader refuses larger slots. */
export const MAX_PACKET = 65_535;

/**
 * slotSizeFor returns the slot size that holds a packet of `maxPacket` bytes (at most
 * MAX_PACKET) after `headroom` bytes, with TAILROOM. Slots are rounded up to cache lines, except
 * where that would pass the native reader's bound of headroom + MAX_PACKET + TAILROOM (MTUs near
 * 65,535).
 */
export function slotSizeFor(maxPacket: number, headroom = HEADROOM): number {
  const need = headroom + Math.min(maxPacket, MAX_PACKET) + TAILROOM;
  return Math.min((need + 63) & ~63, headroom + MAX_PACKET + TAILROOM);
}

/** MAX_BATCH_BYTES caps the memory of one batch: at 64 KiB slots (an MTU that may grow to
 * 65,535) a full batch of MAX_BATCH would pin 8 MiB per reader for packets that rarely come. */
export const MAX_BATCH_BYTES = 2 * 1024 * 1024;

/** batchFor is how many slots of slotSize one batch carries: MAX_BATCH, fewer for huge slots. */
export function batchFor(slotSize: number): number {
  return Math.max(8, Math.min(MAX_BATCH, Math.floor(MAX_BATCH_BYTES / slotSize)));
}
