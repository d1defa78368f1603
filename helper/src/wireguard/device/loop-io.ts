// A pair of UDP sockets in memory, for running two devices against each other inside the
// helper before its own device starts (daemon/warm-up.ts; the adapters there are real code
// over a descriptor pair, tun/loop-adapter.ts). Unlike the tests' fake network (fake-io.ts)
// nothing is recorded and nothing is allocated per packet: each socket owns one batch, reused
// as the native readers reuse their pool entries. Batches are built as the native readers build
// theirs (native/src/reader.c make_entry): the buffer made in native code, the properties set
// one by one in the same order, so that the code warmed on them meets the same hidden classes
// when the real batches arrive.
import type { Bind } from './bind.js';
import { batchFor, slotSizeFor, type Batch } from '../../../../src-shared/lib/native/batch.js';
import type { Reader } from '../../../../src-shared/lib/native/types.js';
import { inertReader, readerBuffer } from '../../../../src-shared/lib/native/loop.js';
import type { UdpOffloads } from '../../../../src-shared/lib/native/offload.js';
import type { IpAddress } from '../../../../src-shared/lib/ip/addr.js';
import { writeWordsAddress } from '../../../../src-shared/lib/ip/words.js';

/** loopBatch allocates one batch of slots of slotSize bytes, each packet headroom bytes in. */
function loopBatch(slotSize: number, headroom: number): Batch {
  const slots = batchFor(slotSize);
  const offsets = new Uint32Array(slots);
  for (let i = 0; i < slots; i++) offsets[i] = i * slotSize + headroom;
  // Assigned one by one from an empty object, as napi_create_object and napi_set_named_property
  // build the native reader's batches, so both take the same hidden-class transitions.
  const b = {} as Batch;
  b.buf = readerBuffer(slots * slotSize);
  b.count = 0;
  b.offsets = offsets;
  b.lengths = new Uint32Array(slots);
  b.addrWords = new Uint32Array(slots * 4);
  b.ports = new Uint16Array(slots);
  b.localWords = new Uint32Array(slots * 4);
  b.ifindex = new Uint32Array(slots);
  return b;
}

/** LoopBind is one of two UDP sockets joined in memory (loopBinds): what one sends, the other
 * receives on a later turn of the event loop, in one batch per turn, as a socket reader would. */
export class LoopBind implements Bind {
  peer: LoopBind | null = null;
  private onBatch: ((b: Batch) => void) | null = null;
  private batch: Batch | null = null;
  private scheduled = false;

  constructor(
    readonly addr: IpAddress,
    readonly port: number,
  ) {}

  startReader(maxDatagram: number, onBatch: (b: Batch) => void): Reader {
    this.batch = loopBatch(slotSizeFor(maxDatagram, 0), 0);
    this.onBatch = onBatch;
    return inertReader(() => {
      this.onBatch = null;
    });
  }

  sendBatch(
    buf: Buffer,
    offsets: Uint32Array,
    lengths: Uint32Array,
    _addrWords: Uint32Array,
    _ports: Uint16Array,
    count: number,
  ): number {
    let sent = 0;
    for (let i = 0; i < count; i++) if (this.peer?.receive(buf, offsets[i]!, lengths[i]!, this)) sent++;
    return sent;
  }

  send(buf: Buffer, offset: number, length: number): boolean {
    return this.peer?.receive(buf, offset, length, this) ?? false;
  }

  /** receive queues a datagram from `from` for the next delivery; false (lost, as UDP loses
   * it) when no reader runs or the batch is full or the datagram does not fit a slot. */
  private receive(buf: Buffer, offset: number, length: number, from: LoopBind): boolean {
    const b = this.batch;
    if (this.onBatch === null || b === null || b.count === b.offsets.length) return false;
    const at = b.offsets[b.count]!;
    if (length > b.buf.length / b.offsets.length) return false;
    buf.copy(b.buf, at, offset, offset + length);
    b.lengths[b.count] = length;
    writeWordsAddress(b.addrWords, 4 * b.count, from.addr);
    writeWordsAddress(b.localWords, 4 * b.count, this.addr);
    b.ports[b.count] = from.port;
    b.count++;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.deliver());
    }
    return true;
  }

  private deliver(): void {
    this.scheduled = false;
    const b = this.batch;
    if (b === null || b.count === 0) return;
    if (this.onBatch !== null) this.onBatch(b);
    b.count = 0;
  }

  setMark(): void {}

  offloads(): UdpOffloads {
    return { udpGso: false, udpGro: false };
  }

  close(): void {
    this.onBatch = null;
    this.batch = null;
    this.peer = null;
  }
}

/** loopBinds joins two in-memory sockets at a and b (port 51820 each). */
export function loopBinds(a: IpAddress, b: IpAddress): [LoopBind, LoopBind] {
  const x = new LoopBind(a, 51820);
  const y = new LoopBind(b, 51820);
  x.peer = y;
  y.peer = x;
  return [x, y];
}
