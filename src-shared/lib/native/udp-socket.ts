// NativeUdp: a UDP socket (IPv4, IPv6, or both on "::") read and written in batches by the helper's native addon
// (recvmmsg on a reader, sendmmsg out), for the relay, whose work is forwarding many small
// datagrams. Node's dgram costs tens of microseconds per datagram in and out; here a whole
// batch costs one call each way. The batch handler may queue replies that point into the
// batch's own buffer (a relay frame rewritten in place), so they are sent before the buffer
// goes back to the reader.
import { parseIp } from '../ip/addr.js';
import { formatWords, wordsAreIPv4, writeWordsAddress, writeWordsIPv4 } from '../ip/words.js';
import type { Logger } from '../log.js';
import * as native from './index.js';
import { MAX_BATCH, batchFor, slotSizeFor, type Batch } from './batch.js';
import type { Reader } from './types.js';
import { NAT_LIMITS } from '../../wire/nat-wire.js';
import { RELAY_HEADER_BYTES } from '../../wire/nat-relay.js';

/** OutBatch collects datagrams to send at the end of the batch being handled. */
export class OutBatch {
  buf: Buffer = Buffer.alloc(0);
  count = 0;
  readonly offsets = new Uint32Array(MAX_BATCH);
  readonly lengths = new Uint32Array(MAX_BATCH);
  readonly addrWords = new Uint32Array(MAX_BATCH * 4);
  readonly ports = new Uint16Array(MAX_BATCH);

  /** add queues buf[off, off+len) (the current batch's buffer) for addr:port, addr a host-order
   * IPv4 address (the batched fast path is IPv4; other destinations use send). */
  add(off: number, len: number, addr: number, port: number): void {
    const n = this.count++;
    this.offsets[n] = off;
    this.lengths[n] = len;
    writeWordsIPv4(this.addrWords, 4 * n, addr);
    this.ports[n] = port;
  }
}

/** RELAY_GSO_ENV set to 'off' turns UDP GSO off for the relay's sends (on by default, where the
 * kernel takes it); helpers with UDP GRO then read the relay's frames coalesced, one buffer per
 * run of frames to them, and split it back into frames each with its own header. */
export const RELAY_GSO_ENV = 'WARREN_RELAY_GSO';

/** relayGsoWanted says whether the relay's sends may use GSO: yes unless RELAY_GSO_ENV is 'off'. */
export function relayGsoWanted(env: NodeJS.ProcessEnv = process.env): boolean {
  return env[RELAY_GSO_ENV]?.trim().toLowerCase() !== 'off';
}

/** UdpSocketOffloads is what NativeUdp.offloads reports. */
export interface UdpSocketOffloads {
  udpGso: boolean;
  udpGro: boolean;
  coalesced: number;
}

/** canUseNative says whether host can be served by NativeUdp: an IPv4 or IPv6 literal ("::"
 * is dual-stack), not a name. */
export function canUseNative(host: string): boolean {
  return parseIp(host) !== null;
}

export class NativeUdp {
  private reader: Reader | null = null;
  private readonly out = new OutBatch();
  private readonly sendWords = new Uint32Array(4);
  // UDP GSO on the relay's sends (udp(7) UDP_SEGMENT) unless RELAY_GSO_ENV says off: one byte
  // the addon clears when the kernel refuses it on this socket (native.udpSendBatch), as the
  // helper's WireGuard socket does.
  private readonly gsoState: Uint8Array;
  private readonly wish = native.udpOffloadWish();
  private closed = false;
  /** sendErrors counts datagrams the kernel did not take. */
  sendErrors = 0;

  private constructor(
    private readonly fd: number,
    readonly port: number,
    private readonly log: Logger,
  ) {
    const gso = this.wish.gso && relayGsoWanted() && native.udpGsoSupported(fd);
    this.gsoState = new Uint8Array([gso ? 1 : 0]);
  }

