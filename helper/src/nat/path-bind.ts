// PathBind sits between the device and its UDP socket and gives WireGuard more than one way to
// a peer without the device knowing. Direct paths are plain addresses. A relayed path is a
// "virtual endpoint" in 0.0.0.0/8 (an address no packet can really be sent to): the device
// roams to it and sends to it like to any endpoint, and PathBind turns those datagrams into
// relay frames. Inbound, it takes Warren's own NAT messages (discovery, disco, relay control)
// out of each batch before the device sees it, and unwraps relayed WireGuard packets in place
// so they reach the device as if they came from the virtual endpoint.
//
// Addresses reach the device as four words (lib/ip/words.ts), IPv4 mapped. NAT messages come
// from either family (the socket is dual-stack): real sources reach the NAT layer as an
// IpAddress, and relay frames are matched against the relays' addresses word by word, so the
// relayed data path allocates nothing. Virtual endpoints are always IPv4 (0.0.0.0/8).
import { NAT_HEADER_BYTES, NatKind, natKind } from '../../../src-shared/wire/nat-wire.js';
import { RELAY_HEADER_BYTES, relayPayloadLength } from '../../../src-shared/wire/nat-relay.js';
import type { Bind } from '../wireguard/device/bind.js';
import { MAX_BATCH, type Batch } from '../../../src-shared/lib/native/batch.js';
import type { Reader } from '../../../src-shared/lib/native/types.js';
import type { UdpOffloads } from '../../../src-shared/lib/native/offload.js';
import { readWordsAddress, wordsAreIPv4, writeWordsAddress, writeWordsIPv4 } from '../../../src-shared/lib/ip/words.js';
import type { IpAddress } from '../../../src-shared/lib/ip/addr.js';

/** isVirtualEndpoint tells a relayed path's address from a real one (0.0.0.0/8, not 0). */
export function isVirtualEndpoint(addr: number): boolean {
  return addr !== 0 && addr >>> 24 === 0;
}

/** isVirtualWords is isVirtualEndpoint for the address at words[at] (a mapped 0.0.0.0/8). */
export function isVirtualWords(words: Uint32Array, at: number): boolean {
  return wordsAreIPv4(words, at) && isVirtualEndpoint(words[at + 3]!);
}

/** ipv4OfWords returns the IPv4 address at words[at], or -1 if it is IPv6. */
export function ipv4OfWords(words: Uint32Array, at: number): number {
  return wordsAreIPv4(words, at) ? words[at + 3]! : -1;
}

const sendScratch = new Uint32Array(4);

/** isVirtualAddress is isVirtualEndpoint for an IpAddress (an IPv6 address never is one). */
export function isVirtualAddress(a: IpAddress): boolean {
  return a.family === 4 && isVirtualEndpoint(a.v4);
}

/** sendIp sends one datagram from `bind` to an address of either family, for the NAT layer. */
export function sendIp(bind: Bind, buf: Buffer, addr: IpAddress, port: number): boolean {
  writeWordsAddress(sendScratch, 0, addr);
  return bind.send(buf, 0, buf.length, sendScratch, 0, port);
}

/** PathHooks is what PathBind asks the NAT layer. */
export interface PathHooks {
  /** control gets a NAT message that is not relayed WireGuard (discovery, disco, relay control).
   * addr is where it came from: a real address of either family, or a virtual endpoint for
   * disco over a relay. */
  control(msg: Buffer, addr: IpAddress, port: number): void;
  /** relayIndex is the index r of the relay whose UDP address is at words[at] and port, or -1
   * if that is not a relay we use. A relay frame from relay r and the peer with virtual port p
   * reaches the device from the virtual endpoint 0.0.0.(r+1):p. */
  relayIndex(words: Uint32Array, at: number, port: number): number;
  /** relayedPort is the virtual port of the peer whose id lies at buf[at, at+8), or -1 if the id
   * is no peer of ours (the frame is then dropped). Both are asked once per relayed datagram,
   * so neither allocates. */
  relayedPort(buf: Uint8Array, at: number): number;
  /** relaySend sends payload to a virtual endpoint's peer (addr in 0.0.0.0/8) through its relay; a deferred one may
   * wait in a queue until relayFlush. room is how many bytes before off are free to overwrite
   * (the relay header is written there instead of copying the payload behind it). */
  relaySend(
    addr: number,
    port: number,
    buf: Buffer,
    off: number,
    len: number,
    deferred?: boolean,
    room?: number,
  ): boolean;
  /** relayFlush sends what deferred relaySends queued. */
  relayFlush(): void;
  /** dropped counts what was taken out and thrown away, by reason. */
  dropped(reason: string): void;
}

