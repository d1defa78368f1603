// InboundPath: peer → adapter. Transport messages (whitepaper §5.4.6) are matched to a session
// by receiver index, screened by the replay window, decrypted in place (a batch at a time), screened again (the
// window is only updated after authentication, so forged counters cannot poison it), and the
// inner packet, IPv4 or IPv6, is accepted only if its source lies in that peer's allowed IPs.
// Handshake and cookie messages wait in the device's handshake queue and reach the protocol
// core after the data (handshake-queue.ts), so their Diffie-Hellman never delays a data batch.
// Nothing from the network is trusted: every length is checked before it is read, and a bad
// datagram is counted, never thrown.
import type { Keypair, NoisePeer } from '../noise/index.js';
import { OpenBatch } from './crypt-batch.js';
import { formatWords } from '../../../../src-shared/lib/ip/words.js';
import { MAX_BATCH, type Batch } from '../../../../src-shared/lib/native/batch.js';
import type { Device } from './device.js';
import type { DevicePeer } from './peer.js';
import { describePacket } from './describe.js';
import { BAD_VERSION, IPV4_SRC, IPV6_SRC, ipPacketLength } from './inner-packet.js';

const TWO_32 = 4294967296;
type KeypairEntry = { readonly keypair: Keypair; readonly peer: NoisePeer };

/** readCounter reads a transport message's 64-bit little-endian counter (exact below 2^53;
 * above, it is no valid integer and the native open fails the packet). */
function readCounter(buf: Buffer, off: number): number {
  return buf.readUInt32LE(off + 8) + buf.readUInt32LE(off + 12) * TWO_32;
}
/** DATA_OVERHEAD is the header (16) plus the Poly1305 tag (16) of a transport message. */
const DATA_OVERHEAD = 32;

export class InboundPath {
  private readonly tunOffsets = new Uint32Array(MAX_BATCH);
  private readonly tunLengths = new Uint32Array(MAX_BATCH);
  private readonly received: DevicePeer[] = [];
  // The transport messages of one batch that passed the checks before decryption: where the
  // ciphertext is, which key and counter open it, and the datagram it came in (for its source).
  private readonly open = new OpenBatch();
  private readonly entries: (KeypairEntry | undefined)[] = new Array<KeypairEntry | undefined>(MAX_BATCH);
  private readonly datagram = new Uint16Array(MAX_BATCH);

  constructor(private readonly dev: Device) {}

  /** onBatch handles one batch of datagrams from the UDP reader: the transport messages are
   * screened one by one, opened in one native call (on the crypto threads too, when on), then
   * finished one by one in their order of arrival. */
  onBatch(b: Batch): void {
    const dev = this.dev;
    if (!dev.isUp) {
      dev.drops.add('disconnected', b.count);
      return;
    }
    const now = dev.clock();
    const buf = b.buf;
    const open = this.open;
    open.reset();
    for (let i = 0; i < b.count; i++) {
      const off = b.offsets[i]!;
      const len = b.lengths[i]!;
      if (len < 4) {
        dev.drops.add('udp-bad-length');
        continue;
      }
      // The type is a little-endian u32 whose upper three bytes are reserved zeros.
      const type = buf.readUInt32LE(off);
      if (type === 4) {
        const counter = len < DATA_OVERHEAD ? 0 : readCounter(buf, off);
        const entry = this.screen(buf, off, len, counter, now);
        if (entry !== undefined) {
          this.entries[open.count] = entry;
          this.datagram[open.count] = i;
          open.add(entry.keypair, counter, off + 16, len - 16);
        }
      } else if (type >= 1 && type <= 3) {
        dev.handshakes.push(type, buf, off, len, b.addrWords, 4 * i, b.ports[i]!, b.localWords);
      } else {
        dev.drops.add('udp-bad-type');
      }
    }
    open.run(buf);
    let m = 0;
    for (let j = 0; j < open.count; j++) {
      const i = this.datagram[j]!;
      const off = b.offsets[i]!;
      const at = open.ok[j] === 1 ? this.finishData(b, j, i, now) : -1;
      if (open.ok[j] !== 1) dev.drops.add('decrypt-failed');
      if (at >= 0) {
        this.tunOffsets[m] = off + 16;
        this.tunLengths[m] = at;
        m++;
      }
    }
    this.entries.fill(undefined, 0, open.count);
    this.deliver(buf, m, now);
  }

  // deliver writes the m accepted packets to the adapter and flushes what peers staged.
  private deliver(buf: Buffer, m: number, now: number): void {
    const dev = this.dev;
    if (m > 0 && dev.log.enabled('trace')) {
      for (let j = 0; j < m; j++)
        dev.log.trace(`tunnel → adapter: ${describePacket(buf, this.tunOffsets[j]!, this.tunLengths[j]!)}`);
    }
    if (m > 0) {
      const written = dev.tun.writeBatch(buf, this.tunOffsets, this.tunLengths, m);
      if (written < m) dev.drops.add('tun-write-failed', m - written);
    }
    // A responder may send only after the initiator's first data confirmed the session, so
    // packets it staged meanwhile go out now.
    for (const peer of this.received) dev.flushStaged(peer, now);
    this.received.length = 0;
  }

