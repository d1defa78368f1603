// A bounded parser for server-sent events as the coordinator writes them (event: and data:
// lines, a blank line between events). Enough for the reference agent; comments, ids and
// retry fields are ignored.

/** SseEvent is one event: its name and its data lines joined by newlines. */
export interface SseEvent {
  event: string;
  data: string;
}

/** SseParser turns chunks into events; a line longer than maxLine ends the stream with an error. */
export class SseParser {
  private buffer = '';
  private event = 'message';
  private data: string[] = [];

  constructor(private readonly maxLine = 64 * 1024 * 1024) {}

  push(chunk: string): SseEvent[] {
    // Scan only the new text for line ends: a map is one long data line arriving in many chunks.
    let scanFrom = this.buffer.length;
    this.buffer += chunk;
    const out: SseEvent[] = [];
    let lineStart = 0;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n', scanFrom)) >= 0) {
      let line = this.buffer.slice(lineStart, nl);
      lineStart = nl + 1;
      scanFrom = lineStart;
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (line === '') {
        if (this.data.length > 0) out.push({ event: this.event, data: this.data.join('\n') });
        this.event = 'message';
        this.data = [];
      } else if (line.startsWith('event:')) {
        this.event = line.slice(6).trim();
      } else if (line.startsWith('data:')) {
        this.data.push(line.slice(line.startsWith('data: ') ? 6 : 5));
      }
    }
    if (lineStart > 0) this.buffer = this.buffer.slice(lineStart);
    if (this.buffer.length > this.maxLine) throw new Error(`an event stream line is longer than ${this.maxLine} characters`);
    return out;
  }
}
