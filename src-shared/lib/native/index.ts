// The native fast path of the WireGuard data plane (DESIGN.md "Performance facts"): TUN and
// UDP descriptors, reader threads that hand JS whole batches of packets, batched writes and
// sends, and in-place ChaCha20-Poly1305, each one N-API call per batch rather than per packet;
// and the boottime clock of the protocol timers.
//
// Errors: a failed system call throws an Error whose message names the operation and the errno
// text ("TUNSETIFF warren0: Operation not permitted") and whose `.code` is the errno name
// ('EPERM'). A bad argument (wrong type, offset outside the buffer, count beyond an array, key
// not 32 bytes) throws TypeError or RangeError: those are bugs in the caller. Conditions caused
// by network input or the network itself (a packet the kernel refuses, an unreachable peer, a
// full socket buffer, a forged tag) never throw: they show in the return values.
import { loadAddon } from './load.js';
import type {
  AeadThreadStats,
  Batch,
  PeerCredentials,
  Reader,
  ReaderKind,
  ReaderOptions,
  SpliceDone,
  TunHandle,
  UdpHandle,
} from './types.js';

export type {
  Batch,
  PeerCredentials,
  Reader,
  ReaderKind,
  ReaderMode,
  AeadThreadStats,
  ReaderOptions,
  ReaderStats,
  SpliceDone,
  SpliceEnd,
  TunHandle,
  UdpHandle,
  WakeTickerStats,
} from './types.js';
export { KEY_BYTES, MAX_COUNTER, SPLICE_END, TAG_BYTES, TAILROOM } from './types.js';
export { DEFAULT_READER_MODES, READER_MODE_ENV, readerMode } from './mode.js';
export {
  OFFLOAD_ENV,
  TUN_GRO_ENV,
  TUN_OFFLOAD_ENV,
  UDP_GRO_ENV,
  UDP_GSO_ENV,
  tunOffloadWish,
  udpOffloadWish,
  type TunOffloads,
  type UdpOffloads,
} from './offload.js';
export { THREADS_ENV, threadsWish, type ThreadsWish } from './threads.js';
export { WAKE_TICKER_ENV, wakeTicker, wakeTickerStats, wakeTickerWish } from './ticker.js';

/**
 * tunOpen creates (or attaches to) the TUN device `name` (at most 15 bytes; "" or a pattern
 * like "wg%d" lets the kernel number it) with IFF_TUN|IFF_NO_PI: packets are bare IP. The
 * descriptor is non-blocking and close-on-exec; the device disappears when it is closed.
 *
 * With `offload` it asks for IFF_VNET_HDR and the segmentation offloads (TUNSETOFFLOAD with
 * TUN_F_CSUM|TUN_F_TSO4|TUN_F_TSO6, and TUN_F_USO4|TUN_F_USO6 where the kernel has them): the
 * handle's vnetHdr, tso and uso say what was granted. A device with vnetHdr must be read with
 * startReader's vnetHdr option and written with tunWriteBatch's mode 1 or 2; when the kernel
 * refuses, the device is opened plain (vnetHdr false) and is used as without offload.
 */
export function tunOpen(name: string, offload = false): TunHandle {
  return loadAddon().tunOpen(name, offload);
}

/**
 * udpOpen binds a non-blocking UDP socket on bindIp:port (port 0 picks a free one) with 8 MiB
 * socket buffers where the system allows, and without SO_REUSEADDR. An IPv4 literal gives an
 * AF_INET socket; an IPv6 literal an AF_INET6 one with IPV6_V6ONLY=1; "::" an AF_INET6 one with
 * IPV6_V6ONLY=0, which receives and sends both families (IPv4 peers as ::ffff:a.b.c.d). A
 * kernel without IPv6 throws EAFNOSUPPORT for an IPv6 bindIp (see udpOpenDualStack). The
 * socket reports each datagram's local address (IP_PKTINFO, or IPV6_RECVPKTINFO, which on a
 * dual-stack socket covers IPv4 too): see Batch.localWords.
 */
export function udpOpen(bindIp: string, port: number): UdpHandle {
  return loadAddon().udpOpen(bindIp, port);
}

let ipv6FallbackReported = false;

/**
 * udpOpenWithFallback is udpOpen, except that "::" on a kernel without IPv6 (socket() fails with
 * EAFNOSUPPORT: ipv6.disable=1, or no IPv6 built in) opens 0.0.0.0 instead, which serves the
 * IPv4 peers that are all such a system can reach. `warn` hears of it once per process.
 */