const NO_HOOKS: PathHooks = {
  control: () => undefined,
  relayIndex: () => -1,
  relayedPort: () => -1,
  relaySend: () => false,
  relayFlush: () => undefined,
  dropped: () => undefined,
};

export class PathBind implements Bind {
  hooks: PathHooks = NO_HOOKS;
  private deliver: ((b: Batch) => void) | null = null;
  private readonly view: Batch = {
    buf: Buffer.alloc(0),
    count: 0,
    offsets: new Uint32Array(MAX_BATCH),
    lengths: new Uint32Array(MAX_BATCH),
    addrWords: new Uint32Array(MAX_BATCH * 4),
    ports: new Uint16Array(MAX_BATCH),
    localWords: new Uint32Array(MAX_BATCH * 4),
    ifindex: new Uint32Array(MAX_BATCH),
  };
  // Scratch arrays for the direct part of a batch that also holds relayed datagrams.
  private readonly offs = new Uint32Array(MAX_BATCH);
  private readonly lens = new Uint32Array(MAX_BATCH);
  private readonly wrds = new Uint32Array(MAX_BATCH * 4);
  private readonly prts = new Uint16Array(MAX_BATCH);
  private readonly locs = new Uint32Array(MAX_BATCH * 4);

  constructor(readonly inner: Bind) {}

  get port(): number {
    return this.inner.port;
  }

  startReader(maxDatagram: number, onBatch: (b: Batch) => void, onError: (e: Error) => void): Reader {
    this.deliver = onBatch;
    return this.inner.startReader(
      maxDatagram + RELAY_HEADER_BYTES,
      (b) => {
        const out = this.demux(b);
        if (out.count > 0) onBatch(out);
      },
      onError,
    );
  }

  /** inject hands the device datagrams that arrived another way (a TCP relay), already
   * unwrapped and addressed from their virtual endpoint. */
  inject(b: Batch): void {
    if (this.deliver !== null && b.count > 0) this.deliver(b);
  }

  // demux removes NAT messages from the batch and unwraps relayed WireGuard in place. The
  // native reader fills its offset table once and reuses it for every batch, so a batch that
  // needs changes is described by PathBind's own arrays over the same buffer; a batch of plain
  // WireGuard (the common case) passes through untouched.
  private demux(b: Batch): Batch {
    const buf = b.buf;
    let plain = true;
    for (let i = 0; i < b.count; i++) {
      if (natKind(buf, b.offsets[i]!, b.lengths[i]!) !== null) {
        plain = false;
        break;
      }
    }
    if (plain) return b;
    const out = this.view;
    out.buf = buf;
    let j = 0;
    const words = out.addrWords;
    // A relayed batch is mostly frames from one sender: the last sender id looked up and its
    // port are kept for the batch (until a control handler runs), compared as two words.
    let idHead = 0;
    let idTail = 0;
    let idPort = -1;
    for (let i = 0; i < b.count; i++) {
      const off = b.offsets[i]!;
      const len = b.lengths[i]!;
      let port = b.ports[i]!;
      let o = off;
      let l = len;
      const at = 4 * j;
      for (let k = 0; k < 4; k++) words[at + k] = b.addrWords[4 * i + k]!;
      for (let k = 0; k < 4; k++) out.localWords[at + k] = b.localWords[4 * i + k]!;
      out.ifindex[j] = b.ifindex[i]!;
      const kind = natKind(buf, off, len);
      if (kind !== null) {
        if (kind !== NatKind.relayRecv) {
          this.safeControl(buf, off, len, readWordsAddress(words, at), port);
          idPort = -1;
          continue;
        }
        const pl = relayPayloadLength(buf, off, len, NatKind.relayRecv);
        const r = pl < 0 ? -1 : this.hooks.relayIndex(words, at, port);
        let vport = -1;
        if (r >= 0) {
          const head = buf.readUInt32BE(off + NAT_HEADER_BYTES);
          const tail = buf.readUInt32BE(off + NAT_HEADER_BYTES + 4);
          if (idPort >= 0 && head === idHead && tail === idTail) vport = idPort;
          else vport = idPort = this.hooks.relayedPort(buf, off + NAT_HEADER_BYTES);
          idHead = head;
          idTail = tail;
        }
        if (vport < 0) {
          this.hooks.dropped('relay-frame-refused');
          continue;
        }
        o = off + RELAY_HEADER_BYTES;
        l = pl;
        writeWordsIPv4(words, at, r + 1);
        port = vport;
        // Replies to a virtual endpoint go through the relay, not from a local address.
        out.localWords.fill(0, at, at + 4);
        out.ifindex[j] = 0;
        // Disco pings travel over relays too (to measure the relayed path).
        if (natKind(buf, o, l) !== null) {
          this.safeControl(buf, o, l, { family: 4, v4: r + 1 }, port);
          idPort = -1;
          continue;
        }
      }
      out.offsets[j] = o;
      out.lengths[j] = l;
      out.ports[j] = port;
      j++;
    }
    out.count = j;
    return out;
  }