  /** open binds host:port (an IPv4 or IPv6 literal, "::" for both; port 0 picks one). */
  static open(host: string, port: number, log: Logger): NativeUdp {
    let h: { fd: number; port: number };
    try {
      h = native.udpOpen(host, port);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw new Error(
        `cannot listen on UDP ${host}:${port}: ${err.code === 'EADDRINUSE' ? 'the port is in use' : err.message}`,
      );
    }
    return new NativeUdp(h.fd, h.port, log);
  }

  /** start hands every batch to onBatch, then sends what it queued in `out`. */
  start(onBatch: (b: Batch, out: OutBatch) => void): void {
    // A slot takes the largest datagram (slotSizeFor caps it at 64 KiB), so batchFor keeps a
    // batch to MAX_BATCH_BYTES rather than MAX_BATCH slots of 64 KiB each.
    const slot = slotSizeFor(RELAY_HEADER_BYTES + NAT_LIMITS.relayPayloadBytes + NAT_LIMITS.relayTokenBytes, 0);
    this.reader = native.startReader(
      this.fd,
      'udp',
      {
        maxBatch: batchFor(slot),
        slotSize: slot,
        headroom: 0,
        pool: 4,
        mode: native.readerMode('udp'),
        // UDP GRO (udp(7) UDP_GRO): a helper's GSO send of relay frames arrives as one buffer,
        // which the reader splits into slots, instead of one trip through the stack each.
        gro: this.wish.gro,
        onError: (e: Error) => this.log.error(`UDP reader stopped: ${e.message}`),
      },
      (b: Batch) => {
        if (this.closed) return;
        const out = this.out;
        out.buf = b.buf;
        out.count = 0;
        try {
          onBatch(b, out);
        } finally {
          if (out.count > 0) this.flush(out);
        }
      },
    );
  }

  private flush(out: OutBatch): void {
    try {
      const sent = native.udpSendBatch(
        this.fd,
        out.buf,
        out.offsets,
        out.lengths,
        out.addrWords,
        out.ports,
        out.count,
        null,
        this.gsoState,
      );
      this.sendErrors += out.count - sent;
    } catch (e) {
      this.sendErrors += out.count;
      this.log.rateLimited('native-udp-send', 10_000).debug(`UDP send: ${(e as Error).message}`);
    }
    out.count = 0;
  }

  /** offloads says which UDP offloads the socket uses now (GSO until the kernel refuses it),
   * and how many received buffers carried more than one datagram (GRO coalesced them). */
  offloads(): UdpSocketOffloads {
    const r = this.reader;
    return { udpGso: this.gsoState[0] === 1, udpGro: r?.gro() ?? false, coalesced: r?.stats().coalesced ?? 0 };
  }

  /** send sends one datagram now (answers, refusals, discovery replies, frames the relay could
   * not forward in place) to ip, either family, after what the batch being handled queued so far. */
  send(buf: Uint8Array, ip: string, port: number): boolean {
    const addr = parseIp(ip);
    if (this.closed || addr === null) return false;
    // Datagrams leave in the order they were handled: one sent ahead of the frames queued before
    // it would reorder a burst (TCP inside the tunnel takes reordering for loss, RFC 5681 §3.2).
    if (this.out.count > 0) this.flush(this.out);
    writeWordsAddress(this.sendWords, 0, addr);
    try {
      const ok = native.udpSend(this.fd, buf, 0, buf.length, this.sendWords, 0, port);
      if (!ok) this.sendErrors++;
      return ok;
    } catch {
      this.sendErrors++;
      return false;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.reader?.stop();
    this.reader = null;
    native.closeFd(this.fd);
  }
}

/** ipOf formats the source of datagram i of a batch: a.b.c.d for IPv4 (mapped in the batch),
 * the RFC 5952 form for IPv6, as Node's dgram names them. */
export function ipOf(b: Batch, i: number): string {
  return formatWords(b.addrWords, 4 * i);
}

/** ipv4Of returns the source of datagram i as a host-order IPv4 number, or -1 for IPv6. */
export function ipv4Of(b: Batch, i: number): number {
  return wordsAreIPv4(b.addrWords, 4 * i) ? b.addrWords[4 * i + 3]! : -1;
}
