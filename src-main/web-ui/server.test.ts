import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Status } from '../../src-shared/wire/status.js';
import type { AppState } from '../../src-shared/wire/app-state.js';
import { createLogger } from '../../src-shared/lib/log.js';
import { PATHS } from '../../src-shared/wire/helper-api.js';
import { startApiServer, type ApiServer } from '../../helper/src/api/server.js';
import { SseParser } from '../../src-shared/lib/sse.js';
import { AppBackend } from '../app-backend.js';
import { startWebUi, type WebUi } from './server.js';
import { splitPath, tokenMatches, hostAllowed, originAllowed } from './guard.js';

const STATUS: Status = {
  version: '0.1.0',
  identity: 'G982V',
  publicKey: 'pk',
  virtualAddress: '100.64.0.1',
  virtualNetwork: '100.64.0.0/10',
  adapter: 'warren0',
  listenPort: 51820,
  state: 'connected',
  mode: 'static',
  drops: {},
  startedAt: 1,
  peers: [],
};

let dir = '';
let helper: ApiServer;
let backend: AppBackend;
let ui: WebUi;
let status: Status = STATUS;
let connects = 0;
const listeners = new Set<() => void>();

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'warren-webui-'));
  const renderer = join(dir, 'renderer');
  mkdirSync(join(renderer, 'icons'), { recursive: true });
  writeFileSync(join(renderer, 'index.html'), '<!doctype html><title>Warren</title><script src="app.js"></script>');
  writeFileSync(join(renderer, 'app.js'), 'console.log(1)');
  writeFileSync(join(renderer, 'icons', 'a.svg'), '<svg/>');
  writeFileSync(join(renderer, 'notes.exe'), 'MZ');
  const sock = join(dir, 'run', 'warren.sock');
  helper = await startApiServer({
    socketPath: sock,
    log: createLogger(0, { write: () => true }),
    getStatus: () => status,
    routes: {
      [PATHS.connect]: {
        POST: () => {
          connects++;
          status = { ...status, state: 'connected' };
          listeners.forEach((l) => l());
          return {};
        },
      },
    },
    events: {
      subscribe: (l) => {
        listeners.add(l);
        return () => listeners.delete(l);
      },
    },
  });
  backend = new AppBackend({ socketPath: sock });
  backend.start();
  ui = await startWebUi({ backend, rendererDir: renderer });
});
after(async () => {
  await ui?.close();
  backend?.stop();
  await helper?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** raw sends a request exactly as written (fetch would fix the Host header). */
function raw(request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    // write, not end: a half-closed socket may be dropped before a slow answer is written.
    const s = connect(ui.port, '127.0.0.1', () => s.write(request));
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    s.on('error', reject);
  });
}

const call = (name: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${ui.url}api/call/${name}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

test('the printed URL carries the token; every request without it is refused', async () => {
  assert.match(ui.url, new RegExp(`^http://127\\.0\\.0\\.1:${ui.port}/[A-Za-z0-9_-]{43}/$`));
  const page = await fetch(ui.url);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<title>Warren<\/title>/);
  assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'; script-src 'self'/);
  assert.equal(page.headers.get('referrer-policy'), 'no-referrer');
  assert.equal(page.headers.get('x-frame-options'), 'DENY');
  const wrong = ui.token.slice(0, -1) + (ui.token.endsWith('A') ? 'B' : 'A');
  for (const path of [
    '/',
    '/index.html',
    '/app.js',
    `/${wrong}/`,
    `/${wrong}/app.js`,
    `/${wrong}/api/events`,
    `/${ui.token}x/`,
  ]) {
    const r = await fetch(`http://127.0.0.1:${ui.port}${path}`);
    assert.equal(r.status, 403, path);
    assert.match(await r.text(), /warren ui/);
  }
  const r = await call('connect', {}, {});
  assert.equal(r.status, 200);
  const bad = await fetch(`http://127.0.0.1:${ui.port}/${wrong}/api/call/connect`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: '{}',
  });
  assert.equal(bad.status, 403);
});

test('only the built files are served, by exact name', async () => {
  const cases: [string, number, string | null][] = [
    ['app.js', 200, 'text/javascript; charset=utf-8'],
    ['icons/a.svg', 200, 'image/svg+xml'],
    ['notes.exe', 404, null],
    ['../package.json', 404, null],
    ['icons/../app.js', 404, null],
    ['nope.js', 404, null],
    ['%2e%2e/index.html', 404, null],
  ];
  for (const [rest, code, type] of cases) {
    const res = await raw(
      `GET /${ui.token}/${rest} HTTP/1.1\r\nHost: 127.0.0.1:${ui.port}\r\nConnection: close\r\n\r\n`,
    );
    assert.match(res, new RegExp(`^HTTP/1\\.1 ${code} `), rest);
    if (type) assert.match(res, new RegExp(`content-type: ${type.replace(/[+.]/g, '\\$&')}`, 'i'), rest);
  }
});

