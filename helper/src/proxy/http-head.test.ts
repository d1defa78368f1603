import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HeadCollector, connectionTokens, parseRequestHead, parseResponseHead, splitHostPort } from './http-head.js';

test('splitHostPort accepts host:port and [v6]:port only', () => {
  const cases: [string, number | undefined, { host: string; port: number } | null][] = [
    ['example.com:443', undefined, { host: 'example.com', port: 443 }],
    ['[::1]:8080', undefined, { host: '::1', port: 8080 }],
    ['example.com', 80, { host: 'example.com', port: 80 }],
    ['[fd00::1]', 80, { host: 'fd00::1', port: 80 }],
    ['example.com', undefined, null],
    ['example.com:', undefined, null],
    ['example.com:65536', undefined, null],
    ['example.com:+1', undefined, null],
    ['::1:80', undefined, null],
    ['[::1]x', undefined, null],
    ['user@example.com:80', undefined, null],
    [':80', undefined, null],
  ];
  for (const [authority, def, want] of cases) assert.deepEqual(splitHostPort(authority, def), want, authority);
});

test('parseRequestHead parses a strict subset', () => {
  const ok = parseRequestHead(Buffer.from('CONNECT a.test:443 HTTP/1.1\r\nHost:  a.test:443 \r\nX: 1'));
  assert.deepEqual(ok, {
    method: 'CONNECT',
    target: 'a.test:443',
    version: 'HTTP/1.1',
    headers: [
      ['Host', 'a.test:443'],
      ['X', '1'],
    ],
  });
  const many = 'GET http://a/ HTTP/1.1' + '\r\nX: 1'.repeat(101);
  assert.equal(parseRequestHead(Buffer.from(many)), 'too many header fields');
  assert.equal(parseRequestHead(Buffer.from('GET http://a/\u00e9 HTTP/1.1', 'latin1')), 'malformed request target');
});

test('parseResponseHead parses a status line and fields', () => {
  const ok = parseResponseHead(Buffer.from('HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nX:  1 \r\n\r\n'));
  assert.deepEqual(ok, {
    version: 'HTTP/1.1',
    status: 200,
    statusLine: 'HTTP/1.1 200 OK',
    headers: [
      ['Connection', 'keep-alive'],
      ['X', '1'],
    ],
  });
  const cases: [string, number | string][] = [
    ['HTTP/1.0 404 Not Found', 404],
    ['HTTP/1.1 204', 204],
    ['HTTP/1.1 100 Continue', 100],
    ['HTTP/1.1 200 OK\r\nSet-Cookie: a=1'.concat('\r\nSet-Cookie: b=2'.repeat(150)), 200],
    ['HTTP/2 200 OK', 'malformed status line'],
    ['HTTP/1.1 20 OK', 'malformed status line'],
    ['HTTP/1.1 099 Low', 'malformed status line'],
    ['HTTP/1.1 200 OK\r\n folded: x', 'malformed header name'],
    ['HTTP/1.1 200 OK\r\nX: a\u0000b', 'malformed header value'],
    ['HTTP/1.1 200 OK' + '\r\nX: 1'.repeat(257), 'too many header fields'],
  ];
  for (const [text, want] of cases) {
    const r = parseResponseHead(Buffer.from(text, 'latin1'));
    assert.equal(typeof r === 'string' ? r : r.status, want, text.slice(0, 40));
  }
});

test('connectionTokens collects every Connection option, lower-cased', () => {
  assert.deepEqual(
    [
      ...connectionTokens([
        ['Connection', 'Keep-Alive, X-Secret'],
        ['X', 'y'],
        ['connection', ' close ,'],
      ]),
    ],
    ['keep-alive', 'x-secret', 'close'],
  );
});

test('HeadCollector finds a head split anywhere and keeps what follows', () => {
  const text = 'GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\n\r\nBODY';
  const headLen = text.indexOf('BODY');
  for (const step of [1, 2, 3, 5, 100]) {
    const c = new HeadCollector(1024);
    let got: ReturnType<HeadCollector['push']> = null;
    for (let i = 0; i < text.length && got === null; i += step) got = c.push(Buffer.from(text.slice(i, i + step)));
    assert.ok(got !== null && got !== 'too-large', `step ${step}`);
    assert.equal(got.head.toString(), text.slice(0, headLen), `step ${step}`);
    // With pieces of 1..5 the head ends inside the last piece, so rest is that piece's tail.
    assert.equal(text.slice(headLen).startsWith(got.rest.toString()), true, `step ${step}`);
  }
});

test('HeadCollector refuses a head longer than its limit, even one byte at a time', () => {
  const c = new HeadCollector(16);
  let got: ReturnType<HeadCollector['push']> = null;
  let pushed = 0;
  while (got === null) {
    got = c.push(Buffer.from('a'));
    pushed++;
  }
  assert.equal(got, 'too-large');
  assert.equal(pushed, 16);
  // Exactly at the limit is accepted.
  const exact = new HeadCollector(16).push(Buffer.from('GET / HTTP/1.1\r\n\r\n'.slice(0, 12) + '\r\n\r\n'));
  assert.ok(exact !== null && exact !== 'too-large' && exact.head.length === 16);
  assert.equal(new HeadCollector(16).push(Buffer.from('x'.repeat(13) + '\r\n\r\n')), 'too-large');
});
