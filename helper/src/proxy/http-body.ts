// Where a request's body ends (RFC 9112 §6.3, chunked coding §7.1), so the egress proxy
// forwards exactly one request per connection and nothing a client sends after it. Only the
// framing is followed: the bytes themselves pass on untouched. Every line is bounded, since a
// client that never ends a chunk-size line must not make the proxy buffer forever.
import type { RequestHead } from './http-head.js';

/** BodyFraming says how a request's body is delimited. */
export type BodyFraming = { kind: 'none' } | { kind: 'length'; length: number } | { kind: 'chunked' };

/** MAX_CHUNK_LINE bounds a chunk-size line with its extensions; MAX_TRAILER the trailer section. */
export const MAX_CHUNK_LINE = 4096;
export const MAX_TRAILER = 16 * 1024;

/**
 * requestFraming reads a request's framing from its header fields, or returns why it is
 * refused: both Transfer-Encoding and Content-Length (a smuggling vector), a coding that does
 * not end in chunked, or an unusable Content-Length.
 */
export function requestFraming(req: RequestHead): BodyFraming | string {
  const te = req.headers.filter(([n]) => n.toLowerCase() === 'transfer-encoding');
  const cl = req.headers.filter(([n]) => n.toLowerCase() === 'content-length');
  if (te.length > 0 && cl.length > 0) return 'both Transfer-Encoding and Content-Length';
  if (te.length > 0) {
    if (!/(^|,)\s*chunked\s*$/i.test(te.map(([, v]) => v).join(','))) return 'unsupported Transfer-Encoding';
    return { kind: 'chunked' };
  }
  if (cl.length === 0) return { kind: 'none' };
  const first = cl[0]?.[1] ?? '';
  if (!cl.every(([, v]) => /^[0-9]{1,15}$/.test(v) && v === first)) return 'bad Content-Length';
  const length = Number(first);
  return length === 0 ? { kind: 'none' } : { kind: 'length', length };
}

/** BodyTracker follows a body through the pieces it arrives in. */
export interface BodyTracker {
  /**
   * feed takes the next piece and returns how many of its leading bytes belong to the body
   * (the rest comes after the message), or a reason when the framing is broken.
   */
  feed(chunk: Buffer): number | string;
  /** done is true once the whole body has been seen. */
  readonly done: boolean;
}

/** bodyTracker starts following a body framed as f. */
export function bodyTracker(f: BodyFraming): BodyTracker {
  if (f.kind === 'none') return { feed: () => 0, done: true };
  if (f.kind === 'length') {
    let remaining = f.length;
    return {
      feed(chunk) {
        const n = Math.min(remaining, chunk.length);
        remaining -= n;
        return n;
      },
      get done() {
        return remaining === 0;
      },
    };
  }
  return new ChunkedTracker();
}

type ChunkedState = 'size' | 'data' | 'data-cr' | 'data-lf' | 'trailer' | 'done';

const CHUNK_SIZE_LINE = /^([0-9A-Fa-f]{1,13})(?:[ \t]*;[\t\x20-\x7e\x80-\xff]*)?$/;

/** ChunkedTracker walks chunk-size lines, chunk data and the trailer section. */
class ChunkedTracker implements BodyTracker {
  private state: ChunkedState = 'size';
  private line = '';
  private remaining = 0;
  private trailerBytes = 0;

  get done(): boolean {
    return this.state === 'done';
  }

  feed(chunk: Buffer): number | string {
    let i = 0;
    while (i < chunk.length && this.state !== 'done') {
      switch (this.state) {
        case 'data': {
          const n = Math.min(this.remaining, chunk.length - i);
          i += n;
          this.remaining -= n;
          if (this.remaining === 0) this.state = 'data-cr';
          break;
        }
        case 'data-cr':
        case 'data-lf':
          if (chunk[i] !== (this.state === 'data-cr' ? 0x0d : 0x0a)) return 'chunk data not followed by CRLF';
          i++;
          this.state = this.state === 'data-cr' ? 'data-lf' : 'size';
          break;
        case 'size':
        case 'trailer': {
          const lf = chunk.indexOf(0x0a, i);
          const end = lf < 0 ? chunk.length : lf + 1;
          const limit = this.state === 'size' ? MAX_CHUNK_LINE : MAX_TRAILER - this.trailerBytes;
          if (this.line.length + (end - i) > limit)
            return this.state === 'size' ? 'chunk-size line too long' : 'trailer section too large';
          this.line += chunk.toString('latin1', i, end);
          i = end;
          if (lf < 0) break;
          const problem = this.state === 'size' ? this.endSizeLine() : this.endTrailerLine();
          if (problem !== null) return problem;
          break;
        }
      }
    }
    return i;
  }

  private endSizeLine(): string | null {
    const text = this.line;
    this.line = '';
    if (!text.endsWith('\r\n')) return 'chunk-size line not ended by CRLF';
    const m = CHUNK_SIZE_LINE.exec(text.slice(0, -2));
    if (!m) return 'malformed chunk-size line';
    this.remaining = parseInt(m[1] ?? '0', 16);
    this.state = this.remaining === 0 ? 'trailer' : 'data';
    return null;
  }

  private endTrailerLine(): string | null {
    const text = this.line;
    this.line = '';
    this.trailerBytes += text.length;
    if (!text.endsWith('\r\n')) return 'trailer line not ended by CRLF';
    if (text === '\r\n') this.state = 'done';
    return null;
  }
}
