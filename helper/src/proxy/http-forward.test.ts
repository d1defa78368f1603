import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { createLogger } from '../../../src-shared/lib/log.js';
import { startEgressProxy, type EgressProxy } from './egress.js';
import { rewriteResponseHead } from './http-forward.js';
import { compileRules } from './match.js';

const log = createLogger(0, { write: () => undefined });
const rules = compileRules({ allow: ['web.test', 'raw.test', 'rec.test'], deny: [] });
const resolve = async (n: string): Promise<string[]> => (n.endsWith('.test') ? ['127.0.0.1'] : []);

let proxy: EgressProxy;
let web: http.Server;
let webPort = 0;
let raw: net.Server;
let rawPort = 0;
let rec: net.Server;
let recPort = 0;
/** recorded holds every byte each connection brought the recording origin, in order. */
const recorded: string[] = [];
/** received lists what the web server was asked: method, url and body. */
const received: string[] = [];

// raw answers a request head with the bytes its path names, to play an odd or broken origin.
const ANSWERS: Record<string, string> = {
  '/interim':
    'HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n' +
    'HTTP/1.1 200 OK\r\nKeep-Alive: timeout=5\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nContent-Length: 2\r\n\r\nok',
  '/bad-status': 'HTTP/1.1 2OO OK\r\n\r\n',
  '/huge-head': `HTTP/1.1 200 OK\r\n${`X-Pad: ${'a'.repeat(1000)}\r\n`.repeat(70)}\r\n`,
  '/close': '',
};

before(async () => {
  web = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      received.push(`${req.method} ${req.url} ${Buffer.concat(parts).toString()}`);
      res.end(`hello from ${req.url}`);
    });
  });
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
  webPort = (web.address() as net.AddressInfo).port;
  raw = net.createServer((s) => {
    s.on('error', () => s.destroy());
    let head = '';
    s.on('data', (d) => {
      head += d.toString('latin1');
      const path = /^[A-Z]+ (\S+) /.exec(head)?.[1];
      if (!head.includes('\r\n\r\n') || path === undefined) return;
      s.end(ANSWERS[path] ?? 'HTTP/1.1 404 Not Found\r\n\r\n');
    });
  });
  await new Promise<void>((r) => raw.listen(0, '127.0.0.1', r));
  rawPort = (raw.address() as net.AddressInfo).port;
  // rec keeps reading whatever it is sent, ignoring Connection: close as a careless origin
  // might, answers once 50 ms after the first byte, and records it all when the proxy hangs up.
  rec = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on('error', () => s.destroy());
    let got = '';
    s.on('data', (d: Buffer) => {
      if (got === '') setTimeout(() => s.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'), 50);
      got += d.toString('latin1');
    });
    s.on('end', () => recorded.push(got));
  });
  await new Promise<void>((r) => rec.listen(0, '127.0.0.1', r));
  recPort = (rec.address() as net.AddressInfo).port;
  proxy = await startEgressProxy({ host: '127.0.0.1', port: 0, rules, resolve, log });
});

after(async () => {
  await proxy.close();
  raw.close();
  rec.close();
  web.closeAllConnections();
  web.close();
});