export function udpOpenWithFallback(bindIp: string, port: number, warn: (msg: string) => void): UdpHandle {
  try {
    return udpOpen(bindIp, port);
  } catch (e) {
    if (bindIp !== '::' || (e as NodeJS.ErrnoException).code !== 'EAFNOSUPPORT') throw e;
    if (!ipv6FallbackReported) {
      ipv6FallbackReported = true;
      warn(`this system has no IPv6 (${(e as Error).message}): listening on UDP 0.0.0.0 only`);
    }
    return udpOpen('0.0.0.0', port);
  }
}

/** setMark sets SO_MARK on a socket (0 clears it); the full tunnel's policy routing keys on it. */
export function setMark(fd: number, mark: number): void {
  loadAddon().setMark(fd, mark);
}

/** closeFd closes a descriptor from this module (a running reader keeps its own duplicate). */
export function closeFd(fd: number): void {
  loadAddon().closeFd(fd);
}

/**
 * peerCredentials returns SO_PEERCRED of a connected Unix socket; it throws EAFNOSUPPORT for
 * other sockets and ENOTCONN when there is no peer, rather than returning made-up credentials.
 */
export function peerCredentials(fd: number): PeerCredentials {
  return loadAddon().peerCredentials(fd);
}

/**
 * startReader starts reading packets from `fd` and calls onBatch with batches of them on the
 * event loop (see Batch for the memory contract and ReaderOptions for the pool). 'tun' reads a
 * TUN device; 'udp' receives datagrams with their source address, and with the local address
 * each arrived on if the socket reports it (a socket from udpOpen does). opts.mode picks a reader
 * thread ('thread', the default) or reading on the event loop when libuv reports the
 * descriptor readable ('poll'); ReaderMode weighs the two. A running reader keeps the process
 * alive, like a listening socket, until stop().
 *
 * The reader reads a duplicate of `fd`, so closing `fd` while it runs is safe, but the device
 * or socket then stays open (and a TUN device stays up) until stop().
 */
export function startReader(fd: number, kind: ReaderKind, opts: ReaderOptions, onBatch: (b: Batch) => void): Reader {
  // The addon passes the count beside the batch and leaves the store to JS, where it is one
  // monomorphic property store instead of a name lookup through the N-API (reader.h).
  // Anything but a function goes through as it is, for the addon to refuse.
  const deliver =
    typeof onBatch === 'function'
      ? (b: Batch, count: number): void => {
          b.count = count;
          onBatch(b);
        }
      : onBatch;
  return loadAddon().startReader(fd, kind, opts, deliver);
}

/**
 * TunWriteMode says how tunWriteBatch writes: 0 bare packets (a plain device), 1 each packet
 * behind an all-zero virtio_net_hdr (a vnetHdr device), 2 as 1 but TCP segments of one flow
 * are first coalesced into super-packets (the checksums of merged segments are verified first;
 * merged headers in `buf` are rewritten in place).
 */
export type TunWriteMode = 0 | 1 | 2;

/**
 * tunWriteBatch writes packets i < count (buf[offsets[i]], lengths[i] bytes) to the TUN device
 * and returns how many the kernel took (a coalesced write counts every packet in it). A packet
 * it refuses (malformed: EINVAL; no memory or queue: ENOBUFS, EAGAIN) is dropped and the rest
 * still go. Any other error ends the batch; it throws if nothing was written, otherwise the
 * next call reports it.
 */
export function tunWriteBatch(
  fd: number,
  buf: Uint8Array,
  offsets: Uint32Array,
  lengths: Uint32Array,
  count: number,
  mode: TunWriteMode = 0,
): number {
  return loadAddon().tunWriteBatch(fd, buf, offsets, lengths, count, mode);
}

/**
 * vnetSplit runs the reader's splitter on one read of a vnetHdr device (a virtio_net_hdr and
 * the packet) with slots of `cap` packet bytes, and returns the packets it makes: [] when it
 * drops the read. For tests: the reader does the same before a batch reaches JS.
 */
export function vnetSplit(frame: Uint8Array, cap: number): Buffer[] {
  return loadAddon().vnetSplit(frame, cap);
}

/**
 * vnetCoalesce returns the writes tunWriteBatch's mode 2 would make of the batch, each a
 * virtio_net_hdr and the bytes after it, and rewrites merged headers in `buf` as it would. For
 * tests.
 */
export function vnetCoalesce(buf: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number): Buffer[] {
  return loadAddon().vnetCoalesce(buf, offsets, lengths, count);
}

