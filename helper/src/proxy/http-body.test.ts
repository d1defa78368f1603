import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_CHUNK_LINE, MAX_TRAILER, bodyTracker, requestFraming, type BodyFraming } from './http-body.js';
import type { RequestHead } from './http-head.js';

function req(headers: [string, string][]): RequestHead {
  return { method: 'POST', target: 'http://a.test/', version: 'HTTP/1.1', headers };
}

test('requestFraming reads Content-Length and Transfer-Encoding, refusing ambiguity', () => {
  const cases: [[string, string][], BodyFraming | string][] = [
    [[], { kind: 'none' }],
    [[['Content-Length', '0']], { kind: 'none' }],
    [[['content-length', '12']], { kind: 'length', length: 12 }],
    [
      [
        ['Content-Length', '12'],
        ['Content-Length', '12'],
      ],
      { kind: 'length', length: 12 },
    ],
    [
      [
        ['Content-Length', '12'],
        ['Content-Length', '13'],
      ],
      'bad Content-Length',
    ],
    [[['Content-Length', '-1']], 'bad Content-Length'],
    [[['Content-Length', '1e3']], 'bad Content-Length'],
    [[['Content-Length', '1234567890123456']], 'bad Content-Length'],
    [[['Transfer-Encoding', 'chunked']], { kind: 'chunked' }],
    [[['Transfer-Encoding', 'gzip, Chunked']], { kind: 'chunked' }],
    [
      [
        ['Transfer-Encoding', 'gzip'],
        ['Transfer-Encoding', 'chunked'],
      ],
      { kind: 'chunked' },
    ],
    [[['Transfer-Encoding', 'chunked, gzip']], 'unsupported Transfer-Encoding'],
    [
      [
        ['Transfer-Encoding', 'chunked'],
        ['Content-Length', '3'],
      ],
      'both Transfer-Encoding and Content-Length',
    ],
  ];
  for (const [headers, want] of cases) assert.deepEqual(requestFraming(req(headers)), want, JSON.stringify(headers));
});

/** feedAll feeds text in pieces of `step` bytes and returns the body length seen and done. */
function feedAll(f: BodyFraming, text: string, step: number): { used: number; done: boolean } | string {
  const t = bodyTracker(f);
  const bytes = Buffer.from(text, 'latin1');
  let used = 0;
  for (let i = 0; i < bytes.length && !t.done; i += step) {
    const n = t.feed(bytes.subarray(i, i + step));
    if (typeof n === 'string') return n;
    used += n;
  }
  return { used, done: t.done };
}

test('bodyTracker finds the end of a body however it is split', () => {
  const chunked = '5\r\nhello\r\n1a;ext=1\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n';
  const withTrailer = '3\r\nabc\r\n0\r\nX-Sum: 1\r\nX-Other: 2\r\n\r\n';
  const cases: [string, BodyFraming, string, number, boolean][] = [
    ['no body ignores what follows', { kind: 'none' }, 'GET http://next/ HTTP/1.1\r\n\r\n', 0, true],
    ['length stops at its count', { kind: 'length', length: 4 }, 'bodyGET next', 4, true],
    ['length waits for the rest', { kind: 'length', length: 10 }, 'short', 5, false],
    ['chunked with an extension', { kind: 'chunked' }, chunked + 'GET next', chunked.length, true],
    ['chunked with trailers', { kind: 'chunked' }, withTrailer + 'junk', withTrailer.length, true],
    ['chunked, incomplete', { kind: 'chunked' }, '5\r\nhel', 6, false],
  ];
  for (const [name, f, text, used, done] of cases) {
    for (const step of [1, 2, 7, 1000]) {
      assert.deepEqual(feedAll(f, text, step), { used, done }, `${name}, pieces of ${step}`);
    }
  }
});

test('bodyTracker refuses broken chunked framing', () => {
  const cases: [string, string][] = [
    ['zz\r\n', 'malformed chunk-size line'],
    ['5 5\r\nhello\r\n', 'malformed chunk-size line'],
    ['5\nhello', 'chunk-size line not ended by CRLF'],
    ['3\r\nabcX\r\n', 'chunk data not followed by CRLF'],
    ['3\r\nabc\rX', 'chunk data not followed by CRLF'],
    ['12345678901234\r\n', 'malformed chunk-size line'],
    ['0\r\nX: 1\n\r\n', 'trailer line not ended by CRLF'],
    [`1;${'e'.repeat(MAX_CHUNK_LINE)}\r\n`, 'chunk-size line too long'],
    [`0\r\nX: ${'v'.repeat(MAX_TRAILER)}\r\n\r\n`, 'trailer section too large'],
  ];
  for (const [text, want] of cases) {
    for (const step of [1, 1000_000])
      assert.equal(feedAll({ kind: 'chunked' }, text, step), want, `${JSON.stringify(text.slice(0, 20))} by ${step}`);
  }
});
