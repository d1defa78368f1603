// OutboundPath: adapter → peer. Each IP packet read from the adapter is routed by destination to
// a peer (cryptokey routing), padded to 16 bytes, given the 16-byte data header (whitepaper
// §5.4.6: type 4, receiver index, counter); the whole batch is then encrypted in place in one
// native call and leaves in one sendmmsg. Nothing on this path allocates per packet. Every
// datagram leaves with SEND_ROOM free bytes before it (batch.ts), which the bind may use.
import type { Keypair } from '../noise/index.js';
import {
  DATA_HEADER,
  HEADROOM,
  MAX_BATCH,
  SEND_ROOM,
  TAILROOM,
  slotSizeFor,
  type Batch,
} from '../../../../src-shared/lib/native/batch.js';
import type { Device } from './device.js';
import type { DevicePeer } from './peer.js';
import { describePacket } from './describe.js';
import { BAD_VERSION, IPV4_DST, IPV6_DST, ipPacketLength } from './inner-packet.js';
import { wordsEqual } from '../../../../src-shared/lib/ip/words.js';
import { SealBatch } from './crypt-batch.js';

const TWO_32 = 4294967296;
/** DATA_OVERHEAD is the header (16) plus the Poly1305 tag (16) of a transport message (§5.4.6). */
const DATA_OVERHEAD = 32;
/**
 * MAX_UDP_PAYLOAD is the largest UDP payload over IPv4: 65,535 less the 20-byte IPv4 header
 * (RFC 791) and the 8-byte UDP header (RFC 768). Over IPv6 it is 65,527 (RFC 8200 §3, payload
 * length without jumbograms); the smaller bound holds for either underlay.
 */
export const MAX_UDP_PAYLOAD = 65_507;

/** maxInnerFor returns the longest inner packet whose padded, sealed message fits one datagram. */
export function maxInnerFor(mtu: number): number {
  let n = 65_535;
  while (n > 0 && paddedLength(n, mtu) + DATA_OVERHEAD > MAX_UDP_PAYLOAD) n--;
  return n;
}

/** writeDataHeader writes the transport header in the 16 bytes at `at`. */
export function writeDataHeader(buf: Buffer, at: number, receiver: number, counter: number): void {
  buf.writeUInt32LE(4, at);
  buf.writeUInt32LE(receiver, at + 4);
  buf.writeUInt32LE(counter % TWO_32, at + 8);
  buf.writeUInt32LE(Math.floor(counter / TWO_32), at + 12);
}

/** paddedLength pads to a multiple of 16 without exceeding the MTU (whitepaper §5.4.6). */
export function paddedLength(length: number, mtu: number): number {
  const padded = (length + 15) & ~15;
  return padded > mtu ? Math.max(length, mtu) : padded;
}

export class OutboundPath {
  private readonly outOffsets = new Uint32Array(MAX_BATCH);
  private readonly outLengths = new Uint32Array(MAX_BATCH);
  private readonly outWords = new Uint32Array(MAX_BATCH * 4);
  private readonly outPorts = new Uint16Array(MAX_BATCH);
  /** outLocal[4n ..] is datagram n's source: its peer's sourceWords, zeroed by the send if stale. */
  private readonly outLocal = new Uint32Array(MAX_BATCH * 4);
  /** touched[0 .. nTouched-1] are the peers with datagrams in this batch (at most one per
   * datagram). The array is made whole and its slots reused: `length = 0` would let V8 trim the
   * backing store and the next batch's first push allocate it again, garbage on every batch that
   * brings scavenges (GC pauses) onto the packet path; and an array that starts empty changes
   * its hidden class at its first peer, which throws away the code the warm-up optimized
   * (daemon/warm-up.ts) at a new device's first packets. */
  private readonly touched: (DevicePeer | null)[] = new Array<DevicePeer | null>(MAX_BATCH).fill(null);
  private nTouched = 0;
  /** The packets queued since the last send, sealed together just before it. */
  private readonly sealing = new SealBatch();
  // Scratch batch for staged packets and keepalives (not on the per-batch hot path).
  private readonly slot: number;
  private readonly scratchCount: number;
  private readonly scratch: Buffer;
  /** maxInner is the longest packet that still fits one datagram once sealed (jumbo MTUs). */
  private readonly maxInner: number;

  constructor(private readonly dev: Device) {
    this.slot = slotSizeFor(dev.opts.maxPacket ?? dev.opts.mtu);
    // With 64 KiB slots (an adapter whose MTU may grow to 65,535) a full batch would be 8 MiB of
    // scratch that staged packets rarely need: keep it near 1 MiB and send in more batches.
    this.scratchCount = Math.max(1, Math.min(MAX_BATCH, Math.floor((1 << 20) / this.slot)));
    this.scratch = Buffer.alloc(this.slot * this.scratchCount);
    this.maxInner = maxInnerFor(dev.opts.maxPacket ?? dev.opts.mtu);
  }

