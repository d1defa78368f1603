// Bind: the UDP socket WireGuard messages travel on. The native implementation receives with
// recvmmsg on a reader thread and sends with sendmmsg, so one call moves a whole batch; where
// the kernel supports them it adds UDP GSO on send and UDP GRO on receive (udp(7) UDP_SEGMENT,
// UDP_GRO), unless WARREN_OFFLOAD / WARREN_UDP_GSO / WARREN_UDP_GRO say off (offload.ts).
// Addresses cross this interface as four words each (src-shared/lib/ip/words.ts), IPv4 mapped,
// so that the device handles both families of the underlay without allocating.
import * as native from '../../../../src-shared/lib/native/index.js';
import { MAX_PACKET, batchFor, slotSizeFor, type Batch } from '../../../../src-shared/lib/native/batch.js';
import type { Reader, UdpHandle } from '../../../../src-shared/lib/native/types.js';
import type { UdpOffloads } from '../../../../src-shared/lib/native/offload.js';

/** Bind is a bound UDP socket for underlay traffic of either family. */
export interface Bind {
  readonly port: number;
  startReader(maxDatagram: number, onBatch: (b: Batch) => void, onError: (e: Error) => void): Reader;
  /** sendBatch sends datagram i (buf[offsets[i]], lengths[i]) to the address at
   * addrWords[4i .. 4i+3], port ports[i], from the local address at localWords[4i .. 4i+3]
   * when given and not zero; returns how many were sent. A source the kernel refuses is
   * zeroed in localWords and the datagram goes from the kernel's choice (native.udpSendBatch).
   * headroom says how many bytes before each datagram the caller leaves free for the bind to
   * overwrite while it sends (a wrapper writes its header there instead of copying). */
  sendBatch(
    buf: Buffer,
    offsets: Uint32Array,
    lengths: Uint32Array,
    addrWords: Uint32Array,
    ports: Uint16Array,
    count: number,
    localWords?: Uint32Array,
    headroom?: number,
  ): number;
  /** send sends one datagram to the address at addrWords[wordIndex .. wordIndex+3], from the
   * one at localWords[wordIndex .. wordIndex+3] as sendBatch does. */
  send(
    buf: Buffer,
    offset: number,
    length: number,
    addrWords: Uint32Array,
    wordIndex: number,
    port: number,
    localWords?: Uint32Array,
  ): boolean;
  /** setMark marks every datagram this socket sends (SO_MARK; 0 clears), for full-tunnel routing. */
  setMark(mark: number): void;
  /** offloads says which segmentation offloads are in use now: GSO until the kernel first
   * refuses it, GRO once the reader has started with it. */
  offloads(): UdpOffloads;
  close(): void;
}

/** openNativeBind binds a UDP socket on ip:port (port 0 picks one). "::" is dual-stack, and
 * falls back to 0.0.0.0 on a system without IPv6 (warn says so once). */
export function openNativeBind(bindIp: string, port: number, warn: (msg: string) => void = () => {}): Bind {
  let sock: UdpHandle;
  try {
    sock = native.udpOpenWithFallback(bindIp, port, warn);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EADDRINUSE') {
      // The code stays, so that a UAPI set can answer with the port-in-use errno.
      throw Object.assign(
        new Error(
          `UDP port ${port} on ${bindIp} is already in use: stop the other program or set ListenPort in the profile`,
        ),
        { code: 'EADDRINUSE' },
      );
    }
    throw err;
  }
  let closed = false;
  const wish = native.udpOffloadWish();
  // One byte the addon clears when the kernel refuses GSO on this socket, so that it is asked
  // once, not per batch, and one where it keeps the socket's family (native.udpSendBatch).
  const gsoState = new Uint8Array([wish.gso && native.udpGsoSupported(sock.fd) ? 1 : 0, 0]);
  let reader: Reader | null = null;
  return {
    port: sock.port,
    startReader(maxDatagram, onBatch, onError) {
      // The mode comes from native.readerMode: the measured default, or WARREN_READER_MODE
      // ('poll', 'thread', 'tun=poll,udp=thread') when a benchmark compares them.
      const slotSize = slotSizeFor(Math.min(maxDatagram, MAX_PACKET), 0);
      reader = native.startReader(
        sock.fd,
        'udp',
        {
          maxBatch: batchFor(slotSize),
          slotSize,
          headroom: 0,
          pool: 4,
          mode: native.readerMode('udp'),
          gro: wish.gro,
          onError,
        },
        onBatch,
      );
      return reader;
    },
    sendBatch(buf, offsets, lengths, addrWords, ports, count, localWords) {
      return native.udpSendBatch(sock.fd, buf, offsets, lengths, addrWords, ports, count, localWords ?? null, gsoState);
    },
    send(buf, offset, length, addrWords, wordIndex, port, localWords) {
      return native.udpSend(sock.fd, buf, offset, length, addrWords, wordIndex, port, localWords);
    },
    setMark(mark) {
      native.setMark(sock.fd, mark);
    },
    offloads() {
      return { udpGso: gsoState[0] === 1, udpGro: reader?.gro() ?? false };
    },
    close() {
      if (closed) return;
      closed = true;
      native.closeFd(sock.fd);
    },
  };
}
