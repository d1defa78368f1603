// What the egress proxy reads from an origin server when it forwards plain HTTP
// (helper/src/proxy/http-forward.ts: the response head collector, parseResponseHead and
// rewriteResponseHead), interim (1xx) heads and the final one.
import assert from 'node:assert/strict';
import type { HarnessSpec } from '../engine.js';
import { hashSeed } from '../rng.js';
import { MAX_RESPONSE_FIELDS, parseResponseHead } from '../../../helper/src/proxy/http-head.js';
import { MAX_RESPONSE_HEAD, rewriteResponseHead } from '../../../helper/src/proxy/http-forward.js';
import { collect } from './http-request.js';

// eslint-disable-next-line no-control-regex
const LINE_BREAKING = /[\u0000\r\n]/;

function checkRewrite(head: Buffer): string {
  const parsed = parseResponseHead(head);
  const r = rewriteResponseHead(head);
  if (typeof parsed === 'string') {
    assert.equal(r, parsed, 'rewriteResponseHead and parseResponseHead disagree');
    return `head:${parsed}`;
  }
  assert.ok(typeof r === 'object', 'a head that parses was refused by the rewrite');
  assert.ok(parsed.status >= 100 && parsed.status <= 999 && parsed.headers.length <= MAX_RESPONSE_FIELDS);
  for (const [, v] of parsed.headers) assert.ok(!LINE_BREAKING.test(v), 'a value can break a line');
  if (!r.final) {
    assert.ok(parsed.status < 200 && parsed.status !== 101);
    assert.ok(r.out.equals(head), 'an interim head was changed');
    return `interim:${parsed.status}`;
  }
  assert.equal(r.out.indexOf('\r\n\r\n'), r.out.length - 4, 'the rewritten head does not end at its one blank line');
  const again = parseResponseHead(r.out);
  assert.ok(typeof again === 'object', `the rewritten head does not parse: ${String(again)}`);
  assert.equal(again.statusLine, parsed.statusLine, 'the status line changed');
  const connection = again.headers.filter(([n]) => n.toLowerCase() === 'connection');
  assert.deepEqual(connection, [['Connection', 'close']], 'not exactly Connection: close');
  const names = new Set(again.headers.map(([n]) => n.toLowerCase()));
  assert.ok(!names.has('keep-alive') && !names.has('proxy-connection'), 'a hop-by-hop field passed');
  return `final:${Math.floor(parsed.status / 100)}xx`;
}

export const httpResponse: HarnessSpec = {
  name: 'http-response',
  properties: [
    'the response head collector returns exactly the head, within its bound (64 KiB in the proxy), however the stream is cut',
    'parseResponseHead and rewriteResponseHead return a head or the same reason and never throw',
    'an interim head passes unchanged; a final head is rewritten into one that parses, keeps the status line and carries exactly one Connection: close and no hop-by-hop field',
  ],
  testIterations: 5000,
  create() {
    return {
      seeds: [
        'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\n\r\nbody',
        'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n',
        'HTTP/1.0 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n',
        'HTTP/1.1 404\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n',
        'HTTP/1.1 302 Found \xe9\r\nLocation: http://x/\r\n\r\n',
      ].map((s) => Buffer.from(s, 'latin1')),
      dictionary: ['\r\n', '\r\n\r\n', ': ', 'HTTP/1.1 ', 'Connection: ', 'close', 'Keep-Alive', '\t', '100 ', '999 '],
      maxLen: 70_000,
      run(input) {
        const bound = [48, 600, MAX_RESPONSE_HEAD][hashSeed(input) % 3]!;
        const got = collect(input, bound);
        if (got === null || got === 'too-large') return `collect:${got}`;
        return checkRewrite(got.head);
      },
    };
  },
};
