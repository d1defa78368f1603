import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger, MAX_RATE_KEYS, type LogLevel } from './log.js';

function capture(verbosity: number, clock = { t: Date.UTC(2026, 10, 24) }) {
  const lines: string[] = [];
  const log = createLogger(verbosity, { write: (s: string) => lines.push(s) }, () => clock.t);
  return { log, lines, clock };
}

test('levels are filtered by verbosity', () => {
  const levels: LogLevel[] = ['error', 'warn', 'info', 'verbose', 'debug', 'trace'];
  const want: Record<number, string[]> = {
    0: ['ERROR', 'WARN'],
    1: ['ERROR', 'WARN', 'INFO'],
    2: ['ERROR', 'WARN', 'INFO', 'VERBOSE'],
    3: ['ERROR', 'WARN', 'INFO', 'VERBOSE', 'DEBUG'],
    4: ['ERROR', 'WARN', 'INFO', 'VERBOSE', 'DEBUG'],
    5: ['ERROR', 'WARN', 'INFO', 'VERBOSE', 'DEBUG', 'TRACE'],
  };
  for (const [v, expected] of Object.entries(want)) {
    const { log, lines } = capture(Number(v));
    for (const l of levels) log[l]('m');
    assert.deepEqual(
      lines.map((s) => s.split(' ')[1]),
      expected,
      `-v ${v}`,
    );
    assert.equal(log.enabled('verbose'), Number(v) >= 2);
    assert.equal(log.enabled('debug'), Number(v) >= 3);
  }
});

test('line format is TIMESTAMP LEVEL message', () => {
  const { log, lines } = capture(1);
  log.info('tunnel up');
  assert.deepEqual(lines, ['2026-11-24T00:00:00.000Z INFO tunnel up\n']);
});

test('control characters are escaped so one message is one line', () => {
  const { log, lines } = capture(1);
  log.warn('peer said "a\nFAKE INFO b\r\u001b[2J\u0085"');
  assert.equal(lines.length, 1);
  assert.equal(lines[0], '2026-11-24T00:00:00.000Z WARN peer said "a\\nFAKE INFO b\\r\\x1b[2J\\x85"\n');
});

test('rateLimited writes one line per interval per key and counts the rest', () => {
  const { log, lines, clock } = capture(3);
  for (let i = 0; i < 5; i++) log.rateLimited('drop:no-route', 1000).debug(`drop ${i}`);
  log.rateLimited('drop:bad-mac', 1000).debug('other key');
  clock.t += 999;
  log.rateLimited('drop:no-route', 1000).debug('still limited');
  clock.t += 1;
  log.rateLimited('drop:no-route', 1000).debug('again');
  assert.deepEqual(
    lines.map((l) => l.slice(25)),
    ['DEBUG drop 0\n', 'DEBUG other key\n', 'DEBUG again (5 similar suppressed)\n'],
  );
});

test('rateLimited ignores levels that are off and bounds its table', () => {
  const { log, lines, clock } = capture(1);
  log.rateLimited('k', 1000).trace('hidden');
  log.rateLimited('k', 1000).info('shown');
  assert.equal(lines.length, 1);
  for (let i = 0; i < MAX_RATE_KEYS + 10; i++) log.rateLimited(`key${i}`, 1000).info('x');
  // "k" was the oldest key and has been evicted, so it logs again at once.
  clock.t += 1;
  const before = lines.length;
  log.rateLimited('k', 1000).info('k again');
  assert.equal(lines.length, before + 1);
});
