// TCP framing of the NAT messages (nat-wire.ts): a relay connection over TCP carries the same
// frames as UDP, each preceded by its length as a u16 (big-endian).
import { NAT_HEADER_BYTES, NAT_LIMITS, NONCE_BYTES, SIGNATURE_BYTES } from './nat-wire.js';
import { RELAY_HEADER_BYTES } from './nat-relay.js';

/** TCP_FRAME_PREFIX is the length prefix of each frame. */
export const TCP_FRAME_PREFIX = 2;
/** TCP_MAX_FRAME is the largest relay registration (the largest token) with room to spare. */
export const TCP_MAX_FRAME = NAT_HEADER_BYTES + 3 + NAT_LIMITS.relayTokenBytes + 8 + NONCE_BYTES + SIGNATURE_BYTES + 64;

/** TcpFrameReader splits a TCP byte stream into frames; a length over maxFrame is fatal. */
export class TcpFrameReader {
  private pending: Uint8Array = new Uint8Array(0);
  constructor(private readonly maxFrame = Math.max(TCP_MAX_FRAME, RELAY_HEADER_BYTES + NAT_LIMITS.relayPayloadBytes)) {}

  /** push returns the complete frames in chunk (plus what was pending), or null if the stream is bad. */
  push(chunk: Uint8Array): Uint8Array[] | null {
    let buf: Uint8Array;
    if (this.pending.length === 0) buf = chunk;
    else {
      buf = new Uint8Array(this.pending.length + chunk.length);
      buf.set(this.pending, 0);
      buf.set(chunk, this.pending.length);
    }
    const frames: Uint8Array[] = [];
    let at = 0;
    while (buf.length - at >= TCP_FRAME_PREFIX) {
      const n = (buf[at]! << 8) | buf[at + 1]!;
      if (n === 0 || n > this.maxFrame) return null;
      if (buf.length - at - TCP_FRAME_PREFIX < n) break;
      frames.push(buf.slice(at + TCP_FRAME_PREFIX, at + TCP_FRAME_PREFIX + n));
      at += TCP_FRAME_PREFIX + n;
    }
    this.pending = buf.slice(at);
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
