import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { createLogger } from '../../../src-shared/lib/log.js';
import { startEgressProxy, type EgressLimits, type EgressProxy } from './egress.js';
import { compileRules } from './match.js';

const lines: string[] = [];
const log = createLogger(2, { write: (l: string) => lines.push(l) });
const rules = compileRules({
  allow: ['echo.test', 'web.test', 'blocked.test', 'evil.test', 'down.test', '127.0.0.1', 'big.test'],
  deny: ['blocked.test', '10.0.0.0/8'],
});
const names: Record<string, string[]> = {
  'echo.test': ['127.0.0.1'],
  'web.test': ['127.0.0.1'],
  'blocked.test': ['127.0.0.1'],
  'evil.test': ['10.1.2.3'],
  'down.test': ['127.0.0.1'],
  'big.test': ['127.0.0.1'],
};
const resolve = async (n: string): Promise<string[]> => names[n] ?? [];

let echo: net.Server;
let echoPort = 0;
let web: http.Server;
let webPort = 0;
let seen: http.IncomingMessage | undefined;
let bigServer: net.Server;
let bigPort = 0;
const BIG = 8 * 1024 * 1024;
const proxies: EgressProxy[] = [];

async function proxy(limits?: Partial<EgressLimits>): Promise<EgressProxy> {
  const p = await startEgressProxy({ host: '127.0.0.1', port: 0, rules, resolve, log, limits });
  proxies.push(p);
  return p;
}

before(async () => {
  // The echo server answers a FIN with "bye" and its own FIN, to observe half-close.
  echo = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on('error', () => s.destroy());
    s.on('data', (d) => s.write(d));
    s.on('end', () => s.end('bye'));
  });
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  echoPort = (echo.address() as net.AddressInfo).port;
  web = http.createServer((req, res) => {
    seen = req;
    res.setHeader('content-type', 'text/plain');
    res.end(`hello from ${req.url}`);
  });
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
  webPort = (web.address() as net.AddressInfo).port;
  // big answers a client's FIN with BIG bytes, to check nothing is cut when the client left first.
  bigServer = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on('error', () => s.destroy());
    s.resume();
    s.on('end', () => s.end(Buffer.alloc(BIG, 0x62)));
  });
  await new Promise<void>((r) => bigServer.listen(0, '127.0.0.1', r));
  bigPort = (bigServer.address() as net.AddressInfo).port;
});

after(async () => {
  for (const p of proxies) await p.close();
  echo.close();
  bigServer.close();
  web.closeAllConnections();
  web.close();
});

/** exchange sends raw bytes and collects everything until the proxy closes (or 5 s). */
function exchange(port: number, data: string | Buffer, end = false): Promise<string> {
  return new Promise((resolveX, reject) => {
    const s = net.connect(port, '127.0.0.1');
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
    if (data.length > 0) s.write(data);
    if (end) s.end();
  });
}

/** tunnel opens a CONNECT tunnel and resolves once the 200 head has been read. */
function tunnel(port: number, target: string): Promise<net.Socket> {
  return new Promise((resolveT, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let buf = '';
    const onData = (d: Buffer): void => {
      buf += d.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      s.removeListener('data', onData);
      if (!buf.startsWith('HTTP/1.1 200')) return reject(new Error(buf));
      if (buf.length > end + 4) s.unshift(Buffer.from(buf.slice(end + 4), 'latin1'));
      resolveT(s);
    };
    s.on('data', onData);
    s.on('error', reject);
    s.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
  });
}

function readN(s: net.Socket, n: number): Promise<string> {
  return new Promise((resolveR, reject) => {
    let buf = '';
    const onData = (d: Buffer): void => {
      buf += d.toString();
      if (buf.length >= n) {
        s.removeListener('data', onData);
        resolveR(buf);
      }
    };
    s.on('data', onData);
    s.once('close', () => reject(new Error(`closed after ${JSON.stringify(buf)}`)));
  });
}