/**
 * udpSendBatch sends datagram i < count (buf[offsets[i]], lengths[i] bytes) to the address at
 * addrWords[4i .. 4i+3] (four host-order words, IPv4 mapped: see Batch.addrWords), port
 * ports[i], with sendmmsg, and returns how many were sent. On an AF_INET socket a mapped
 * address goes out as IPv4 and any other IPv6 address is not sent; on an AF_INET6 socket every
 * address goes out as IPv6 (a mapped one reaches IPv4 only if the socket is dual-stack). A full
 * socket buffer (EAGAIN, ENOBUFS) drops the rest of the batch; a destination the kernel refuses
 * (unreachable, filtered, bad address, a link-local IPv6 address, which needs a scope id this
 * form does not carry) drops that datagram only. Other errors throw if nothing was sent,
 * otherwise the next call reports them.
 *
 * Source: with localWords, datagram i leaves from the local address at localWords[4i .. 4i+3]
 * (same form as addrWords; all zeros lets the kernel choose, as without localWords), set per
 * datagram with an IP_PKTINFO (ip(7)) or IPV6_PKTINFO (RFC 3542 §6.1) control message. When
 * the kernel refuses a source as no longer usable (it is not one of the host's addresses any
 * more: ENETUNREACH for IPv4, EINVAL for IPv6, or EADDRNOTAVAIL), the datagram is sent again
 * once with the kernel's choice, and that source is zeroed in localWords for it and for the
 * later datagrams of the batch that had the same one, so the caller can see it was dropped.
 *
 * GSO: with gsoState[0] == 1 (only where udpGsoSupported), consecutive datagrams to the same
 * destination from the same source, of one size except a shorter last one, leave as one
 * sendmsg with a UDP_SEGMENT control message (up to 64 datagrams, 65,507 bytes), which the
 * kernel or the NIC cuts back into the same datagrams: the receiver cannot tell. When the
 * kernel refuses to segment (EIO: the device or route cannot; EMSGSIZE, or EINVAL before Linux
 * 6.12: a segment passes the path MTU; EINVAL: no UDP checksums; ENOPROTOOPT, EOPNOTSUPP), that
 * group goes again as plain datagrams and gsoState[0] is set to 0, so later calls with the same
 * state send plainly (except for EINVAL from a message that named its source, which a stale
 * IPv6 source causes too). The return value counts datagrams either way. A gsoState of two
 * or more bytes also keeps the socket's family in [1] (4 or 6, 0 until the first call learns
 * it), which spares each later call a getsockopt; a state belongs to one socket.
 */
export function udpSendBatch(
  fd: number,
  buf: Uint8Array,
  offsets: Uint32Array,
  lengths: Uint32Array,
  addrWords: Uint32Array,
  ports: Uint16Array,
  count: number,
  localWords?: Uint32Array | null,
  gsoState?: Uint8Array | null,
): number {
  return loadAddon().udpSendBatch(fd, buf, offsets, lengths, addrWords, ports, count, localWords, gsoState);
}

/**
 * udpGsoSupported tells whether the kernel knows UDP GSO (udp(7) UDP_SEGMENT, Linux 4.18+) on
 * this socket. Only then may udpSendBatch be given a gsoState of 1: an older kernel ignores the
 * control message and would send one oversized datagram.
 */
export function udpGsoSupported(fd: number): boolean {
  return loadAddon().udpGsoSupported(fd);
}

/**
 * udpSend sends one datagram (handshakes, cookies) to the address at
 * addrWords[wordIndex .. wordIndex+3], port `port`, with the rules of udpSendBatch; false means
 * it was not sent. Taking the words where they already are (a peer's endpoint, a batch's
 * source) keeps the call free of allocation. With localWords it leaves from the source at
 * localWords[wordIndex .. wordIndex+3], which falls over and is zeroed as in udpSendBatch.
 */
export function udpSend(
  fd: number,
  buf: Uint8Array,
  offset: number,
  length: number,
  addrWords: Uint32Array,
  wordIndex: number,
  port: number,
  localWords?: Uint32Array | null,
): boolean {
  return loadAddon().udpSend(fd, buf, offset, length, addrWords, wordIndex, port, localWords);
}

/**
 * aeadSeal encrypts buf[offset, offset+length) in place with ChaCha20-Poly1305 as WireGuard
 * transport messages use it (nonce = 4 zero bytes || 64-bit little-endian counter, no
 * associated data) and writes the 16-byte tag at offset+length. counter: integer in
 * [0, 2^53 - 1]; key: 32 bytes.
 */
export function aeadSeal(key: Uint8Array, counter: number, buf: Uint8Array, offset: number, length: number): void {
  loadAddon().aeadSeal(key, counter, buf, offset, length);
}

/**
 * aeadOpen checks and decrypts buf[offset, offset+length) in place, `length` including the tag,
 * and returns whether the tag was valid. After false the plaintext region holds garbage.
 */
export function aeadOpen(key: Uint8Array, counter: number, buf: Uint8Array, offset: number, length: number): boolean {
  return loadAddon().aeadOpen(key, counter, buf, offset, length);
}

