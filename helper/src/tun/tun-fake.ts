// In-memory adapters for tests (DESIGN.md convention 2). FakeTun delivers packets in the same
// batch layout as the native reader (slots with headroom and tailroom), so the device's in-place
// encryption and decryption run exactly as in production, without root or a kernel.
// FakeTunDriver opens them on a pretend machine whose network interfaces it keeps, and records
// what it was asked to do.
import type { TunAdapter, TunConfig, TunDriver } from './index.js';
import { HEADROOM, MAX_BATCH, slotSizeFor, type Batch } from '../../../src-shared/lib/native/batch.js';
import type { Reader } from '../../../src-shared/lib/native/types.js';
import { inertReader } from '../../../src-shared/lib/native/loop.js';
import type { IpAddress } from '../../../src-shared/lib/ip/addr.js';
import { writeWordsAddress } from '../../../src-shared/lib/ip/words.js';

/** makeBatch lays packets out in slots the way the native readers do; a packet without an
 * address (from the adapter) has all-zero address words, and one without a local address
 * all-zero local words. */
export function makeBatch(
  packets: Array<{ data: Buffer; addr: IpAddress | null; port: number; local?: IpAddress }>,
  slotSize: number,
  headroom: number,
): Batch {
  const buf = Buffer.alloc(slotSize * MAX_BATCH);
  const b: Batch = {
    buf,
    count: packets.length,
    offsets: new Uint32Array(MAX_BATCH),
    lengths: new Uint32Array(MAX_BATCH),
    addrWords: new Uint32Array(MAX_BATCH * 4),
    ports: new Uint16Array(MAX_BATCH),
    localWords: new Uint32Array(MAX_BATCH * 4),
    ifindex: new Uint32Array(MAX_BATCH),
  };
  packets.forEach((p, i) => {
    const off = i * slotSize + headroom;
    p.data.copy(buf, off);
    b.offsets[i] = off;
    b.lengths[i] = p.data.length;
    if (p.addr !== null) writeWordsAddress(b.addrWords, 4 * i, p.addr);
    b.ports[i] = p.port;
    if (p.local !== undefined) writeWordsAddress(b.localWords, 4 * i, p.local);
  });
  return b;
}

/** FakeTun is an adapter whose "OS side" is the test: inject() sends, written collects. */
export class FakeTun implements TunAdapter {
  readonly written: Buffer[] = [];
  /** closed turns true on the first close(). */
  closed = false;
  private onBatch: ((b: Batch) => void) | null = null;

  constructor(
    readonly name: string,
    readonly mtu: number,
    private readonly onClose: () => void = () => undefined,
    readonly ipv6 = false,
  ) {}

  /** reading says whether a reader is started (the device runs). */
  get reading(): boolean {
    return this.onBatch !== null;
  }

  startReader(onBatch: (b: Batch) => void): Reader {
    this.onBatch = onBatch;
    return inertReader(() => {
      this.onBatch = null;
    });
  }

  /** inject hands packets to the device as one batch, as if the OS had routed them to us. */
  inject(...packets: Buffer[]): void {
    if (!this.onBatch) throw new Error('FakeTun: reader not started');
    this.onBatch(
      makeBatch(
        packets.map((data) => ({ data, addr: null, port: 0 })),
        slotSizeFor(this.mtu),
        HEADROOM,
      ),
    );
  }

  writeBatch(buf: Buffer, offsets: Uint32Array, lengths: Uint32Array, count: number): number {
    for (let i = 0; i < count; i++)
      this.written.push(Buffer.from(buf.subarray(offsets[i]!, offsets[i]! + lengths[i]!)));
    return count;
  }

  close(): void {
    this.onBatch = null;
    if (this.closed) return;
    this.closed = true;
    this.onClose();
  }
}

/** FakeTunDriver is a TunDriver on a pretend machine: links are its network interfaces (an open
 * adapter is one until it closes), and calls lists what it was asked, in order. */
export class FakeTunDriver implements TunDriver {
  readonly links = new Set<string>();
  /** opened holds every adapter made, with the configuration it was asked for. */
  readonly opened: Array<{ config: TunConfig; tun: FakeTun }> = [];
  /** failOpen, when set, is what the next open() throws (once). */
  failOpen: Error | null = null;

  /** calls may be shared with the other fakes, so a test sees the order across all of them. */
  constructor(readonly calls: string[] = []) {}

  /** open makes a FakeTun; like the kernel it refuses a name that another adapter holds. */
  async open(cfg: TunConfig): Promise<TunAdapter> {
    this.calls.push(`tun open ${cfg.name}`);
    const fail = this.failOpen;
    this.failOpen = null;
    if (fail !== null) throw fail;
    if (this.links.has(cfg.name)) throw new Error(`adapter ${cfg.name} is in use by another program`);
    const tun = new FakeTun(
      cfg.name,
      cfg.mtu,
      () => {
        this.calls.push(`tun close ${cfg.name}`);
        this.links.delete(cfg.name);
      },
      !!cfg.address6,
    );
    this.links.add(cfg.name);
    this.opened.push({ config: cfg, tun });
    return tun;
  }

  exists(name: string): boolean {
    return this.links.has(name);
  }

  remove(name: string): boolean {
    this.calls.push(`tun remove ${name}`);
    return this.links.delete(name);
  }

  /** last is the adapter opened last (the test fails loudly when there is none). */
  get last(): FakeTun {
    const o = this.opened.at(-1);
    if (o === undefined) throw new Error('FakeTunDriver: no adapter was opened');
    return o.tun;
  }
}
