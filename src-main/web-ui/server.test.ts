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
import { oneTimeUrl, startWebUi, type WebUi } from './server.js';
import { cookieValues, hostAllowed, openerOriginAllowed, originAllowed, secretMatches, splitPath } from './guard.js';
import { signIn, type SignedIn } from './testing.js';

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
let session: SignedIn;
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
  session = await signIn(oneTimeUrl(ui, ui.oneTimeCode(60_000)));
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
  fetch(`${session.appUrl}api/call/${name}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Cookie: session.cookie, ...headers },
    body: JSON.stringify(body),
  });

/** get fetches a path of the window with the session cookie. */
const get = (rest: string, init: RequestInit = {}) =>
  fetch(`${session.appUrl}${rest}`, { ...init, headers: { Cookie: session.cookie, ...init.headers } });

/** flip changes the last character of a base64url string. */
const flip = (s: string): string => s.slice(0, -1) + (s.endsWith('A') ? 'B' : 'A');

/** postCode redeems code as the opener page's form does. */
const postCode = (code: string, headers: Record<string, string> = {}) =>
  fetch(`${ui.origin}/open`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams({ code }).toString(),
    redirect: 'manual',
  });

test('a one-time code buys a session cookie (HttpOnly, SameSite=Strict, scoped to the window) once', async () => {
  const scope = new URL(ui.appUrl).pathname;
  assert.match(scope, /^\/[A-Za-z0-9_-]{22}\/$/);
  assert.equal(session.appUrl, ui.appUrl);
  // 32 random bytes as base64url; no Domain, no Expires or Max-Age: a host-only session cookie.
  assert.match(
    session.setCookie,
    new RegExp(`^warren-ui=[A-Za-z0-9_-]{43}; Path=${scope}; HttpOnly; SameSite=Strict$`),
  );
  const code = ui.oneTimeCode(60_000);
  const first = await fetch(oneTimeUrl(ui, code), { redirect: 'manual' });
  assert.equal(first.status, 200);
  assert.equal(first.headers.getSetCookie().length, 1);
  assert.match(await first.text(), new RegExp(`<meta http-equiv="refresh" content="0; url=${scope}">`));
  const again = await fetch(oneTimeUrl(ui, code), { redirect: 'manual' });
  assert.equal(again.status, 403, 'the same code a second time');
  assert.deepEqual(again.headers.getSetCookie(), []);
  assert.match(await again.text(), /has been used or has expired/);

  const formCode = ui.oneTimeCode(60_000);
  const byForm = await postCode(formCode, { Origin: 'null' });
  assert.equal(byForm.status, 200, "the opener page's form POST, from a file:// page (Origin: null)");
  assert.match(byForm.headers.getSetCookie()[0]!, /^warren-ui=[A-Za-z0-9_-]{43}; /);
  assert.equal((await postCode(formCode, { Origin: 'null' })).status, 403, 'the same code posted again');
  assert.equal((await postCode(flip(ui.oneTimeCode(60_000)))).status, 403, 'a code one character off');
  assert.equal((await fetch(`${ui.origin}/open`)).status, 403, 'no code at all');
});

test('a code that expired unused is refused', async () => {
  const code = ui.oneTimeCode(50);
  await new Promise((r) => setTimeout(r, 150));
  const late = await fetch(oneTimeUrl(ui, code), { redirect: 'manual' });
  assert.equal(late.status, 403);
  assert.deepEqual(late.headers.getSetCookie(), []);
});

test('redeeming a code: other origins, HEAD, prefetches and other bodies do not spend it', async () => {
  const code = ui.oneTimeCode(60_000);
  assert.equal((await postCode(code, { Origin: 'http://evil.example' })).status, 403);
  assert.equal((await fetch(oneTimeUrl(ui, code), { method: 'HEAD' })).status, 405);
  assert.equal((await fetch(oneTimeUrl(ui, code), { headers: { 'Sec-Purpose': 'prefetch;prerender' } })).status, 503);
  const asJson = await fetch(`${ui.origin}/open`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ code }),
  });
  assert.equal(asJson.status, 415);
  const host = await raw(
    `GET /open?code=${code} HTTP/1.1\r\nHost: evil.example:${ui.port}\r\nConnection: close\r\n\r\n`,
  );
  assert.match(host, /^HTTP\/1\.1 403 /, 'a foreign Host (DNS rebinding)');
  assert.equal((await postCode(code, { Origin: `http://localhost:${ui.port}` })).status, 200, 'still unspent');
});

