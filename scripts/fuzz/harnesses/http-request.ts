// What the egress proxy reads from a local client (helper/src/proxy/http-head.ts HeadCollector
// and parseRequestHead, http-body.ts requestFraming and the body trackers, http-forward.ts
// parseAbsoluteHttp and rewriteRequestHead), in the order egress.ts applies them.
import assert from 'node:assert/strict';
import type { HarnessSpec } from '../engine.js';
import { errorOutcome } from '../guard.js';
import { hashSeed, Rng } from '../rng.js';
import {
  HeadCollector,
  MAX_HEADER_FIELDS,
  parseRequestHead,
  splitHostPort,
  type RequestHead,
} from '../../../helper/src/proxy/http-head.js';
import { bodyTracker, requestFraming, type BodyFraming } from '../../../helper/src/proxy/http-body.js';
import { parseAbsoluteHttp, rewriteRequestHead } from '../../../helper/src/proxy/http-forward.js';

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// eslint-disable-next-line no-control-regex
const LINE_BREAKING = /[\u0000\r\n]/;
const HOP_BY_HOP = [
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'proxy-authenticate',
  'te',
  'trailer',
  'upgrade',
];

/** pieces cuts a stream the way the network might, from a generator seeded by the stream. */
export function pieces(input: Buffer): Buffer[] {
  const rng = new Rng(hashSeed(input));
  const out: Buffer[] = [];
  const style = rng.below(3);
  for (let at = 0; at < input.length;) {
    const n = style === 0 ? input.length : 1 + rng.below(style === 1 ? 3 : 64);
    out.push(input.subarray(at, at + n));
    at += n;
  }
  return out;
}

/** collect drives a HeadCollector with maxBytes over the pieces and checks it against one
 * search of the whole stream: the head is exactly up to the first blank line, never longer
 * than maxBytes, and 'too-large' comes exactly when maxBytes passed without one. */
export function collect(input: Buffer, maxBytes: number): { head: Buffer; rest: Buffer } | 'too-large' | null {
  const end = input.indexOf('\r\n\r\n', 0, 'latin1');
  const headEnd = end >= 0 && end + 4 <= maxBytes ? end + 4 : -1;
  const c = new HeadCollector(maxBytes);
  let seen = 0;
  for (const p of pieces(input)) {
    const got = c.push(p);
    seen += p.length;
    if (got === null) {
      assert.ok(seen < maxBytes, `no verdict after ${seen} bytes with a bound of ${maxBytes}`);
      assert.ok(headEnd < 0 || headEnd > seen, 'a complete head was not returned');
      continue;
    }
    if (got === 'too-large') {
      assert.ok(headEnd < 0 && seen >= maxBytes, `'too-large' after ${seen} of ${maxBytes} bytes`);
      return got;
    }
    assert.ok(got.head.length <= maxBytes, `a ${got.head.length}-byte head passed a bound of ${maxBytes}`);
    assert.ok(got.head.equals(input.subarray(0, headEnd)), 'the head is not the bytes up to the first blank line');
    assert.ok(got.rest.equals(input.subarray(headEnd, seen)), 'the rest is not what followed the head');
    return got;
  }
  assert.ok(headEnd < 0 && input.length < maxBytes);
  return null;
}

function checkHead(req: RequestHead): void {
  assert.ok(TOKEN.test(req.method), 'method is not a token');
  // eslint-disable-next-line no-control-regex
  assert.ok(req.target !== '' && !/[\u0000-\u0020\u007f-\uffff]/.test(req.target), 'bad request target accepted');
  assert.ok(req.headers.length <= MAX_HEADER_FIELDS, 'too many fields accepted');
  for (const [n, v] of req.headers) {
    assert.ok(TOKEN.test(n), `field name ${JSON.stringify(n)} is not a token`);
    assert.ok(!LINE_BREAKING.test(v), `field value ${JSON.stringify(v)} can break a line`);
    assert.ok(!/^[ \t]|[ \t]$/.test(v), `field value ${JSON.stringify(v)} not trimmed`);
  }
  // Written out again, the head parses to the same thing.
  const text = [`${req.method} ${req.target} ${req.version}`, ...req.headers.map(([n, v]) => `${n}: ${v}`), '', ''];
  assert.deepEqual(
    parseRequestHead(Buffer.from(text.join('\r\n'), 'latin1')),
    req,
    'a head written out parses differently',
  );
}

function checkForward(req: RequestHead): string {
  const t = parseAbsoluteHttp(req.target);
  if (typeof t === 'string') return `absolute:${t}`;
  assert.ok(t.port >= 1 && t.port <= 65535 && Number.isInteger(t.port), `port ${t.port}`);
  assert.ok(t.host !== '' && !t.host.includes('@'), `host ${JSON.stringify(t.host)}`);
  assert.ok(t.path.startsWith('/') && !t.path.includes('#'), `path ${JSON.stringify(t.path)}`);
  const out = rewriteRequestHead(req, t);
  assert.ok(out.subarray(-4).equals(Buffer.from('\r\n\r\n')), 'rewritten head does not end with a blank line');
  assert.equal(out.indexOf('\r\n\r\n'), out.length - 4, 'rewritten head has a blank line inside it');
  const again = parseRequestHead(out);
  assert.ok(typeof again === 'object', `the rewritten head does not parse: ${String(again)}`);
  assert.equal(again.method, req.method);
  assert.equal(again.target, t.path);
  const names = again.headers.map(([n]) => n.toLowerCase());
  assert.equal(names.filter((n) => n === 'host').length, 1, 'not exactly one Host');
  assert.deepEqual(
    again.headers.filter(([n]) => n.toLowerCase() === 'connection'),
    [['Connection', 'close']],
  );
  for (const h of HOP_BY_HOP) assert.ok(!names.includes(h), `hop-by-hop ${h} forwarded`);
  return 'absolute:ok';
}

