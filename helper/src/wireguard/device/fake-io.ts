// In-memory UDP network for device tests (the adapter is tun/tun-fake.ts): datagrams arrive in
// the same batch layout as the native readers, so the device's in-place encryption and
// decryption run exactly as in production, without root or a kernel.
import type { Bind } from './bind.js';
import { MAX_BATCH, slotSizeFor, type Batch } from '../../../../src-shared/lib/native/batch.js';
import type { Reader } from '../../../../src-shared/lib/native/types.js';
import type { UdpOffloads } from '../../../../src-shared/lib/native/offload.js';
import { makeBatch } from '../../tun/tun-fake.js';
import { inertReader } from '../../../../src-shared/lib/native/loop.js';
import type { IpAddress } from '../../../../src-shared/lib/ip/addr.js';
import { formatIpEndpoint } from '../../../../src-shared/lib/ip/endpoint.js';
import { readWordsAddress, wordsAreZero } from '../../../../src-shared/lib/ip/words.js';
import { parseIpPrefix, type IpPrefix } from '../../../../src-shared/lib/ip/addr.js';
import { ipv6ToBytes, parseIPv6 } from '../../../../src-shared/lib/ip/ipv6.js';

export { FakeTun } from '../../tun/tun-fake.js';

/** FakeAddress is an address on the fake network: an IpAddress, or an IPv4 host-order number. */
export type FakeAddress = IpAddress | number;

function asIp(a: FakeAddress): IpAddress {
  return typeof a === 'number' ? { family: 4, v4: a } : a;
}

/** endpointText keys the fake network: a.b.c.d:port or [v6]:port (what tests compare with). */
function endpointText(addr: IpAddress, port: number): string {
  return formatIpEndpoint({ addr, port });
}

/** FakeNetwork connects FakeBinds by address:port and delivers datagrams asynchronously. */
export class FakeNetwork {
  private readonly binds = new Map<string, FakeBind>();
  /** sent records every datagram, so tests can replay or tamper with them; from and to are
   * a.b.c.d:port or [v6]:port. */
  readonly sent: Array<{ from: string; to: string; data: Buffer }> = [];
  /** drop, when set, silently loses matching datagrams (a partition). */
  drop: ((to: string, data: Buffer) => boolean) | null = null;
  /** delayMs, when set, holds each datagram to `to` back that many milliseconds (a slower path). */
  delayMs: ((to: string) => number) | null = null;

  bind(addr: FakeAddress, port: number): FakeBind {
    const b = new FakeBind(this, asIp(addr), port);
    this.binds.set(endpointText(b.addr, port), b);
    return b;
  }

  /** alias gives a bind a second address of the other family (a dual-stack host): it is
   * reached there too, and sends from it to that family. */
  alias(b: FakeBind, addr: FakeAddress): void {
    b.other = asIp(addr);
    this.binds.set(endpointText(b.other, b.port), b);
  }

  /** move re-addresses a bind (roaming: the host got a new underlay address, of either family). */
  move(b: FakeBind, addr: FakeAddress): void {
    this.binds.delete(endpointText(b.addr, b.port));
    b.addr = asIp(addr);
    this.binds.set(endpointText(b.addr, b.port), b);
  }

  /** addAddress gives a bind's host one more address (a multi-homed host): datagrams to it
   * reach the bind, which may send from it (see FakeBind.send). */
  addAddress(b: FakeBind, addr: FakeAddress): void {
    b.extra.push(asIp(addr));
    this.binds.set(endpointText(asIp(addr), b.port), b);
  }

  /** removeAddress takes an address added with addAddress away again. */
  removeAddress(b: FakeBind, addr: FakeAddress): void {
    const text = endpointText(asIp(addr), b.port);
    b.extra = b.extra.filter((a) => endpointText(a, b.port) !== text);
    this.binds.delete(text);
  }

  deliver(fromAddr: FakeAddress, fromPort: number, addr: FakeAddress, port: number, data: Buffer): void {
    const from = asIp(fromAddr);
    const to = endpointText(asIp(addr), port);
    this.sent.push({ from: endpointText(from, fromPort), to, data });
    if (this.drop?.(to, data)) return;
    const ms = this.delayMs?.(to) ?? 0;
    const local = asIp(addr);
    if (ms > 0) setTimeout(() => this.binds.get(to)?.enqueue(data, from, fromPort, local), ms);
    else this.binds.get(to)?.enqueue(data, from, fromPort, local);
  }
}

/** FakeBind is one UDP socket on the fake network (dual-stack: it reaches both families). */
export class FakeBind implements Bind {
  private onBatch: ((b: Batch) => void) | null = null;
  private queue: Array<{ data: Buffer; addr: IpAddress; port: number; local: IpAddress }> = [];
  /** extra are the host's other addresses (FakeNetwork.addAddress). */
  extra: IpAddress[] = [];
  private scheduled = false;
  private slotSize = 2048;
  /** other is the bind's address of the other family, if it has one (FakeNetwork.alias). */
  other: IpAddress | null = null;

