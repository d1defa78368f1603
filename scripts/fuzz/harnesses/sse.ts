// Server-sent events (src-shared/lib/sse.ts SseParser): the helper's watch of the coordinator,
// and the app's and CLI's stream of the helper's events.
import assert from 'node:assert/strict';
import type { HarnessSpec } from '../engine.js';
import { errorOutcome } from '../guard.js';
import { hashSeed } from '../rng.js';
import { SseParser, SseTooLarge, type SseEvent } from '../../../src-shared/lib/sse.js';
import { sseMessage } from '../../../helper/src/api/events.js';
import { pieces } from './http-request.js';

/** reference is the WHATWG event-stream algorithm as SseParser implements it (event and data
 * fields, names cut at 64 characters, no bounds), over complete lines only. */
function reference(text: string): SseEvent[] {
  const out: SseEvent[] = [];
  let event = '';
  let data: string[] = [];
  const re = /\r\n|\n|\r(?!$)/g;
  let at = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const line = text.slice(at, m.index);
    at = m.index + m[0].length;
    if (line === '') {
      if (data.length > 0) out.push({ event: event || 'message', data: data.join('\n') });
      event = '';
      data = [];
      continue;
    }
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') event = value.slice(0, 64);
    else if (field === 'data') data.push(value);
  }
  return out;
}

function feed(bound: number, chunks: string[]): { events: SseEvent[]; tooLarge: boolean } {
  const p = new SseParser(bound);
  const events: SseEvent[] = [];
  for (const c of chunks) {
    try {
      events.push(...p.feed(c));
    } catch (e) {
      if (!(e instanceof SseTooLarge)) assert.fail(`SseParser threw ${errorOutcome(e)}`);
      return { events, tooLarge: true };
    }
    const partial = (p as unknown as { partial: string }).partial;
    assert.ok(partial.length <= bound, `the parser holds a ${partial.length}-character line over its bound ${bound}`);
  }
  return { events, tooLarge: false };
}

export const sse: HarnessSpec = {
  name: 'sse',
  properties: [
    'SseParser returns events or throws SseTooLarge, nothing else, and never holds a partial line over its bound',
    'without a refusal, it gives the events of the reference algorithm however the stream is cut; with one, the events before it are a prefix of them',
    "every message the helper's sseMessage writes parses back to its event name and data",
  ],
  testIterations: 6000,
  create() {
    return {
      seeds: [
        sseMessage('snapshot', { state: 'connected', peers: [] }),
        'event: map\ndata: {"a":1}\n\n: ping\n\nevent: x\r\ndata\r\ndata:  two\r\n\r\nid: 1\nretry: 5\ndata:x\n\n',
        'data: a\rdata: b\r\rdata: c\n\n',
        `event: ${'e'.repeat(80)}\ndata: ${'d'.repeat(200)}\n\n`,
      ].map((s) => Buffer.from(s, 'utf8')),
      dictionary: ['\n', '\r', '\r\n', '\n\n', 'data: ', 'event: ', ':', 'data', 'event'],
      maxLen: 16 * 1024,
      run(input) {
        const text = input.toString('utf8');
        const bound = [16, 256, 1 << 20][hashSeed(input) % 3]!;
        const cut = pieces(input).map((p) => p.toString('utf8'));
        // The pieces are cut on bytes; decoding each on its own can split a character, so the
        // reference reads what the parser was given.
        const given = cut.join('');
        const whole = feed(bound, [given]);
        const inPieces = feed(bound, cut);
        const want = reference(given);
        for (const r of [whole, inPieces]) {
          if (!r.tooLarge) assert.deepEqual(r.events, want, 'events differ from the reference');
          else assert.deepEqual(r.events, want.slice(0, r.events.length), 'events before a refusal are not a prefix');
        }
        const msg = feed(8 * text.length + 64, [sseMessage('status', text)]);
        assert.deepEqual(
          msg.events,
          [{ event: 'status', data: JSON.stringify(text) }],
          'sseMessage does not parse back',
        );
        return `${bound}:${whole.tooLarge ? 'too-large' : `events-${Math.min(want.length, 4)}`}:${inPieces.tooLarge}`;
      },
    };
  },
};
