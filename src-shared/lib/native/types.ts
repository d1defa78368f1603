// Types of the native addon's API (native/src). The functions themselves are exported,
// with their contracts, from index.ts; the batch layout is in batch.ts.
import type { Batch } from './batch.js';

export type { Batch } from './batch.js';
export { TAILROOM } from './batch.js';

/** KEY_BYTES is the ChaCha20-Poly1305 key size. */
export const KEY_BYTES = 32;

/** TAG_BYTES is the Poly1305 tag size that aeadSeal appends and aeadOpen checks. */
export const TAG_BYTES = 16;

/** MAX_COUNTER is the largest nonce counter the AEAD functions accept (2^53 - 1). */
export const MAX_COUNTER = Number.MAX_SAFE_INTEGER;

/** ReaderKind selects how a reader reads: read() on a TUN device or recvmmsg() on UDP. */
export type ReaderKind = 'tun' | 'udp';

/**
 * ReaderMode selects where a reader reads.
 *
 * - 'thread': a native thread waits for packets, reads them and queues the batch to the event
 *   loop. Reading overlaps with JS work (more throughput on a busy path), but every batch
 *   costs two thread wake-ups: the reader thread's, then the event loop's.
 * - 'poll': the event loop itself watches the descriptor (libuv's epoll), reads and calls
 *   onBatch synchronously: one wake-up, so lower latency, but reading waits while JS is busy.
 *   A wake-up reads at most 8 full batches before letting other events run. Only one pool
 *   entry is used, whatever `pool` says.
 */
export type ReaderMode = 'thread' | 'poll';

/** ReaderOptions shapes a reader's pool. */
export interface ReaderOptions {
  /** maxBatch is the most packets one batch carries (1 to 1024). */
  maxBatch: number;
  /** slotSize is the bytes per packet slot: headroom + largest packet + TAILROOM at least. */
  slotSize: number;
  /** headroom is free space before each packet, e.g. for a header written in place (0 to 4096). */
  headroom: number;
  /**
   * pool is how many batches may be in flight (1 to 64; 4 is a good value). When JS holds all
   * of them the thread stops reading and the kernel queue absorbs, then drops, the excess.
   * Checked but otherwise ignored in 'poll' mode, where a batch is never in flight.
   */
  pool: number;
  /**
   * vnetHdr reads a 'tun' reader's device as opened with IFF_VNET_HDR (TunHandle.vnetHdr): each
   * read's virtio_net_hdr is checked and removed, a TCP or UDP super-packet is split into
   * packets of its segment size with their headers and checksums completed, and a partial
   * checksum (NEEDS_CSUM) is completed, so batches look as they do without offloads. A read the
   * splitter refuses (malformed, or a segment larger than a slot) counts as truncated.
   */
  vnetHdr?: boolean;
  /** mode is where the reader reads (see ReaderMode); 'thread' when absent. */
  mode?: ReaderMode;
  /**
   * gro turns on UDP GRO for a 'udp' reader's socket (udp(7) UDP_GRO): the kernel may then hand
   * over several datagrams of one flow in one buffer, which the reader splits back into one
   * datagram per slot, so batches look the same. It costs 1 MiB of receive buffers per reader.
   * Where the kernel refuses, the reader runs without it: Reader.gro() says which.
   */
  gro?: boolean;
  /**
   * onError receives, at most once, the error that ended the reader (the device disappeared,
   * the descriptor was closed...). It has `.code` (e.g. 'EBADFD') and names the operation.
   * The reader reads no more, but stop() must still be called to close its descriptor.
   */
  onError?: (err: NodeJS.ErrnoException) => void;
}

/** ReaderStats are a reader's counters since it started. */
export interface ReaderStats {
  batches: number;
  packets: number;
  /** truncated counts packets skipped because they did not fit a slot. */
  truncated: number;
  /** errors counts failed reads, including the fatal one reported to onError. */
  errors: number;
  /** coalesced counts UDP GRO buffers that carried more than one datagram (GRO readers only). */
  coalesced?: number;
  /** split counts TUN super-packets split into more than one packet (vnetHdr readers only). */
  split?: number;
}

/** Reader is a running reader. */
export interface Reader {
  /**
   * stop ends the reader (wakes and joins the thread, or stops the poll watcher), closes the
   * reader's duplicate of the descriptor and releases its hold on the event loop; no callback
   * runs after it returns, even for batches already queued or packets already read in the
   * same wake-up. Calling it again does nothing. It may be called from inside onBatch.
   */
  stop(): void;
  stats(): ReaderStats;
  /** gro tells whether the reader receives with UDP GRO (asked for and granted by the kernel). */
  gro(): boolean;
}