test('allowed CONNECT carries bytes both ways and is logged at -v 2', async () => {
  const p = await proxy();
  const s = await tunnel(p.port, `echo.test:${echoPort}`);
  s.write('ping');
  assert.equal(await readN(s, 4), 'ping');
  const big = 'x'.repeat(200_000);
  s.write(big);
  assert.equal((await readN(s, big.length)).length, big.length);
  s.destroy();
  assert.ok(
    lines.some((l) =>
      new RegExp(
        `VERBOSE egress: 127\\.0\\.0\\.1:\\d+ CONNECT echo\\.test:${echoPort} allowed: allowed by Egress\\.Allow\\[0\\] \\(echo\\.test\\); connected to 127\\.0\\.0\\.1:${echoPort}\n$`,
      ).test(l),
    ),
    lines.join(''),
  );
  assert.equal(p.stats().tunnels, 1);
});

test('refusals: 403 with the reason, deny beats allow, denied resolved address', async () => {
  const p = await proxy();
  const cases: [string, RegExp][] = [
    [`blocked.test:${echoPort}`, /denied by Egress\.Deny\[0\] \(blocked\.test\)/],
    [`other.test:${echoPort}`, /not in Egress\.Allow/],
    [`10.1.1.1:${echoPort}`, /Egress\.Deny\[1\]/],
    [`evil.test:${echoPort}`, /address denied by Egress\.Deny\[1\]/],
    [`[::1]:${echoPort}`, /not in Egress\.Allow/],
  ];
  for (const [target, reason] of cases) {
    const res = await exchange(p.port, `CONNECT ${target} HTTP/1.1\r\n\r\n`);
    assert.match(res, /^HTTP\/1\.1 403 /, target);
    assert.match(res, reason, target);
  }
  const get = await exchange(p.port, `GET http://blocked.test:${webPort}/ HTTP/1.1\r\nHost: blocked.test\r\n\r\n`);
  assert.match(get, /^HTTP\/1\.1 403 [^]*Deny\[0\]/);
  assert.equal(p.stats().refused, cases.length + 1);
  assert.ok(
    lines.some((l) =>
      new RegExp(
        `VERBOSE egress: 127\\.0\\.0\\.1:\\d+ CONNECT blocked\\.test:${echoPort} refused: denied by Egress\\.Deny\\[0\\] \\(blocked\\.test\\)\n$`,
      ).test(l),
    ),
    lines.join(''),
  );
});

test('decision lines name host and port, never a path or query, and only from -v 2', async () => {
  const p = await proxy();
  const from = lines.length;
  const res = await exchange(
    p.port,
    `GET http://web.test:${webPort}/private-path?token=s3cret HTTP/1.1\r\nHost: web.test\r\n\r\n`,
  );
  assert.match(res, /^HTTP\/1\.1 200 /);
  const denied = await exchange(p.port, `GET http://blocked.test/private-path?token=s3cret HTTP/1.1\r\n\r\n`);
  assert.match(denied, /^HTTP\/1\.1 403 /);
  const ours = lines.slice(from);
  assert.equal(ours.length, 2, ours.join(''));
  assert.match(ours[0] ?? '', new RegExp(`VERBOSE egress: 127\\.0\\.0\\.1:\\d+ HTTP web\\.test:${webPort} allowed: `));
  assert.match(
    ours[1] ?? '',
    /VERBOSE egress: 127\.0\.0\.1:\d+ HTTP blocked\.test:80 refused: denied by Egress\.Deny\[0\]/,
  );
  for (const l of ours) assert.doesNotMatch(l, /private-path|token|s3cret/);

  const quiet: string[] = [];
  const q = await startEgressProxy({
    host: '127.0.0.1',
    port: 0,
    rules,
    resolve,
    log: createLogger(1, { write: (l: string) => quiet.push(l) }),
  });
  proxies.push(q);
  assert.match(await exchange(q.port, `CONNECT blocked.test:${echoPort} HTTP/1.1\r\n\r\n`), /^HTTP\/1\.1 403 /);
  const t = await tunnel(q.port, `echo.test:${echoPort}`);
  t.destroy();
  assert.deepEqual(
    quiet.filter((l) => !l.includes('listening')),
    [],
  );
});