/** exchange sends raw bytes to the proxy and collects everything until it closes. */
function exchange(data: string): Promise<string> {
  return new Promise((resolveX, reject) => {
    const s = net.connect(proxy.port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no close; got ${Buffer.concat(chunks).toString()}`));
    }, 5000);
    s.on('data', (d) => chunks.push(d));
    s.on('error', () => undefined);
    s.on('close', () => {
      clearTimeout(timer);
      resolveX(Buffer.concat(chunks).toString('latin1'));
    });
    s.write(data);
  });
}

/** heads splits a response stream into its heads' first lines and field names. */
function headOf(res: string): { status: string; fields: string[] } {
  const lines = res.slice(0, res.indexOf('\r\n\r\n')).split('\r\n');
  return { status: lines[0] ?? '', fields: lines.slice(1).map((l) => l.slice(0, l.indexOf(':')).toLowerCase()) };
}

test('rewriteResponseHead: interim heads pass, final heads get Connection: close instead of hop-by-hop fields', () => {
  const cases: [string, string | { final: boolean; out: string }][] = [
    ['HTTP/1.1 100 Continue\r\n\r\n', { final: false, out: 'HTTP/1.1 100 Continue\r\n\r\n' }],
    [
      'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n',
      { final: true, out: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n' },
    ],
    [
      'HTTP/1.0 200 OK\r\nConnection: Keep-Alive, X-Hop\r\nKeep-Alive: timeout=5\r\nX-Hop: 1\r\nProxy-Connection: x\r\nX-End: 1\r\n\r\n',
      { final: true, out: 'HTTP/1.0 200 OK\r\nX-End: 1\r\nConnection: close\r\n\r\n' },
    ],
    [
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n',
      { final: true, out: 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: close\r\n\r\n' },
    ],
    ['HTTP/1.1 200 OK\r\nBad Field\r\n\r\n', 'malformed header field'],
    ['SSH-2.0-OpenSSH\r\n\r\n', 'malformed status line'],
  ];
  for (const [head, want] of cases) {
    const r = rewriteResponseHead(Buffer.from(head, 'latin1'));
    assert.deepEqual(
      typeof r === 'string' ? r : { final: r.final, out: r.out.toString('latin1') },
      want,
      head.split('\r\n')[0],
    );
  }
});

test("a keep-alive origin's response reaches the client with Connection: close, then the proxy closes", async () => {
  const res = await exchange(
    `GET http://web.test:${webPort}/a HTTP/1.1\r\nHost: web.test\r\nConnection: keep-alive\r\n\r\n`,
  );
  const h = headOf(res);
  assert.match(h.status, /^HTTP\/1\.1 200 /);
  assert.equal(h.fields.filter((f) => f === 'connection').length, 1);
  assert.match(res, /\r\nConnection: close\r\n/);
  assert.ok(!h.fields.includes('keep-alive'), res);
  assert.ok(res.endsWith('hello from /a'), res);
});

test('exactly one request per connection: bodies are forwarded whole, what follows them is dropped', async () => {
  const head = (method: string, path: string, fields: string): string =>
    `${method} ${path} HTTP/1.1\r\nHost: rec.test:${recPort}\r\n${fields}Via: 1.1 warren\r\nConnection: close\r\n\r\n`;
  const url = `http://rec.test:${recPort}`;
  const chunks = '3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nX-Trailer: 1\r\n\r\n';
  const cases: [string, string, string][] = [
    ['pipelined GET', `GET ${url}/one HTTP/1.1\r\n\r\nGET ${url}/two HTTP/1.1\r\n\r\n`, head('GET', '/one', '')],
    [
      'Content-Length body',
      `POST ${url}/cl HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET /smuggled HTTP/1.1\r\n\r\n`,
      head('POST', '/cl', 'Content-Length: 5\r\n') + 'hello',
    ],
    [
      'chunked body',
      `POST ${url}/ch HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n${chunks}GET /smuggled HTTP/1.1\r\n\r\n`,
      head('POST', '/ch', 'Transfer-Encoding: chunked\r\n') + chunks,
    ],
  ];
  for (const [name, request, want] of cases) {
    recorded.length = 0;
    const res = await exchange(request);
    assert.equal(res, 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok', name);
    await new Promise<void>((r) => {
      const check = (): void => (recorded.length > 0 ? r() : void setTimeout(check, 10));
      check();
    });
    assert.deepEqual(recorded, [want], name);
  }
  // And a real origin gets the body it was sent.
  received.length = 0;
  await exchange(`POST http://web.test:${webPort}/ch HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n${chunks}`);
  assert.deepEqual(received, ['POST /ch abcde']);
});

test('Expect: 100-continue and other interim responses reach the client before the final one', async () => {
  const res = await new Promise<string>((resolveX, reject) => {
    const s = net.connect(proxy.port, '127.0.0.1');
    let got = '';
    s.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (got.startsWith('HTTP/1.1 100 Continue\r\n\r\n') && !got.includes('200')) s.write('body!');
    });
    s.on('error', reject);
    s.on('close', () => resolveX(got));
    s.write(`PUT http://web.test:${webPort}/up HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n`);
  });
  assert.match(
    res,
    /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n[^]*Connection: close\r\n[^]*hello from \/up$/,
  );

  const hints = await exchange(`GET http://raw.test:${rawPort}/interim HTTP/1.1\r\n\r\n`);
  assert.equal(
    hints,
    'HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok',
  );
});

test('an origin that answers garbage, too big a head, or nothing gets the client a 502', async () => {
  for (const [path, reason] of [
    ['/bad-status', /malformed response from upstream: malformed status line/],
    ['/huge-head', /response head from upstream too large/],
    ['/close', /upstream closed before a complete response/],
  ] as const) {
    const res = await exchange(`GET http://raw.test:${rawPort}${path} HTTP/1.1\r\n\r\n`);
    assert.match(res, /^HTTP\/1\.1 502 Bad Gateway\r\n/, path);
    assert.match(res, reason, path);
  }
});

test('a broken chunked body closes the connection and the proxy keeps serving', async () => {
  received.length = 0;
  const res = await exchange(
    `POST http://web.test:${webPort}/bad HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n`,
  );
  // The head is already upstream, so there is no clean answer left: only a close, no bytes.
  assert.equal(res, '');
  const ok = await exchange(`GET http://web.test:${webPort}/after HTTP/1.1\r\n\r\n`);
  assert.match(ok, /hello from \/after$/);
  assert.deepEqual(received, ['GET /after '], 'the origin never saw the broken request complete');
  await new Promise<void>((r) => {
    const check = (): void => (proxy.stats().active === 0 ? r() : void setTimeout(check, 10));
    check();
  });
});
