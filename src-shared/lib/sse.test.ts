import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SseParser, SseTooLarge, type SseEvent } from './sse.js';
import { sseMessage } from '../../helper/src/api/events.js';

test('SseParser: fields, comments, line endings and events split across chunks', () => {
  const cases: [string, string[], SseEvent[]][] = [
    ['one event', ['event: status\ndata: {"a":1}\n\n'], [{ event: 'status', data: '{"a":1}' }]],
    ['no event name', ['data: x\n\n'], [{ event: 'message', data: 'x' }]],
    ['comment only', [': heartbeat\n\n'], []],
    ['multi-line data', ['data: a\ndata: b\n\n'], [{ event: 'message', data: 'a\nb' }]],
    ['CRLF', ['event: snapshot\r\ndata: 1\r\n\r\n'], [{ event: 'snapshot', data: '1' }]],
    ['CR split from LF', ['event: x\r', '\ndata: 2\r', '\n\r', '\n'], [{ event: 'x', data: '2' }]],
    ['split mid-line', ['eve', 'nt: st', 'atus\nda', 'ta: 3\n', '\n'], [{ event: 'status', data: '3' }]],
    ['no space after colon, unknown field', ['id: 7\nevent:y\ndata:4\n\n'], [{ event: 'y', data: '4' }]],
    ['incomplete event is held', ['data: 5\n'], []],
    [
      'two events in one chunk',
      ['data: 1\n\ndata: 2\n\n'],
      [
        { event: 'message', data: '1' },
        { event: 'message', data: '2' },
      ],
    ],
  ];
  for (const [label, chunks, want] of cases) {
    const p = new SseParser(1024);
    assert.deepEqual(
      chunks.flatMap((c) => p.feed(c)),
      want,
      label,
    );
  }
});

test('SseParser refuses an endless line and an oversized event', () => {
  assert.throws(() => new SseParser(100).feed('data: ' + 'x'.repeat(200)), SseTooLarge);
  const p = new SseParser(100);
  assert.throws(() => {
    for (let i = 0; i < 20; i++) p.feed('data: ' + 'x'.repeat(20) + '\n');
  }, SseTooLarge);
});

test('sseMessage round-trips through the parser, newlines in strings included', () => {
  const value = { text: 'line one\nline two', n: 1 };
  const [ev] = new SseParser(1024).feed(sseMessage('status', value));
  assert.equal(ev?.event, 'status');
  assert.deepEqual(JSON.parse(ev!.data), value);
});

test('SseParser joins events split anywhere across chunks (coordinator watch format)', () => {
  const text = 'event: map\ndata: {"a":1}\n\nevent: ping\r\ndata: x\r\n\r\n: comment\ndata: one\ndata: two\n\n';
  for (let cut = 0; cut <= text.length; cut++) {
    const p = new SseParser(1 << 20);
    const events = [...p.feed(text.slice(0, cut)), ...p.feed(text.slice(cut))];
    assert.deepEqual(
      events,
      [
        { event: 'map', data: '{"a":1}' },
        { event: 'ping', data: 'x' },
        { event: 'message', data: 'one\ntwo' },
      ],
      `cut at ${cut}`,
    );
  }
});

test('SseParser refuses an endless line fed in small chunks', () => {
  const p = new SseParser(100);
  assert.throws(() => {
    for (let i = 0; i < 30; i++) p.feed('data: xxxxxxxx');
  }, /longer than 100/);
});
