// NativeUdp: an IPv4 UDP socket read and written in batches by the helper's native addon
// (recvmmsg on a reader, sendmmsg out), for the relay, whose work is forwarding many small
// datagrams. Node's dgram costs tens of microseconds per datagram in and out; here a whole
// batch costs one call each way. The batch handler may queue replies that point into the
// batch's own buffer (a relay frame rewritten in place), so they are sent before the buffer
// goes back to the reader.
import { formatIPv4, parseIPv4 } from '../ip/ipv4.js';
import type { Logger } from '../log.js';
import * as native from './index.js';
import { MAX_BATCH, slotSizeFor, type Batch } from './batch.js';
import type { Reader } from './types.js';
import { NAT_LIMITS } from '../../wire/nat-wire.js';
import { RELAY_HEADER_BYTES } from '../../wire/nat-relay.js';

/** OutBatch collects datagrams to send at the end of the batch being handled. */
export class OutBatch {
  buf: Buffer = Buffer.alloc(0);
  count = 0;
  readonly offsets = new Uint32Array(MAX_BATCH);
  readonly lengths = new Uint32Array(MAX_BATCH);
  readonly addrs = new Uint32Array(MAX_BATCH);
  readonly ports = new Uint16Array(MAX_BATCH);

  /** add queues buf[off, off+len) (the current batch's buffer) for addr:port. */
  add(off: number, len: number, addr: number, port: number): void {
    const n = this.count++;
    this.offsets[n] = off;
    this.lengths[n] = len;
    this.addrs[n] = addr;
    this.ports[n] = port;
  }
}

/** canUseNative says whether host can be served by NativeUdp (IPv4 literals only). */
export function canUseNative(host: string): boolean {
  return parseIPv4(host) !== null;
}

export class NativeUdp {
  private reader: Reader | null = null;
  private readonly out = new OutBatch();
  private closed = false;
  /** sendErrors counts datagrams the kernel did not take. */
  sendErrors = 0;

  private constructor(
    private readonly fd: number,
    readonly port: number,
    private readonly log: Logger,
  ) {}

  /** open binds host:port (an IPv4 literal; port 0 picks one). */
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
    const slot = slotSizeFor(RELAY_HEADER_BYTES + NAT_LIMITS.relayPayloadBytes + NAT_LIMITS.relayTokenBytes);
    this.reader = native.startReader(
      this.fd,
      'udp',
      {
        maxBatch: MAX_BATCH,
        slotSize: slot,
        headroom: 0,
        pool: 4,
        mode: native.readerMode('udp'),
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
      const sent = native.udpSendBatch(this.fd, out.buf, out.offsets, out.lengths, out.addrs, out.ports, out.count);
      this.sendErrors += out.count - sent;
    } catch (e) {
      this.sendErrors += out.count;
      this.log.rateLimited('native-udp-send', 10_000).debug(`UDP send: ${(e as Error).message}`);
    }
    out.count = 0;
  }

  /** send sends one datagram now (answers, refusals, discovery replies). */
  send(buf: Uint8Array, ip: string, port: number): boolean {
    const addr = parseIPv4(ip);
    if (this.closed || addr === null) return false;
    try {
      const ok = native.udpSend(this.fd, buf, 0, buf.length, addr, port);
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

/** ipOf formats a batch's host-order source address. */
export const ipOf = formatIPv4;
