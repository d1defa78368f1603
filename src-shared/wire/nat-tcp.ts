// TCP framing of the NAT messages (nat-wire.ts): a relay connection over TCP carries the same
// frames as UDP, each preceded by its length as a u16 (big-endian).
import { NAT_HEADER_BYTES, NAT_LIMITS, NONCE_BYTES, SIGNATURE_BYTES } from './nat-wire.js';
import { RELAY_HEADER_BYTES } from './nat-relay.js';

/** TCP_FRAME_PREFIX is the length prefix of each frame. */
export const TCP_FRAME_PREFIX = 2;
/** TCP_MAX_FRAME is the largest relay registration (the largest token) with room to spare. */
export const TCP_MAX_FRAME = NAT_HEADER_BYTES + 3 + NAT_LIMITS.relayTokenBytes + 8 + NONCE_BYTES + SIGNATURE_BYTES + 64;

/** TCP_MAX_RELAY_FRAME is the largest frame of a registered connection: a relaySend with the
 * largest payload (or a registration, if larger). */
export const TCP_MAX_RELAY_FRAME = Math.max(TCP_MAX_FRAME, RELAY_HEADER_BYTES + NAT_LIMITS.relayPayloadBytes);

/** TcpFrameReader splits a TCP byte stream into frames; a length over maxFrame is fatal. It
 * holds at most one frame between chunks (up to 65,535 bytes, allocated once its length is
 * known), and copies each byte once however finely the sender cuts the stream: joining the
 * pending bytes with each new chunk would copy a 64 KiB frame sent a byte at a time 64 Ki times. */
export class TcpFrameReader {
  private readonly prefix = new Uint8Array(TCP_FRAME_PREFIX);
  private prefixHave = 0;
  private frame: Uint8Array | null = null;
  private have = 0;
  /** maxFrame may be raised once the peer has proved itself (the relay: after registration). */
  constructor(public maxFrame = TCP_MAX_RELAY_FRAME) {}

  /** pendingBytes is what the reader holds between chunks: a partial prefix and frame. */
  get pendingBytes(): number {
    return this.prefixHave + (this.frame === null ? 0 : this.frame.length);
  }

  /** push returns the complete frames in chunk (plus what was pending), or null if the stream is bad. */
  push(chunk: Uint8Array): Uint8Array[] | null {
    const frames: Uint8Array[] = [];
    let at = 0;
    while (at < chunk.length) {
      if (this.frame === null) {
        this.prefix[this.prefixHave++] = chunk[at++]!;
        if (this.prefixHave < TCP_FRAME_PREFIX) continue;
        this.prefixHave = 0;
        const n = (this.prefix[0]! << 8) | this.prefix[1]!;
        if (n === 0 || n > this.maxFrame) return null;
        this.frame = new Uint8Array(n);
        this.have = 0;
      }
      const take = Math.min(this.frame.length - this.have, chunk.length - at);
      this.frame.set(chunk.subarray(at, at + take), this.have);
      this.have += take;
      at += take;
      if (this.have === this.frame.length) {
        frames.push(this.frame);
        this.frame = null;
      }
    }
    return frames;
  }
}

/** tcpFrame prefixes a frame with its length. */
export function tcpFrame(frame: Uint8Array): Uint8Array {
  if (frame.length === 0 || frame.length > 65535) throw new Error('frame length out of range');
  const out = new Uint8Array(TCP_FRAME_PREFIX + frame.length);
  out[0] = frame.length >> 8;
  out[1] = frame.length & 0xff;
  out.set(frame, TCP_FRAME_PREFIX);
  return out;
}