  constructor(
    private readonly net: FakeNetwork,
    public addr: IpAddress,
    readonly port: number,
  ) {}

  startReader(maxDatagram: number, onBatch: (b: Batch) => void): Reader {
    this.slotSize = slotSizeFor(maxDatagram);
    this.onBatch = onBatch;
    return inertReader(() => {
      this.onBatch = null;
    });
  }

  /** deliverBatch hands a ready batch to the reader at once (benchmarks build their own). */
  deliverBatch(b: Batch): void {
    this.onBatch?.(b);
  }

  /** enqueue receives a datagram from addr:port that was sent to the local address `local`. */
  enqueue(data: Buffer, addr: FakeAddress, port: number, local: IpAddress = this.addr): void {
    this.queue.push({ data, addr: asIp(addr), port, local });
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      while (this.queue.length > 0 && this.onBatch)
        this.onBatch(makeBatch(this.queue.splice(0, MAX_BATCH), this.slotSize, 0));
      this.queue = [];
    });
  }

  sendBatch(
    buf: Buffer,
    offsets: Uint32Array,
    lengths: Uint32Array,
    addrWords: Uint32Array,
    ports: Uint16Array,
    count: number,
    localWords?: Uint32Array,
  ): number {
    for (let i = 0; i < count; i++) {
      this.send(buf, offsets[i]!, lengths[i]!, addrWords, 4 * i, ports[i]!, localWords);
    }
    return count;
  }

  /** mark is what setMark last set (the fake network ignores it). */
  mark = 0;

  setMark(mark: number): void {
    this.mark = mark;
  }

  /** offloads: the fake network moves datagrams one by one. */
  offloads(): UdpOffloads {
    return { udpGso: false, udpGro: false };
  }

  /** send sends from the source at localWords[wordIndex] if it is one of the host's addresses;
   * any other source is refused as the kernel refuses it, so it is zeroed and the datagram
   * leaves from the primary address, as the native send falls over (native.udpSend). */
  send(
    buf: Buffer,
    offset: number,
    length: number,
    addrWords: Uint32Array,
    wordIndex: number,
    port: number,
    localWords?: Uint32Array,
  ): boolean {
    const to = readWordsAddress(addrWords, wordIndex);
    let from = this.other !== null && to.family !== this.addr.family ? this.other : this.addr;
    if (localWords !== undefined && !wordsAreZero(localWords, wordIndex)) {
      const want = endpointText(readWordsAddress(localWords, wordIndex), this.port);
      const own = this.other === null ? [this.addr, ...this.extra] : [this.addr, this.other, ...this.extra];
      const mine = own.find((a) => endpointText(a, this.port) === want);
      if (mine !== undefined) from = mine;
      else localWords.fill(0, wordIndex, wordIndex + 4);
    }
    this.net.deliver(from, this.port, to, port, Buffer.from(buf.subarray(offset, offset + length)));
    return true;
  }

  /** closed turns true on close(). */
  closed = false;

  close(): void {
    this.onBatch = null;
    this.closed = true;
  }
}

/** ipv4 turns a dotted quad into the host-order number the device uses. */
export function ipv4(s: string): number {
  return s.split('.').reduce((a, o) => (a * 256 + Number(o)) >>> 0, 0);
}

/** prefix parses "address/n" of either family for a test's allowed IPs; throws if malformed. */
export function prefix(s: string): IpPrefix {
  const p = parseIpPrefix(s);
  if (p === null) throw new Error(`bad prefix ${s}`);
  return p;
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

/** udp6 builds an IPv6/UDP packet (RFC 8200 §3 header, hop limit 64; checksums are not checked
 * by the device), so a test can send it through a device and compare what arrives. */
export function udp6(src: string, dst: string, payload: Buffer, srcPort = 4000, dstPort = 5000): Buffer {
  const s = parseIPv6(src);
  const d = parseIPv6(dst);
  if (s === null || d === null) throw new Error(`bad IPv6 address ${src} or ${dst}`);
  const p = Buffer.alloc(48 + payload.length);
  p[0] = 0x60;
  p.writeUInt16BE(8 + payload.length, 4);
  p[6] = 17;
  p[7] = 64;
  Buffer.from(ipv6ToBytes(s)).copy(p, 8);
  Buffer.from(ipv6ToBytes(d)).copy(p, 24);
  p.writeUInt16BE(srcPort, 40);
  p.writeUInt16BE(dstPort, 42);
  p.writeUInt16BE(8 + payload.length, 44);
  payload.copy(p, 48);
  return p;
}