test('a foreign Host (DNS rebinding) or Origin is refused, even with the token', async () => {
  const cases: [string, string][] = [
    [`Host: evil.example:${ui.port}`, 'Host'],
    ['Host: 127.0.0.1', 'Host without the port'],
    [`Host: 127.0.0.1:${ui.port + 1}`, 'Host with another port'],
    [`Host: 127.0.0.1:${ui.port}\r\nOrigin: http://evil.example`, 'Origin'],
    [`Host: 127.0.0.1:${ui.port}\r\nOrigin: null`, 'opaque Origin'],
    [`Host: 127.0.0.1:${ui.port}\r\nSec-Fetch-Site: cross-site`, 'cross-site fetch'],
  ];
  for (const [headers, label] of cases) {
    const res = await raw(
      `POST /${ui.token}/api/call/connect HTTP/1.1\r\n${headers}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`,
    );
    assert.match(res, /^HTTP\/1\.1 403 /, label);
  }
  const before = connects;
  const ok = await raw(
    `POST /${ui.token}/api/call/connect HTTP/1.1\r\nHost: localhost:${ui.port}\r\nOrigin: http://localhost:${ui.port}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`,
  );
  assert.match(ok, /^HTTP\/1\.1 200 /);
  assert.equal(connects, before + 1, "the page's own origin gets through to the helper");
});

test('calls: results and errors as data; wrong method, type and size are refused', async () => {
  const before = connects;
  const ok = (await (await call('connect', {})).json()) as { ok: boolean; value: { state: string } };
  assert.equal(ok.ok, true);
  assert.equal(ok.value.state, 'connected');
  assert.equal(connects, before + 1);
  const state = (await (await call('getState', {})).json()) as { ok: true; value: AppState };
  assert.equal(state.value.tunnel?.identity, 'G982V');
  const bad = (await (await call('useExitNode', { arg: { identity: 'x', use: 1 } })).json()) as {
    ok: false;
    error: { code: string };
  };
  assert.deepEqual(bad.ok, false);
  assert.equal(bad.error.code, 'bad-request');
  const unknown = (await (await call('shutdown', {})).json()) as { ok: false; error: { message: string } };
  assert.match(unknown.error.message, /no such call/);
  const missing = (await (await call('why', { arg: { peer: 'nobody' } })).json()) as {
    ok: false;
    error: { code: string };
  };
  assert.equal(missing.error.code, 'not-found', 'the helper has no why route here: its 404 crosses as data');
  assert.equal((await fetch(`${ui.url}api/call/connect`)).status, 405);
  assert.equal(
    (
      await fetch(`${ui.url}api/call/connect`, {
        method: 'POST',
        headers: { 'Content-Type': 'text/plain' },
        body: '{}',
      })
    ).status,
    415,
  );
  assert.equal((await call('enrol', { arg: { coordinator: 'https://c', key: 'k'.repeat(70_000) } })).status, 413);
  const notJson = (await (
    await fetch(`${ui.url}api/call/connect`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{',
    })
  ).json()) as { ok: boolean };
  assert.equal(notJson.ok, false);
});

test('events: the whole state first, then after each change', async () => {
  const ac = new AbortController();
  const res = await fetch(`${ui.url}api/events`, { signal: ac.signal });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  const reader = res.body!.getReader();
  const parser = new SseParser(1 << 20);
  const decoder = new TextDecoder();
  const next = async (): Promise<AppState> => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error('stream ended');
      const evs = parser.feed(decoder.decode(value, { stream: true }));
      const ev = evs.at(-1);
      if (ev) {
        assert.equal(ev.event, 'state');
        return JSON.parse(ev.data) as AppState;
      }
    }
  };
  try {
    const first = await next();
    assert.equal(first.link, 'up');
    status = { ...status, state: 'disconnected' };
    listeners.forEach((l) => l());
    let s = await next();
    while (s.tunnel?.state !== 'disconnected') s = await next();
    assert.equal(s.tunnel.identity, 'G982V');
  } finally {
    ac.abort();
    status = STATUS;
  }
});

test('guard helpers', () => {
  assert.deepEqual(splitPath('/abc/def/g.js?x=1'), { token: 'abc', rest: 'def/g.js' });
  assert.deepEqual(splitPath('/abc'), { token: 'abc', rest: '' });
  assert.equal(splitPath('/'), null);
  assert.equal(splitPath('//x'), null);
  assert.equal(tokenMatches('abc', 'abc'), true);
  assert.equal(tokenMatches('abd', 'abc'), false);
  assert.equal(tokenMatches('ab', 'abc'), false);
  assert.equal(hostAllowed('LOCALHOST:80', 80), true);
  assert.equal(hostAllowed(undefined, 80), false);
  assert.equal(originAllowed(undefined, 80), true);
  assert.equal(originAllowed('http://127.0.0.1:80', 80), true);
  assert.equal(originAllowed('https://127.0.0.1:80', 80), false);
});
