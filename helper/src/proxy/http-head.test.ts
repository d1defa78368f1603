import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findHeadEnd, parseRequestHead, splitHostPort } from './http-head.js';

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
  assert.deepEqual(ok, { method: 'CONNECT', target: 'a.test:443', version: 'HTTP/1.1', headers: [['Host', 'a.test:443'], ['X', '1']] });
  const many = 'GET http://a/ HTTP/1.1' + '\r\nX: 1'.repeat(101);
  assert.equal(parseRequestHead(Buffer.from(many)), 'too many header fields');
  assert.equal(parseRequestHead(Buffer.from('GET http://a/\u00e9 HTTP/1.1', 'latin1')), 'malformed request target');
});

test('findHeadEnd resumes from an offset', () => {
  const b = Buffer.from('GET / HTTP/1.1\r\n\r\nbody');
  assert.equal(findHeadEnd(b), 18);
  assert.equal(findHeadEnd(b, 14), 18);
  assert.equal(findHeadEnd(b.subarray(0, 17)), -1);
});