test('plain http:// GET is rewritten to origin-form and forwarded', async () => {
  const p = await proxy();
  const res = await exchange(
    p.port,
    `GET http://web.test:${webPort}/path?q=1 HTTP/1.1\r\nHost: web.test:${webPort}\r\n` +
      'Proxy-Connection: keep-alive\r\nConnection: X-Secret\r\nX-Secret: 1\r\nX-Kept: yes\r\n\r\n',
  );
  assert.match(res, /^HTTP\/1\.1 200 /);
  assert.match(res, /hello from \/path\?q=1$/);
  assert.ok(seen);
  assert.equal(seen.headers.host, `web.test:${webPort}`);
  assert.equal(seen.headers.via, '1.1 warren');
  assert.equal(seen.headers['x-kept'], 'yes');
  assert.equal(seen.headers['x-secret'], undefined);
  assert.equal(seen.headers['proxy-connection'], undefined);
  assert.equal(seen.headers.connection, 'close');
  assert.equal(p.stats().forwarded, 1);
});

test('malformed requests get 400 and a closed connection', async () => {
  const p = await proxy();
  const bad = [
    'CONNECT\r\n\r\n',
    'CONNECT echo.test HTTP/1.1\r\n\r\n',
    'CONNECT echo.test:99999 HTTP/1.1\r\n\r\n',
    'CONNECT echo.test:0 HTTP/1.1\r\n\r\n',
    'CONNECT [::1 HTTP/1.1\r\n\r\n',
    'CONNECT a:1:2 HTTP/1.1\r\n\r\n',
    'CONNECT  echo.test:80 HTTP/1.1\r\n\r\n',
    'CONNECT echo.test:80 HTTP/2.0\r\n\r\n',
    'CONNECT echo.test:80 HTTP/1.1 extra\r\n\r\n',
    'C@NNECT echo.test:80 HTTP/1.1\r\n\r\n',
    'CONNECT echo.test:80 HTTP/1.1\r\nNoColon\r\n\r\n',
    'CONNECT echo.test:80 HTTP/1.1\r\nBad Name: x\r\n\r\n',
    'CONNECT echo.test:80 HTTP/1.1\r\n folded: x\r\n\r\n',
    'CONNECT echo.test:80 HTTP/1.1\r\nX: a\x00b\r\n\r\n',
    'GET /relative HTTP/1.1\r\nHost: x\r\n\r\n',
    'GET https://web.test/ HTTP/1.1\r\n\r\n',
    'GET http://user@web.test/ HTTP/1.1\r\n\r\n',
    'POST http://web.test/ HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n',
    'POST http://web.test/ HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n',
    '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n',
  ];
  for (const req of bad) {
    const res = await exchange(p.port, req);
    assert.match(res, /^HTTP\/1\.1 400 /, JSON.stringify(req));
  }
  // A client that hangs up mid-head is answered too, not leaked.
  assert.match(await exchange(p.port, 'CONNECT echo.test', true), /^HTTP\/1\.1 400 /);
  assert.equal(p.stats().malformed, bad.length + 1);
  await waitFor(() => p.stats().active === 0);
});

test('a 64 KiB header gets 431 and a closed connection', async () => {
  const p = await proxy();
  const res = await exchange(
    p.port,
    `CONNECT echo.test:${echoPort} HTTP/1.1\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`,
  );
  assert.match(res, /^HTTP\/1\.1 431 /);
  // And the proxy keeps serving.
  const s = await tunnel(p.port, `echo.test:${echoPort}`);
  s.write('ok');
  assert.equal(await readN(s, 2), 'ok');
  s.destroy();
});