test('the session cookie authenticates pages, calls and the event stream; without it every one is refused', async () => {
  const scope = new URL(ui.appUrl).pathname;
  const secret = session.cookie.slice('warren-ui='.length);
  const denied: Array<[string, Record<string, string>]> = [
    [ui.appUrl, {}],
    [ui.appUrl, { Cookie: `warren-ui=${flip(secret)}` }],
    [ui.appUrl, { Cookie: `warren-ui=${secret}x` }],
    [ui.appUrl, { Cookie: `warren-uix=${secret}` }],
    [`${ui.origin}/${flip(scope.slice(1, -1))}/`, { Cookie: session.cookie }],
    [`${ui.origin}/`, { Cookie: session.cookie }],
    [`${ui.origin}/index.html`, { Cookie: session.cookie }],
  ];
  for (const rest of ['', 'app.js', 'icons/a.svg', 'api/events']) {
    const ok = await get(rest);
    assert.equal(ok.status, 200, rest);
    await ok.body?.cancel();
    for (const [base, headers] of denied) {
      const url = base === ui.appUrl ? `${ui.appUrl}${rest}` : base;
      const r = await fetch(url, { headers });
      assert.equal(r.status, 403, `${url} ${JSON.stringify(headers)}`);
      assert.match(await r.text(), /one-time address that `warren ui` printed/);
    }
  }
  const before = connects;
  for (const [, headers] of denied.slice(0, 4)) {
    const r = await fetch(`${ui.appUrl}api/call/connect`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...headers },
      body: '{}',
    });
    assert.equal(r.status, 403, JSON.stringify(headers));
  }
  assert.equal(connects, before, 'no refused call reached the helper');
  assert.equal((await call('connect', {})).status, 200);
  assert.equal(connects, before + 1);
  // A page on another port of this host may add a cookie of the same name (RFC 6265 §8.6).
  const tossed = await get('', { headers: { Cookie: `warren-ui=${flip(secret)}; ${session.cookie}` } });
  assert.equal(tossed.status, 200, 'a second cookie of the same name does not lock the window out');
  assert.equal(tossed.headers.get('referrer-policy'), 'no-referrer');
  assert.match(tossed.headers.get('content-security-policy') ?? '', /default-src 'none'; script-src 'self'/);
  assert.equal(tossed.headers.get('x-frame-options'), 'DENY');
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
      `GET ${new URL(ui.appUrl).pathname}${rest} HTTP/1.1\r\nHost: 127.0.0.1:${ui.port}\r\nCookie: ${session.cookie}\r\nConnection: close\r\n\r\n`,
    );
    assert.match(res, new RegExp(`^HTTP/1\\.1 ${code} `), rest);
    if (type) assert.match(res, new RegExp(`content-type: ${type.replace(/[+.]/g, '\\$&')}`, 'i'), rest);
  }
});

test('a foreign Host (DNS rebinding) or Origin is refused, even with the session cookie', async () => {
  const path = `${new URL(ui.appUrl).pathname}api/call/connect`;
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
      `POST ${path} HTTP/1.1\r\n${headers}\r\nCookie: ${session.cookie}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`,
    );
    assert.match(res, /^HTTP\/1\.1 403 /, label);
  }
  const before = connects;
  const ok = await raw(
    `POST ${path} HTTP/1.1\r\nHost: localhost:${ui.port}\r\nOrigin: http://localhost:${ui.port}\r\nCookie: ${session.cookie}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`,
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
  assert.equal((await get('api/call/connect')).status, 405);
  assert.equal(
    (
      await get('api/call/connect', {
        method: 'POST',
        headers: { 'Content-Type': 'text/plain' },
        body: '{}',
      })
    ).status,
    415,
  );
  assert.equal((await call('enrol', { arg: { coordinator: 'https://c', key: 'k'.repeat(70_000) } })).status, 413);
  const notJson = (await (
    await get('api/call/connect', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{',
    })
  ).json()) as { ok: boolean };
  assert.equal(notJson.ok, false);
});

test('events: the whole state first, then after each change', async () => {
  const ac = new AbortController();
  const res = await get('api/events', { signal: ac.signal });
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
  assert.deepEqual(splitPath('/abc/def/g.js?x=1'), { scope: 'abc', rest: 'def/g.js' });
  assert.deepEqual(splitPath('/abc'), { scope: 'abc', rest: '' });
  assert.equal(splitPath('/'), null);
  assert.equal(splitPath('//x'), null);
  assert.equal(secretMatches('abc', 'abc'), true);
  assert.equal(secretMatches('abd', 'abc'), false);
  assert.equal(secretMatches('ab', 'abc'), false);
  assert.deepEqual(cookieValues('a=1; warren-ui=x;warren-ui=y ; b=warren-ui=z', 'warren-ui'), ['x', 'y']);
  assert.deepEqual(cookieValues(undefined, 'warren-ui'), []);
  assert.equal(openerOriginAllowed('null', 80), true);
  assert.equal(openerOriginAllowed(undefined, 80), true);
  assert.equal(openerOriginAllowed('http://evil.example', 80), false);
  assert.equal(originAllowed('null', 80), false);
  assert.equal(hostAllowed('LOCALHOST:80', 80), true);
  assert.equal(hostAllowed(undefined, 80), false);
  assert.equal(originAllowed(undefined, 80), true);
  assert.equal(originAllowed('http://127.0.0.1:80', 80), true);
  assert.equal(originAllowed('https://127.0.0.1:80', 80), false);
});
