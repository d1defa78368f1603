import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SseParser } from './sse.js';
import { peekMapVersion } from './agent-sim.js';

test('SseParser joins events split anywhere across chunks', () => {
  const text = 'event: map\ndata: {"a":1}\n\nevent: ping\r\ndata: x\r\n\r\n: comment\ndata: one\ndata: two\n\n';
  for (let cut = 0; cut <= text.length; cut++) {
    const p = new SseParser();
    const events = [...p.push(text.slice(0, cut)), ...p.push(text.slice(cut))];
    assert.deepEqual(events, [
      { event: 'map', data: '{"a":1}' },
      { event: 'ping', data: 'x' },
      { event: 'message', data: 'one\ntwo' },
    ], `cut at ${cut}`);
  }
});

test('SseParser refuses an endless line', () => {
  const p = new SseParser(100);
  assert.throws(() => p.push(`data: ${'x'.repeat(200)}`), /longer than 100/);
});

test('peekMapVersion reads the version from the payload head', () => {
  const payload = Buffer.from('{"protocol":1,"version":4711,"generatedAt":1,"systemId":"s"}').toString('base64');
  assert.equal(peekMapVersion(JSON.stringify({ type: 'map', map: { payload, signature: 'x' } })), 4711);
  assert.equal(peekMapVersion('{"type":"ping","ts":1}'), null);
});