  /** onBatch handles one batch from the adapter reader. */
  onBatch(b: Batch): void {
    const dev = this.dev;
    if (!dev.isUp) {
      dev.drops.add('disconnected', b.count);
      return;
    }
    const now = dev.clock();
    const buf = b.buf;
    const mtu = dev.mtu;
    const tracing = dev.log.enabled('trace');
    let n = 0;
    for (let i = 0; i < b.count; i++) {
      const off = b.offsets[i]!;
      const len = b.lengths[i]!;
      if (tracing) dev.log.trace(`adapter → tunnel: ${describePacket(buf, off, len)}`);
      const total = ipPacketLength(buf, off, len);
      if (total < 0) {
        dev.drops.add(total === BAD_VERSION ? 'tun-bad-version' : 'tun-bad-length');
        continue;
      }
      if (len > this.maxInner) {
        dev.drops.add('tun-packet-too-big');
        continue;
      }
      // Cryptokey routing, outbound (whitepaper §2): the destination picks the peer.
      const peer =
        buf[off]! >> 4 === 4
          ? dev.routes.lookup4(buf.readUInt32BE(off + IPV4_DST))
          : dev.routes.lookup6(buf, off + IPV6_DST);
      if (peer === undefined) {
        dev.drops.add('tun-no-peer');
        continue;
      }
      if (dev.filter !== null) {
        const verdict = dev.filter.egress(peer.index, buf, off, len, now);
        if (verdict !== 0) {
          dev.drops.add(dev.filter.reasons[verdict] ?? 'firewall');
          continue;
        }
      }
      if (!peer.hasEndpoint) {
        dev.drops.add('tun-peer-no-endpoint');
        continue;
      }
      const kp = peer.noise.sendKeypair(now);
      if (kp === null) {
        if (!peer.stage(buf, off, len)) dev.drops.add('tun-queue-full');
        dev.initiate(peer, now);
        continue;
      }
      n = this.seal(buf, off, len, mtu, kp, peer, n);
    }
    this.finish(buf, n, now, false);
  }

  /** sendPackets encrypts and sends packets that were staged while a handshake ran. */
  sendPackets(peer: DevicePeer, packets: Buffer[], now: number): void {
    const kp = peer.noise.sendKeypair(now);
    if (kp === null) return;
    let n = 0;
    for (const p of packets) {
      const off = n * this.slot + HEADROOM;
      if (p.length > this.slot - HEADROOM - TAILROOM) {
        this.dev.drops.add('tun-packet-too-big');
        continue;
      }
      p.copy(this.scratch, off);
      n = this.seal(this.scratch, off, p.length, this.dev.mtu, kp, peer, n);
      if (n === this.scratchCount) {
        this.finish(this.scratch, n, now, false);
        n = 0;
      }
    }
    this.finish(this.scratch, n, now, false);
  }

  /** sendKeepalive sends an empty data message (§6.5), starting a handshake if needed. */
  sendKeepalive(peer: DevicePeer, now: number): void {
    if (!peer.hasEndpoint) return;
    const kp = peer.noise.sendKeypair(now);
    if (kp === null) {
      this.dev.initiate(peer, now);
      return;
    }
    const n = this.seal(this.scratch, HEADROOM, 0, this.dev.mtu, kp, peer, 0);
    this.finish(this.scratch, n, now, true);
  }

  // seal queues one packet as datagram n, to be encrypted in place with the rest of the batch
  // when it is sent (finish); returns the new count.
  private seal(buf: Buffer, off: number, len: number, mtu: number, kp: Keypair, peer: DevicePeer, n: number): number {
    const padded = paddedLength(len, mtu);
    if (padded > len) buf.fill(0, off + len, off + padded);
    const counter = kp.sendCounter++;
    writeDataHeader(buf, off - DATA_HEADER, kp.remoteIndex, counter);
    this.sealing.add(kp, counter, off, padded);
    const size = padded + DATA_OVERHEAD;
    this.outOffsets[n] = off - DATA_HEADER;
    this.outLengths[n] = size;
    const w = peer.endpointWords;
    const at = 4 * n;
    this.outWords[at] = w[0]!;
    this.outWords[at + 1] = w[1]!;
    this.outWords[at + 2] = w[2]!;
    this.outWords[at + 3] = w[3]!;
    this.outPorts[n] = peer.endpointPort;
    const src = peer.sourceWords;
    this.outLocal[at] = src[0]!;
    this.outLocal[at + 1] = src[1]!;
    this.outLocal[at + 2] = src[2]!;
    this.outLocal[at + 3] = src[3]!;
    peer.batchAt = n;
    peer.txBytes += size;
    peer.txPackets++;
    if (peer.sentInBatch++ === 0) this.touched[this.nTouched++] = peer;
    return n + 1;
  }

  // finish seals and sends the queued datagrams and runs each touched peer's send timers once.
  private finish(buf: Buffer, n: number, now: number, keepalive: boolean): void {
    const dev = this.dev;
    this.sealing.run(buf, n);
    if (n > 0) {
      const sent = dev.bind.sendBatch(
        buf,
        this.outOffsets,
        this.outLengths,
        this.outWords,
        this.outPorts,
        n,
        this.outLocal,
        SEND_ROOM,
      );
      if (sent < n) dev.drops.add('udp-send-failed', n - sent);
    }
    // Indexed, not for-of: an iterator object per batch is garbage in the unoptimized tiers.
    for (let i = 0; i < this.nTouched; i++) {
      const peer = this.touched[i]!;
      this.touched[i] = null; // no removed peer stays reachable from here
      // A source the kernel refused was zeroed in outLocal (every datagram of the peer had the
      // same one): the peer forgets it until it is heard from again.
      if (!wordsEqual(this.outLocal, 4 * peer.batchAt, peer.sourceWords, 0)) peer.sourceWords.fill(0);
      const count = peer.sentInBatch;
      peer.sentInBatch = 0;
      const rekey = peer.noise.sentData(now, count, keepalive);
      if (rekey) dev.sendControl(peer, rekey);
    }
    this.nTouched = 0;
  }
}
