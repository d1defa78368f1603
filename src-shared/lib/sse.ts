// SseParser: an incremental, bounded reader of the WHATWG "text/event-stream" format (event and
// data fields; comments and other fields are skipped). The one parser for every event stream:
// the local API's events, the coordinator's watch (helper/src/control/watch.ts) and the
// coordinator's reference agent.
// Input comes from a socket, so a line or an event longer than the bound is an error rather
// than a reason to buffer without end.

/** SseEvent is one dispatched event: its name ('message' when the stream named none) and data. */
export interface SseEvent {
  event: string;
  data: string;
}

/** SseTooLarge: an event or line went past the parser's bound. */
export class SseTooLarge extends Error {
  override name = 'SseTooLarge';
}

/** SseParser turns chunks of text into events; feed() returns the events each chunk completed. */
export class SseParser {
  private partial = '';
  private event = '';
  private data: string[] = [];
  private dataBytes = 0;

  constructor(private readonly maxEventBytes: number) {}

  /** feed parses one chunk (decoded text) and returns the events it completed. */
  feed(chunk: string): SseEvent[] {
    const out: SseEvent[] = [];
    let text = this.partial + chunk;
    // The kept partial line has no line end except maybe a last lone \r, so only the new text
    // is scanned: a network map is one long data line that arrives in many chunks.
    const eol = /[\r\n]/g;
    eol.lastIndex = Math.max(0, this.partial.length - 1);
    for (;;) {
      const m = eol.exec(text);
      if (m === null) break;
      const nl = m.index;
      const line = text.slice(0, nl);
      // A lone \r at the very end may be the first half of \r\n: wait for the next chunk.
      if (text[nl] === '\r' && nl === text.length - 1) break;
      text = text.slice(nl + (text.startsWith('\r\n', nl) ? 2 : 1));
      eol.lastIndex = 0;
      this.line(line, out);
    }
    if (text.length > this.maxEventBytes)
      throw new SseTooLarge(`an event line is longer than ${this.maxEventBytes} bytes`);
    this.partial = text;
    return out;
  }

  private line(line: string, out: SseEvent[]): void {
    if (line === '') {
      if (this.data.length > 0) out.push({ event: this.event || 'message', data: this.data.join('\n') });
      this.event = '';
      this.data = [];
      this.dataBytes = 0;
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') {
      this.event = value.slice(0, 64);
    } else if (field === 'data') {
      this.dataBytes += value.length + 1;
      if (this.dataBytes > this.maxEventBytes)
        throw new SseTooLarge(`an event is longer than ${this.maxEventBytes} bytes`);
      this.data.push(value);
    }
  }
}