  // screen runs the checks before decryption on one transport message: its length, the session
  // its receiver index names, that session's age, and the replay window (§5.4.6); returns the
  // session or undefined if the message was dropped. Like wireguard-go, a message that passed
  // is opened with that session even if a message before it in the batch retires the session.
  private screen(buf: Buffer, off: number, len: number, counter: number, now: number): KeypairEntry | undefined {
    const dev = this.dev;
    if (len < DATA_OVERHEAD) {
      dev.drops.add('udp-bad-length');
      return undefined;
    }
    const entry = dev.core.keypairForIndex(buf.readUInt32LE(off + 4));
    if (entry === undefined) {
      dev.drops.add('unknown-index');
      return undefined;
    }
    if (entry.keypair.expired(now)) {
      dev.drops.add('expired-keypair');
      return undefined;
    }
    if (!entry.keypair.replay.check(counter)) {
      dev.drops.add('replayed-counter');
      return undefined;
    }
    return entry;
  }

  // finishData takes authenticated transport message j of the open batch (datagram i of b): it
  // updates the replay window (only now, so that forged counters cannot poison it; a duplicate
  // within the batch fails here), follows the peer's endpoint and checks the inner packet;
  // returns the inner packet's length (0 for a keepalive, consumed here) or -1 if dropped.
  private finishData(b: Batch, j: number, i: number, now: number): number {
    const dev = this.dev;
    const buf = b.buf;
    const off = b.offsets[i]!;
    const len = b.lengths[i]!;
    const entry = this.entries[j]!;
    const kp = entry.keypair;
    if (!kp.replay.update(this.open.counters[j]!)) {
      dev.drops.add('replayed-counter');
      return -1;
    }
    const peer = dev.peerOfNoise.get(entry.peer);
    if (peer === undefined) return -1;
    // Roaming (§2.1 / §6): the endpoint follows the latest authenticated packet, and so does
    // the source replies leave from.
    const port = b.ports[i]!;
    if (peer.isEndpoint(b.addrWords, 4 * i, port)) peer.setSourceWords(b.localWords, 4 * i);
    else dev.roam(peer, b.addrWords, 4 * i, port, b.localWords);
    peer.rxBytes += len;
    peer.rxPackets++;
    const plen = len - DATA_OVERHEAD;
    dev.core.receivedData(entry.peer, kp, now, plen === 0);
    if (peer.staged.length > 0) this.received.push(peer);
    if (plen === 0) return -1;
    return this.checkInner(buf, off + 16, plen, peer, now);
  }

  // checkInner checks the decrypted inner packet at p: its own length, the source against the
  // peer's allowed IPs and the firewall; returns its length or -1 if it was dropped.
  private checkInner(buf: Buffer, p: number, plen: number, peer: DevicePeer, now: number): number {
    const dev = this.dev;
    // The padding (§5.4.6) is not part of the packet: its own header says where it ends.
    const total = ipPacketLength(buf, p, plen);
    if (total < 0) {
      dev.drops.add(total === BAD_VERSION ? 'inner-bad-version' : 'inner-bad-length');
      return -1;
    }
    // Cryptokey routing, inbound (whitepaper §2): the source must route back to the same peer.
    const owner =
      buf[p]! >> 4 === 4 ? dev.routes.lookup4(buf.readUInt32BE(p + IPV4_SRC)) : dev.routes.lookup6(buf, p + IPV6_SRC);
    if (owner !== peer) {
      dev.drops.add('source-not-allowed');
      return -1;
    }
    if (dev.filter !== null) {
      const verdict = dev.filter.ingress(peer.index, buf, p, total, now);
      if (verdict !== 0) {
        dev.drops.add(dev.filter.reasons[verdict] ?? 'firewall');
        return -1;
      }
    }
    return total;
  }

  /** control passes one handshake or cookie message from the handshake queue to the core; the
   * source is the address at words[at] (IPv4 mapped) and port, and it arrived on the local
   * address at local[at], which a reply leaves from. */
  control(
    buf: Buffer,
    off: number,
    len: number,
    words: Uint32Array,
    at: number,
    port: number,
    local: Uint32Array,
    now: number,
  ): void {
    const dev = this.dev;
    // The core binds cookies to the source (§5.4.7) by its text: a.b.c.d or RFC 5952 IPv6.
    const from = { ip: formatWords(words, at), port };
    const res = dev.core.receiveControl(buf.subarray(off, off + len), from, now);
    if (res.drop) dev.drops.add(res.drop);
    // The core names a peer only for a handshake message it accepted (authenticated by the
    // peer's static key), never for a cookie reply, which anyone on the path can forge
    // (§5.4.7): so only those move the endpoint (§2.1).
    const peer = res.peer ? dev.peerOfNoise.get(res.peer) : undefined;
    if (peer !== undefined) {
      peer.rxBytes += len;
      peer.rxPackets++;
      if (peer.isEndpoint(words, at, port)) peer.setSourceWords(local, at);
      else dev.roam(peer, words, at, port, local);
    }
    if (res.reply) {
      // A reply (a handshake response, a cookie) goes back to where the message came from and
      // leaves from where it arrived, whether or not the endpoint moved.
      if (!dev.bind.send(res.reply, 0, res.reply.length, words, at, port, local)) dev.drops.add('udp-send-failed');
      else peer?.countTx(res.reply.length);
    }
    if (res.sessionReady && peer !== undefined) {
      // The initiator confirms the new session at once: staged packets, or else a keepalive
      // (as wireguard-go does), so the responder may start sending.
      if (peer.staged.length > 0) dev.flushStaged(peer, now);
      else dev.sendKeepaliveNow(peer, now);
    }
  }
}