/** feedAll feeds every piece to a fresh tracker; it returns bytes taken, done, or the error. */
function feedAll(f: BodyFraming, parts: Buffer[]): { taken: number; done: boolean } | string {
  const t = bodyTracker(f);
  let taken = 0;
  for (const p of parts) {
    if (t.done) break;
    const n = t.feed(p);
    if (typeof n === 'string') return n;
    assert.ok(Number.isInteger(n) && n >= 0 && n <= p.length, `feed took ${n} of ${p.length}`);
    assert.ok(n === p.length || t.done, 'the tracker stopped short of the piece without being done');
    taken += n;
  }
  return { taken, done: t.done };
}

// checkBody compares the body tracker fed in pieces with the same tracker fed everything at
// once, and checks that a finished body ends exactly on its last byte.
function checkBody(req: RequestHead, body: Buffer): string {
  const f = requestFraming(req);
  if (typeof f === 'string') return `framing:${f}`;
  const whole = feedAll(f, [body]);
  const cut = feedAll(f, pieces(body));
  assert.deepEqual(cut, whole, 'the body tracker depends on how the stream is cut');
  if (typeof whole === 'string') return `body:${f.kind}:${whole}`;
  if (f.kind === 'length') assert.equal(whole.taken, Math.min(f.length, body.length));
  if (whole.done && whole.taken > 0) {
    const short = feedAll(f, [body.subarray(0, whole.taken - 1)]);
    assert.ok(typeof short === 'string' || !short.done, 'the body was done before its last byte');
  }
  return `body:${f.kind}:${whole.done ? 'done' : 'more'}`;
}

function chunked(parts: string[], trailer = ''): string {
  return `${parts.map((p) => `${p.length.toString(16)}\r\n${p}\r\n`).join('')}0\r\n${trailer}\r\n`;
}

export const httpRequest: HarnessSpec = {
  name: 'http-request',
  properties: [
    "the head collector returns exactly the bytes up to the first blank line, never more than its bound, and 'too-large' exactly when the bound passed without one, however the stream is cut",
    'parseRequestHead returns a head or a reason, never throws; what it accepts has a token method, no line-breaking values, at most 100 fields, and parses the same when written out again',
    'parseAbsoluteHttp gives a port in 1..65535, a host without "@" and a path starting with "/"; the rewritten head parses, with one Host, Connection: close and no hop-by-hop field',
    'the body trackers take the same bytes whether the body comes at once or in pieces, take at most each piece, and finish exactly on the last byte of the body',
  ],
  testIterations: 6000,
  create() {
    const get =
      'GET http://example.com:8080/a?b#c HTTP/1.1\r\nHost: example.com\r\nConnection: keep-alive, X-Drop\r\nX-Drop: 1\r\n\r\n';
    return {
      seeds: [
        get,
        'CONNECT [2001:db8::1]:443 HTTP/1.1\r\nHost: [2001:db8::1]:443\r\n\r\nTLS bytes',
        'CONNECT example.com:443 HTTP/1.0\r\n\r\n',
        `POST http://x/ HTTP/1.1\r\nContent-Length: 5\r\nVia: 1.0 a\r\n\r\nhelloEXTRA`,
        `POST http://x/up HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n${chunked(['abc', 'defgh'], 'T: 1\r\n')}NEXT`,
        `PUT http://[::1]/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\n\r\n`,
        'GET /origin-form HTTP/1.1\r\n\r\n',
      ].map((s) => Buffer.from(s, 'latin1')),
      dictionary: [
        '\r\n',
        '\r\n\r\n',
        ': ',
        'HTTP/1.1',
        'http://',
        'CONNECT ',
        'Content-Length: ',
        'Transfer-Encoding: chunked\r\n',
        'Connection: ',
        ';',
        '0\r\n\r\n',
        'ffffffffffff',
        '[::1]',
        ':65535',
      ],
      maxLen: 20_000,
      run(input) {
        const bound = [64, 512, 16 * 1024][hashSeed(input) % 3]!;
        const got = collect(input, bound);
        if (got === null || got === 'too-large') return `collect:${got}`;
        let req: RequestHead | string;
        try {
          req = parseRequestHead(got.head);
        } catch (e) {
          assert.fail(`parseRequestHead threw ${errorOutcome(e)}`);
        }
        if (typeof req === 'string') return `head:${req}`;
        checkHead(req);
        const out = [`head:${req.method === 'CONNECT' ? 'connect' : 'other'}`];
        if (req.method === 'CONNECT') {
          const hp = splitHostPort(req.target);
          if (hp) assert.ok(hp.port >= 1 && hp.port <= 65535 && hp.host !== '' && !hp.host.includes('@'));
          out.push(`connect:${hp ? 'ok' : 'bad'}`);
        } else {
          out.push(
            checkForward(req),
            checkBody(req, Buffer.concat([got.rest, input.subarray(got.head.length + got.rest.length)])),
          );
        }
        return out;
      },
    };
  },
};