/** TunHandle is an open TUN device. */
export interface TunHandle {
  fd: number;
  /** name is the kernel's name for the device (it expands patterns like "wg%d"). */
  name: string;
  /** vnetHdr: opened with IFF_VNET_HDR (tunOpen's offload granted); every read and write then
   * carries a virtio_net_hdr (startReader's vnetHdr, tunWriteBatch's mode 1 or 2). */
  vnetHdr: boolean;
  /** tso and uso: the kernel hands over TCP (TUN_F_TSO4/6) and UDP (TUN_F_USO4/6) super-packets. */
  tso: boolean;
  uso: boolean;
}

/** UdpHandle is a bound UDP socket. */
export interface UdpHandle {
  fd: number;
  /** port is the bound port, the one the kernel picked when 0 was asked. */
  port: number;
  /** family is the socket's: 4 (AF_INET) or 6 (AF_INET6, dual-stack when bound to "::"). */
  family: 4 | 6;
}

/** PeerCredentials identify the process at the other end of a Unix socket. */
export interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
}

/** NativeAddon is the shape of warren_native.node's exports. */
export interface NativeAddon {
  tunOpen(name: string, offload: boolean): TunHandle;
  udpOpen(bindIp: string, port: number): UdpHandle;
  closeFd(fd: number): void;
  setMark(fd: number, mark: number): void;
  peerCredentials(fd: number): PeerCredentials;
  /** The addon calls onBatch(batch, count) and leaves batch.count to the caller (index.ts). */
  startReader(fd: number, kind: ReaderKind, opts: ReaderOptions, onBatch: (b: Batch, count: number) => void): Reader;
  tunWriteBatch(
    fd: number,
    buf: Uint8Array,
    offsets: Uint32Array,
    lengths: Uint32Array,
    count: number,
    mode: 0 | 1 | 2,
  ): number;
  vnetSplit(frame: Uint8Array, cap: number): Buffer[];
  vnetCoalesce(buf: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number): Buffer[];
  udpSendBatch(
    fd: number,
    buf: Uint8Array,
    offsets: Uint32Array,
    lengths: Uint32Array,
    addrWords: Uint32Array,
    ports: Uint16Array,
    count: number,
    localWords?: Uint32Array | null,
    gsoState?: Uint8Array | null,
  ): number;
  udpGsoSupported(fd: number): boolean;
  udpSend(
    fd: number,
    buf: Uint8Array,
    offset: number,
    length: number,
    addrWords: Uint32Array,
    wordIndex: number,
    port: number,
    localWords?: Uint32Array | null,
  ): boolean;
  aeadSeal(key: Uint8Array, counter: number, buf: Uint8Array, offset: number, length: number): void;
  aeadOpen(key: Uint8Array, counter: number, buf: Uint8Array, offset: number, length: number): boolean;
  aeadSealBatch(
    key: Uint8Array,
    firstCounter: number,
    buf: Uint8Array,
    offsets: Uint32Array,
    lengths: Uint32Array,
    count: number,
  ): void;
  aeadOpenBatch(
    keys: Uint8Array,
    keyIndex: Uint16Array,
    counters: Float64Array,
    buf: Uint8Array,
    offsets: Uint32Array,
    lengths: Uint32Array,
    count: number,
    ok: Uint8Array,
  ): number;
  aeadSealMany(
    keys: Uint8Array,
    keyIndex: Uint16Array,
    counters: Float64Array,
    buf: Uint8Array,
    offsets: Uint32Array,
    lengths: Uint32Array,
    count: number,
  ): void;
  aeadThreads(workers: number, minBytes: number): number;
  aeadThreadStats(): AeadThreadStats;
  wakeTicker(on: boolean): boolean;
  wakeTickerStats(): WakeTickerStats;
  boottimeMs(): number;
  idleOtherThreads(): number;
  threadSlice(ns: number): number;
  readerBuffer(bytes: number): Buffer;
  packetPair(): [number, number];
  spliceInit(onDone: SpliceDone): boolean;
  spliceStart(fdA: number, fdB: number, idleMs: number): number;
  spliceStop(id: number): boolean;
  spliceCount(): number;
}

/** WakeTickerStats: whether the wake ticker runs and whether it is in a window of ticking now,
 * the 50 µs ticks it has slept and the windows that a data-path wake-up began, since it
 * started. */
export interface WakeTickerStats {
  running: boolean;
  ticking: boolean;
  ticks: number;
  windows: number;
}

/** AeadThreadStats: the crypto worker threads running, the batches shared with them and the
 * packets they (not the JS thread) sealed or opened, since they started. */
export interface AeadThreadStats {
  workers: number;
  jobs: number;
  workerPackets: number;
}

/** SPLICE_END says why a spliced pair ended: both FINs passed on, an error, or idleness. */
export const SPLICE_END = { closed: 0, error: 1, idle: 2 } as const;
export type SpliceEnd = (typeof SPLICE_END)[keyof typeof SPLICE_END];

/** SpliceDone hears of each pair the pump ended (errno is 0 unless reason is error). */
export type SpliceDone = (id: number, reason: SpliceEnd, errno: number, bytesAB: number, bytesBA: number) => void;