test('upstream failures: refused port gives 502', async () => {
  const p = await proxy();
  const closed = net.createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const port = (closed.address() as net.AddressInfo).port;
  await new Promise<void>((r) => closed.close(() => r()));
  assert.match(
    await exchange(p.port, `CONNECT down.test:${port} HTTP/1.1\r\n\r\n`),
    /^HTTP\/1\.1 502 [^]*connect failed/,
  );
  assert.match(await exchange(p.port, `CONNECT nowhere.test:1 HTTP/1.1\r\n\r\n`), /^HTTP\/1\.1 403 /);
});

test('half-open: a FIN after CONNECT is passed on and the tunnel closes cleanly', async () => {
  const p = await proxy();
  const s = await tunnel(p.port, `echo.test:${echoPort}`);
  const got: Buffer[] = [];
  s.on('data', (d) => got.push(d));
  const closed = new Promise<void>((r) => s.once('close', () => r()));
  s.end('last');
  await closed;
  assert.equal(Buffer.concat(got).toString(), 'lastbye');
  await waitFor(() => p.stats().active === 0);
});

test(
  'half-open: a client that sends FIN first still gets the whole answer, however slowly it reads',
  { timeout: 20_000 },
  async () => {
    const p = await proxy();
    const s = await tunnel(p.port, `big.test:${bigPort}`);
    s.pause();
    s.end();
    // Let the answer back up into the proxy's buffers before reading any of it.
    await new Promise((r) => setTimeout(r, 300));
    let got = 0;
    s.on('data', (d: Buffer) => {
      got += d.length;
      // A slow reader: the proxy's queue towards it stays full until the very end.
      s.pause();
      setTimeout(() => s.resume(), 2);
    });
    s.resume();
    await new Promise<void>((r) => s.once('close', () => r()));
    assert.equal(got, BIG);
    await waitFor(() => p.stats().active === 0);
  },
);

test('idle limits: silent clients are answered 408 or closed', async () => {
  const p = await proxy({ headerTimeoutMs: 200, idleTimeoutMs: 300 });
  const t0 = Date.now();
  assert.match(await exchange(p.port, ''), /^HTTP\/1\.1 408 /);
  // A trickling client is held to the same absolute deadline.
  assert.match(await exchange(p.port, 'CONN'), /^HTTP\/1\.1 408 /);
  const s = await tunnel(p.port, `echo.test:${echoPort}`);
  await new Promise<void>((r) => s.once('close', () => r()));
  assert.ok(Date.now() - t0 < 3000);
  await waitFor(() => p.stats().active === 0);
});

test('connection limit: the excess connection gets 503', async () => {
  const p = await proxy({ maxConnections: 2 });
  const a = await tunnel(p.port, `echo.test:${echoPort}`);
  const b = await tunnel(p.port, `echo.test:${echoPort}`);
  assert.match(await exchange(p.port, `CONNECT echo.test:${echoPort} HTTP/1.1\r\n\r\n`), /^HTTP\/1\.1 503 /);
  a.destroy();
  await waitFor(() => p.stats().active === 1);
  const c = await tunnel(p.port, `echo.test:${echoPort}`);
  b.destroy();
  c.destroy();
  assert.equal(p.stats().busy, 1);
});

test('1,000 parallel tunnels keep working', { timeout: 20_000 }, async () => {
  const p = await proxy({ maxConnections: 2048 });
  const n = 1000;
  const t0 = Date.now();
  const socks = await Promise.all(Array.from({ length: n }, () => tunnel(p.port, `echo.test:${echoPort}`)));
  assert.equal(p.stats().active, n);
  const replies = await Promise.all(
    socks.map((s, i) => {
      const msg = `m${String(i).padStart(4, '0')}`;
      s.write(msg);
      return readN(s, msg.length).then((r) => r === msg);
    }),
  );
  assert.equal(replies.filter(Boolean).length, n);
  for (const s of socks) s.destroy();
  await waitFor(() => p.stats().active === 0);
  assert.ok(Date.now() - t0 < 15_000, `took ${Date.now() - t0} ms`);
});

async function waitFor(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
