// InboundPath: peer → adapter. Transport messages (whitepaper §5.4.6) are matched to a session
// by receiver index, screened by the replay window, decrypted in place, screened again (the
// window is only updated after authentication, so forged counters cannot poison it), and the
// inner packet, IPv4 or IPv6, is accepted only if its source lies in that peer's allowed IPs.
// Handshake and cookie messages wait in the device's handshake queue and reach the protocol
// core after the data (handshake-queue.ts), so their Diffie-Hellman never delays a data batch.
// Nothing from the network is trusted: every length is checked before it is read, and a bad
// datagram is counted, never thrown.
import * as native from '../../../../src-shared/lib/native/index.js';
import { formatWords } from '../../../../src-shared/lib/ip/words.js';
import { MAX_BATCH, type Batch } from '../../../../src-shared/lib/native/batch.js';
import type { Device } from './device.js';
import type { DevicePeer } from './peer.js';
import { describePacket } from './describe.js';
import { BAD_VERSION, IPV4_SRC, IPV6_SRC, ipPacketLength } from './inner-packet.js';

const TWO_32 = 4294967296;
/** DATA_OVERHEAD is the header (16) plus the Poly1305 tag (16) of a transport message. */
const DATA_OVERHEAD = 32;

export class InboundPath {
  private readonly tunOffsets = new Uint32Array(MAX_BATCH);
  private readonly tunLengths = new Uint32Array(MAX_BATCH);
  private readonly received: DevicePeer[] = [];

  constructor(private readonly dev: Device) {}

  /** onBatch handles one batch of datagrams from the UDP reader. */
  onBatch(b: Batch): void {
    const dev = this.dev;
    if (!dev.isUp) {
      dev.drops.add('disconnected', b.count);
      return;
    }
    const now = dev.clock();
    const buf = b.buf;
    let m = 0;
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
        const at = this.openData(buf, off, len, b, 4 * i, b.ports[i]!, now);
        if (at >= 0) {
          this.tunOffsets[m] = off + 16;
          this.tunLengths[m] = at;
          m++;
        }
      } else if (type >= 1 && type <= 3) {
        dev.handshakes.push(type, buf, off, len, b.addrWords, 4 * i, b.ports[i]!, b.localWords);
      } else {
        dev.drops.add('udp-bad-type');
      }
    }
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

  // openData authenticates one transport message from the address at b.addrWords[at] and port,
  // received on the local address at b.localWords[at]; returns the inner packet's length (0 for
  // a keepalive, which is consumed here) or -1 if it was dropped.
  private openData(buf: Buffer, off: number, len: number, b: Batch, at: number, port: number, now: number): number {
    const dev = this.dev;
    if (len < DATA_OVERHEAD) {
      dev.drops.add('udp-bad-length');
      return -1;
    }
    const entry = dev.core.keypairForIndex(buf.readUInt32LE(off + 4));
    if (entry === undefined) {
      dev.drops.add('unknown-index');
      return -1;
    }
    const kp = entry.keypair;
    if (kp.expired(now)) {
      dev.drops.add('expired-keypair');
      return -1;
    }
    const counter = buf.readUInt32LE(off + 8) + buf.readUInt32LE(off + 12) * TWO_32;
    if (!kp.replay.check(counter)) {
      dev.drops.add('replayed-counter');
      return -1;
    }
    if (!native.aeadOpen(kp.recvKey, counter, buf, off + 16, len - 16)) {
      dev.drops.add('decrypt-failed');
      return -1;
    }
    if (!kp.replay.update(counter)) {
      dev.drops.add('replayed-counter');
      return -1;
    }
    const peer = dev.peerOfNoise.get(entry.peer);
    if (peer === undefined) return -1;
    // Roaming (§2.1 / §6): the endpoint follows the latest authenticated packet, and so does
    // the source replies leave from.
    if (peer.isEndpoint(b.addrWords, at, port)) peer.setSourceWords(b.localWords, at);
    else dev.roam(peer, b.addrWords, at, port, b.localWords);
    peer.rxBytes += len;
    peer.rxPackets++;
    const plen = len - DATA_OVERHEAD;
    dev.core.receivedData(entry.peer, kp, now, plen === 0);
    if (peer.staged.length > 0) this.received.push(peer);
    if (plen === 0) return -1;
    const p = off + 16;
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
