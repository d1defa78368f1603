// TcpFramer: DNS messages out of a TCP byte stream, each behind its 2-byte length (RFC 1035
// §4.2.2, RFC 7766 §8). The stream is the network's to cut: a client may send one byte per
// segment. So each byte is copied at most once: a message wholly inside a chunk is handed over
// as a view of it, and a message split across chunks is gathered into one buffer of exactly its
// announced length, allocated when that length is known. What a connection holds between chunks
// is therefore bounded by one message, at most 65,535 bytes, whatever the client does.

/** MAX_TCP_MESSAGE is the largest message a 2-byte length can announce (RFC 7766 §8). */
export const MAX_TCP_MESSAGE = 0xffff;

/** TcpFramer reassembles one connection's messages; push() hands each complete one over. */
export class TcpFramer {
  // The length prefix may itself arrive split: `lengthBytes` of it have been seen so far.
  private lengthBytes = 0;
  private length = 0;
  // The message being gathered across chunks (null while none is), and how much of it is filled.
  private partial: Buffer | null = null;
  private filled = 0;

  /** pendingBytes is what is held for the next message: the part of it received so far. */
  get pendingBytes(): number {
    return this.lengthBytes + this.filled;
  }

  /**
   * push takes the next chunk and calls onMessage, in order, for every message it completes.
   * A message is valid only during its call (it may be a view of the chunk). onMessage returns
   * false to stop (the connection is gone); the rest of the chunk is then ignored.
   */
  push(chunk: Buffer, onMessage: (msg: Buffer) => boolean): void {
    let off = 0;
    while (off < chunk.length) {
      if (this.lengthBytes < 2) {
        this.length = (this.length << 8) | chunk[off++]!;
        this.lengthBytes++;
        if (this.lengthBytes < 2) continue;
        // A whole message inside the chunk (a zero-length one included) needs no copy.
        if (chunk.length - off >= this.length) {
          const msg = chunk.subarray(off, off + this.length);
          off += this.length;
          this.reset();
          if (!onMessage(msg)) return;
          continue;
        }
        this.partial = Buffer.allocUnsafe(this.length);
        this.filled = 0;
        continue;
      }
      const msg = this.partial!;
      const n = Math.min(msg.length - this.filled, chunk.length - off);
      chunk.copy(msg, this.filled, off, off + n);
      this.filled += n;
      off += n;
      if (this.filled < msg.length) continue;
      this.reset();
      if (!onMessage(msg)) return;
    }
  }

  private reset(): void {
    this.lengthBytes = 0;
    this.length = 0;
    this.partial = null;
    this.filled = 0;
  }
}
