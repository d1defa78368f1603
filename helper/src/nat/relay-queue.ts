// RelayQueue gathers the relay frames of one device batch for one relay, to leave in one
// sendmmsg (with UDP GSO where the socket has it: equal-sized frames to one address go as one
// buffer). A frame is queued one of two ways: in place, its 12-byte header written in the
// free bytes the device leaves before each sealed datagram (batch.ts SEND_ROOM), so the
// datagram is not copied; or copied behind its header into the queue's own buffer, for a
// message without that room (handshakes, disco).
import { NAT_LIMITS, NatKind } from '../../../src-shared/wire/nat-wire.js';
import { RELAY_HEADER_BYTES, writeRelayHeader } from '../../../src-shared/wire/nat-relay.js';
import { copyWords } from '../../../src-shared/lib/ip/words.js';
import { MAX_BATCH } from '../../../src-shared/lib/native/batch.js';
import type { Bind } from '../wireguard/device/bind.js';

/** QUEUE_BYTES is the copy buffer: frames are packed in it one after another, so a batch of
 * MAX_BATCH ordinary packets (2 KiB each) fits, as does one frame of the largest payload a
 * relay accepts (64 KiB); a frame that does not fit flushes the queue first. */
const QUEUE_BYTES = Math.max(MAX_BATCH * 2048, RELAY_HEADER_BYTES + NAT_LIMITS.relayPayloadBytes);

/** SendBatch sends datagrams i < count of buf in one call: the WireGuard socket's sendBatch. */
export type SendBatch = Bind['sendBatch'];

export class RelayQueue {
  private readonly own = Buffer.alloc(QUEUE_BYTES);
  /** src is the buffer the queued frames lie in: own, or a caller's (inPlace). */
  private src: Buffer = this.own;
  private used = 0;
  count = 0;
  private readonly offsets = new Uint32Array(MAX_BATCH);
  private readonly lengths = new Uint32Array(MAX_BATCH);
  private readonly addrWords = new Uint32Array(MAX_BATCH * 4);
  private readonly ports = new Uint16Array(MAX_BATCH);

  /** words[0 .. 3] and port are the relay's UDP address: every frame's, written once here. */
  constructor(
    private readonly send: SendBatch,
    words: Uint32Array,
    port: number,
  ) {
    for (let i = 0; i < MAX_BATCH; i++) copyWords(words, 0, this.addrWords, 4 * i);
    this.ports.fill(port);
  }

  /** add queues a relaySend frame to peer id carrying buf[off, off+len). With room (the free
   * bytes before off) of at least RELAY_HEADER_BYTES the header goes there and buf must stay
   * untouched until flush; otherwise the message is copied. It flushes when the queue is full. */
  add(id: Uint8Array, buf: Buffer, off: number, len: number, room: number): void {
    if (room >= RELAY_HEADER_BYTES && off >= RELAY_HEADER_BYTES) this.inPlace(id, buf, off, len);
    else this.copy(id, buf, off, len);
    if (this.count === MAX_BATCH) this.flush();
  }

  // inPlace: one sendmmsg takes one buffer, so frames queued in another one are sent first.
  private inPlace(id: Uint8Array, buf: Buffer, off: number, len: number): void {
    if (this.count > 0 && this.src !== buf) this.flush();
    this.src = buf;
    writeRelayHeader(buf, off - RELAY_HEADER_BYTES, NatKind.relaySend, id);
    this.push(off - RELAY_HEADER_BYTES, RELAY_HEADER_BYTES + len);
  }

  private copy(id: Uint8Array, buf: Buffer, off: number, len: number): void {
    if (this.count > 0 && this.src !== this.own) this.flush();
    if (this.used + RELAY_HEADER_BYTES + len > this.own.length) this.flush();
    const at = this.used;
    this.used += RELAY_HEADER_BYTES + len;
    writeRelayHeader(this.own, at, NatKind.relaySend, id);
    buf.copy(this.own, at + RELAY_HEADER_BYTES, off, off + len);
    this.push(at, RELAY_HEADER_BYTES + len);
  }

  private push(at: number, size: number): void {
    const n = this.count++;
    this.offsets[n] = at;
    this.lengths[n] = size;
  }

  /** flush sends the queued frames. */
  flush(): void {
    const count = this.count;
    if (count === 0) return;
    const src = this.src;
    // Emptied first: a send that throws must leave nothing pointing into a caller's buffer.
    this.count = 0;
    this.used = 0;
    this.src = this.own;
    this.send(src, this.offsets, this.lengths, this.addrWords, this.ports, count);
  }
}
