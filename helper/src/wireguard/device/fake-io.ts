// In-memory adapter and UDP network for device tests: they deliver packets in the same batch
// layout as the native readers (slots with headroom and tailroom), so the device's in-place
// encryption and decryption run exactly as in production, without root or a kernel.
import type { TunAdapter } from '../../tun/index.js';
import type { Bind } from './bind.js';
import { HEADROOM, MAX_BATCH, slotSizeFor, type Batch } from '../../../../src-shared/lib/native/batch.js';
import type { Reader } from '../../../../src-shared/lib/native/types.js';

// makeBatch lays packets out in slots the way the native reader does.
function makeBatch(packets: Array<{ data: Buffer; addr: number; port: number }>, slotSize: number, headroom: number): Batch {
  const buf = Buffer.alloc(slotSize * MAX_BATCH);
  const b: Batch = {
    buf, count: packets.length,
    offsets: new Uint32Array(MAX_BATCH), lengths: new Uint32Array(MAX_BATCH),
    addrs: new Uint32Array(MAX_BATCH), ports: new Uint16Array(MAX_BATCH),
  };
  packets.forEach((p, i) => {
    const off = i * slotSize + headroom;
    p.data.copy(buf, off);
    b.offsets[i] = off;
    b.lengths[i] = p.data.length;
    b.addrs[i] = p.addr;
    b.ports[i] = p.port;
  });
  return b;
}

function reader(stopFn: () => void): Reader {
  return { stop: stopFn, stats: () => ({ batches: 0, packets: 0, truncated: 0, errors: 0 }) };
}

/** FakeTun is an adapter whose "OS side" is the test: inject() sends, written collects. */
export class FakeTun implements TunAdapter {
  readonly written: Buffer[] = [];
  private onBatch: ((b: Batch) => void) | null = null;

  constructor(readonly name: string, readonly mtu: number) {}

  startReader(onBatch: (b: Batch) => void): Reader {
    this.onBatch = onBatch;
    return reader(() => { this.onBatch = null; });
  }

  /** inject hands packets to the device as one batch, as if the OS had routed them to us. */
  inject(...packets: Buffer[]): void {
    if (!this.onBatch) throw new Error('FakeTun: reader not started');
    this.onBatch(makeBatch(packets.map((data) => ({ data, addr: 0, port: 0 })), slotSizeFor(this.mtu), HEADROOM));
  }

  writeBatch(buf: Buffer, offsets: Uint32Array, lengths: Uint32Array, count: number): number {
    for (let i = 0; i < count; i++) this.written.push(Buffer.from(buf.subarray(offsets[i]!, offsets[i]! + lengths[i]!)));
    return count;
  }

  close(): void {
    this.onBatch = null;
  }
}

/** FakeNetwork connects FakeBinds by address:port and delivers datagrams asynchronously. */
export class FakeNetwork {
  private readonly binds = new Map<string, FakeBind>();
  /** sent records every datagram, so tests can replay or tamper with them. */
  readonly sent: Array<{ from: string; to: string; data: Buffer }> = [];
  /** drop, when set, silently loses matching datagrams (a partition). */
  drop: ((to: string, data: Buffer) => boolean) | null = null;

  bind(addr: number, port: number): FakeBind {
    const b = new FakeBind(this, addr, port);
    this.binds.set(`${addr}:${port}`, b);
    return b;
  }

  /** move re-addresses a bind (roaming: the host got a new underlay address). */
  move(b: FakeBind, addr: number): void {
    this.binds.delete(`${b.addr}:${b.port}`);
    b.addr = addr;
    this.binds.set(`${b.addr}:${b.port}`, b);
  }

  deliver(fromAddr: number, fromPort: number, addr: number, port: number, data: Buffer): void {
    const to = `${addr}:${port}`;
    this.sent.push({ from: `${fromAddr}:${fromPort}`, to, data });
    if (this.drop?.(to, data)) return;
    this.binds.get(to)?.enqueue(data, fromAddr, fromPort);
  }
}

/** FakeBind is one UDP socket on the fake network. */
export class FakeBind implements Bind {
  private onBatch: ((b: Batch) => void) | null = null;
  private queue: Array<{ data: Buffer; addr: number; port: number }> = [];
  private scheduled = false;
  private slotSize = 2048;

  constructor(private readonly net: FakeNetwork, public addr: number, readonly port: number) {}

  startReader(maxDatagram: number, onBatch: (b: Batch) => void): Reader {
    this.slotSize = slotSizeFor(maxDatagram);
    this.onBatch = onBatch;
    return reader(() => { this.onBatch = null; });
  }

  enqueue(data: Buffer, addr: number, port: number): void {
    this.queue.push({ data, addr, port });
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      while (this.queue.length > 0 && this.onBatch) this.onBatch(makeBatch(this.queue.splice(0, MAX_BATCH), this.slotSize, 0));
      this.queue = [];
    });
  }

  sendBatch(buf: Buffer, offsets: Uint32Array, lengths: Uint32Array, addrs: Uint32Array, ports: Uint16Array, count: number): number {
    for (let i = 0; i < count; i++) {
      this.send(buf, offsets[i]!, lengths[i]!, addrs[i]!, ports[i]!);
    }
    return count;
  }

  /** mark is what setMark last set (the fake network ignores it). */
  mark = 0;

  setMark(mark: number): void {
    this.mark = mark;
  }

  send(buf: Buffer, offset: number, length: number, addr: number, port: number): boolean {
    this.net.deliver(this.addr, this.port, addr, port, Buffer.from(buf.subarray(offset, offset + length)));
    return true;
  }

  close(): void {
    this.onBatch = null;
  }
}

/** ipv4 turns a dotted quad into the host-order number the device uses. */
export function ipv4(s: string): number {
  return s.split('.').reduce((a, o) => (a * 256 + Number(o)) >>> 0, 0);
}

/** icmpEcho builds an IPv4 ICMP echo request of `size` bytes whose sequence number is `seq`
 * and whose payload bytes are all `seq & 0xff` (so a test can check it arrived intact). */
export function icmpEcho(src: string, dst: string, seq = 0, size = 28): Buffer {
  const p = Buffer.alloc(size);
  p[0] = 0x45;
  p.writeUInt16BE(size, 2);
  p[8] = 64;
  p[9] = 1;
  p.writeUInt32BE(ipv4(src), 12);
  p.writeUInt32BE(ipv4(dst), 16);
  p[20] = 8;
  p.writeUInt16BE(seq, 26);
  p.fill(seq & 0xff, 28);
  return p;
}