/** aeadSealBatch seals packet i < count as aeadSeal does, with counter firstCounter + i. */
export function aeadSealBatch(
  key: Uint8Array,
  firstCounter: number,
  buf: Uint8Array,
  offsets: Uint32Array,
  lengths: Uint32Array,
  count: number,
): void {
  loadAddon().aeadSealBatch(key, firstCounter, buf, offsets, lengths, count);
}

/**
 * aeadOpenBatch opens packet i < count as aeadOpen does, with key number keyIndex[i] of `keys`
 * (32 bytes each) and counter counters[i], sets ok[i] to 1 or 0 and returns how many opened.
 * Counters come from the wire, so one that is not an integer in [0, 2^53 - 1], like a packet
 * shorter than a tag, just fails its packet.
 */
export function aeadOpenBatch(
  keys: Uint8Array,
  keyIndex: Uint16Array,
  counters: Float64Array,
  buf: Uint8Array,
  offsets: Uint32Array,
  lengths: Uint32Array,
  count: number,
  ok: Uint8Array,
): number {
  return loadAddon().aeadOpenBatch(keys, keyIndex, counters, buf, offsets, lengths, count, ok);
}

/**
 * aeadSealMany seals packet i < count as aeadSeal does, with key number keyIndex[i] of `keys`
 * (32 bytes each) and counter counters[i] (an integer in [0, 2^53 - 1], else it throws): one
 * call for a batch whose packets go to several peers.
 */
export function aeadSealMany(
  keys: Uint8Array,
  keyIndex: Uint16Array,
  counters: Float64Array,
  buf: Uint8Array,
  offsets: Uint32Array,
  lengths: Uint32Array,
  count: number,
): void {
  loadAddon().aeadSealMany(keys, keyIndex, counters, buf, offsets, lengths, count);
}

/**
 * aeadThreads replaces this thread's crypto pool with `workers` threads (0..7; 0 stops them)
 * that help every batch call (aeadSealBatch, aeadSealMany, aeadOpenBatch) of at least minBytes
 * bytes; the call still returns only when the whole batch is done. Returns the workers running.
 */
export function aeadThreads(workers: number, minBytes: number): number {
  return loadAddon().aeadThreads(workers, minBytes);
}

/** aeadThreadStats reports the crypto pool (see AeadThreadStats). */
export function aeadThreadStats(): AeadThreadStats {
  return loadAddon().aeadThreadStats();
}

/**
 * boottimeMs reads CLOCK_BOOTTIME: milliseconds since boot, as a double with sub-millisecond
 * precision, counting the time the machine was suspended. It never goes back and never falls
 * behind CLOCK_MONOTONIC (process.hrtime, performance.now), which stops during suspend. The
 * WireGuard timers (whitepaper §6) run on it, as the kernel's do, so that keypairs age while
 * the machine sleeps and are retired after a resume. It is not wall-clock time.
 */
export function boottimeMs(): number {
  return loadAddon().boottimeMs();
}

/**
 * idleOtherThreads moves every thread of the process except the calling (main) one to
 * SCHED_IDLE and returns how many it moved; it throws from any other thread. Threads started
 * later keep their class. The helper calls it at start with WARREN_BACKGROUND_THREADS=idle (an
 * experiment, off by default), before the data plane starts threads of its own, so that Node's
 * V8 platform workers and any libuv pool thread get a core only when no normal thread wants one
 * (native/src/sched.c, helper/src/daemon/background-threads.ts).
 */
export function idleOtherThreads(): number {
  return loadAddon().idleOtherThreads();
}

/**
 * spliceInit starts the splice pump (native/src/splice.c) once per process and names the
 * callback that hears of every pair it ends; later calls from the same JS thread return false
 * and keep the first callback. The pump is one thread that relays every spliced pair with
 * splice(2), so the bytes never pass through JS.
 */
export function spliceInit(onDone: SpliceDone): boolean {
  return loadAddon().spliceInit(onDone);
}

/**
 * spliceStart relays between two connected, non-blocking TCP sockets in both directions until
 * both have sent FIN (each FIN is passed on as a shutdown of the other's write side), either
 * fails, or neither moves a byte for idleMs (0: never). It returns the pair's id. The caller
 * must not read, write or close either descriptor until onDone reports the id or spliceStop
 * returns.
 */
export function spliceStart(fdA: number, fdB: number, idleMs: number): number {
  return loadAddon().spliceStart(fdA, fdB, idleMs);
}

/** spliceStop ends a pair at once (onDone is not called); false if it had ended already. */
export function spliceStop(id: number): boolean {
  return loadAddon().spliceStop(id);
}

/** spliceCount is how many pairs the pump relays now. */
export function spliceCount(): number {
  return loadAddon().spliceCount();
}