  private safeControl(buf: Buffer, off: number, len: number, addr: IpAddress, port: number): void {
    try {
      this.hooks.control(Buffer.from(buf.subarray(off, off + len)), addr, port);
    } catch {
      this.hooks.dropped('nat-handler-failed');
    }
  }

  sendBatch(
    buf: Buffer,
    offsets: Uint32Array,
    lengths: Uint32Array,
    addrWords: Uint32Array,
    ports: Uint16Array,
    count: number,
    localWords?: Uint32Array,
    headroom = 0,
  ): number {
    let virtual = 0;
    for (let i = 0; i < count; i++) if (isVirtualWords(addrWords, 4 * i)) virtual++;
    if (virtual === 0) return this.inner.sendBatch(buf, offsets, lengths, addrWords, ports, count, localWords);
    let sent = 0;
    let n = 0;
    for (let i = 0; i < count; i++) {
      if (isVirtualWords(addrWords, 4 * i)) {
        const to = addrWords[4 * i + 3]!;
        if (this.hooks.relaySend(to, ports[i]!, buf, offsets[i]!, lengths[i]!, true, headroom)) sent++;
        continue;
      }
      this.offs[n] = offsets[i]!;
      this.lens[n] = lengths[i]!;
      for (let k = 0; k < 4; k++) this.wrds[4 * n + k] = addrWords[4 * i + k]!;
      for (let k = 0; k < 4; k++) this.locs[4 * n + k] = localWords?.[4 * i + k] ?? 0;
      this.prts[n] = ports[i]!;
      n++;
    }
    this.hooks.relayFlush();
    if (n === 0) return sent;
    sent += this.inner.sendBatch(buf, this.offs, this.lens, this.wrds, this.prts, n, this.locs);
    // A source the socket refused was zeroed in locs: show it to the caller as sendBatch does.
    for (let i = 0, m = 0; localWords !== undefined && i < count; i++) {
      if (isVirtualWords(addrWords, 4 * i)) continue;
      for (let k = 0; k < 4; k++) localWords[4 * i + k] = this.locs[4 * m + k]!;
      m++;
    }
    return sent;
  }

  send(
    buf: Buffer,
    offset: number,
    length: number,
    addrWords: Uint32Array,
    wordIndex: number,
    port: number,
    localWords?: Uint32Array,
  ): boolean {
    if (isVirtualWords(addrWords, wordIndex))
      return this.hooks.relaySend(addrWords[wordIndex + 3]!, port, buf, offset, length);
    return this.inner.send(buf, offset, length, addrWords, wordIndex, port, localWords);
  }

  offloads(): UdpOffloads {
    return this.inner.offloads();
  }

  setMark(mark: number): void {
    this.inner.setMark(mark);
  }

  close(): void {
    this.inner.close();
  }
}
