// The web console through a real coordinator on 127.0.0.1 (serve --console, in this process):
// its files and their headers, traversal refused, the login and the cookie, the CSRF rules on
// admin routes, and deleting a revoked system.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { AdminSystem, AuditEntry } from '../../../src-shared/wire/admin.js';
import { SimAgent } from '../testing/agent-sim.js';
import { createKey, startTestCoordinator, type TestCoordinator } from '../testing/testing.js';
import { CONSOLE_CSP, ConsoleBundle, defaultBundleDir } from './static.js';

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** raw sends the request exactly as written (no path normalisation, unlike fetch). */
function raw(url: string, method: string, path: string, headers: Record<string, string> = {}, body?: string) {
  const u = new URL(url);
  return new Promise<Raw>((resolve, reject) => {
    const r = request({ host: u.hostname, port: u.port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    r.on('error', reject);
    r.end(body);
  });
}

let c: TestCoordinator;
let bundleDir: string;

before(async () => {
  bundleDir = mkdtempSync(join(tmpdir(), 'warren-console-bundle-'));
  writeFileSync(join(bundleDir, 'index.html'), '<!doctype html><title>console</title>');
  writeFileSync(join(bundleDir, 'console.js'), 'console.log(1)');
  writeFileSync(join(bundleDir, 'console.css'), 'body{}');
  // A file beside the bundle that must never be reachable.
  mkdirSync(join(bundleDir, 'secret'));
  writeFileSync(join(bundleDir, 'secret', 'x.txt'), 'secret');
  c = await startTestCoordinator({ console: { bundleDir } });
});
after(async () => {
  await c?.dispose();
  rmSync(bundleDir, { recursive: true, force: true });
});

const login = async (token: string, headers: Record<string, string> = {}): Promise<Raw> =>
  raw(
    c.url,
    'POST',
    '/v1/admin/session',
    { 'content-type': 'application/json', 'x-warren-console': '1', ...headers },
    JSON.stringify({ token }),
  );

const STRICT = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

test('a missing bundle is refused at start, before the data dir is touched, saying to build it', async () => {
  assert.throws(() => ConsoleBundle.load(join(bundleDir, 'nowhere')), /web console is not built .*npm run build/);
  const dataDir = join(mkdtempSync(join(tmpdir(), 'warren-console-nobundle-')), 'data');
  try {
    await assert.rejects(
      startTestCoordinator({ console: { bundleDir: join(bundleDir, 'nowhere') } }, dataDir),
      /--console: the web console is not built/,
    );
    assert.ok(!existsSync(dataDir), 'nothing was created');
  } finally {
    rmSync(dirname(dataDir), { recursive: true, force: true });
  }
});

test('the built console has no inline script or style, which its CSP would block', () => {
  // The real bundle (npm run build), beside the compiled coordinator.
  const html = readFileSync(join(defaultBundleDir(), 'index.html'), 'utf8');
  assert.match(html, /<script defer src="console\.js"><\/script>/);
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'every script has a src');
  assert.doesNotMatch(html, /<style|\sstyle=|\son[a-z]+=/i, 'no inline style or event handler');
  ConsoleBundle.load(defaultBundleDir());
});

test('the console files come with their types and the strict headers; HEAD has no body', async () => {
  for (const [path, type] of [
    ['/console/', 'text/html; charset=utf-8'],
    ['/console/index.html', 'text/html; charset=utf-8'],
    ['/console/console.js', 'text/javascript; charset=utf-8'],
    ['/console/console.css', 'text/css; charset=utf-8'],
  ] as const) {
    const r = await raw(c.url, 'GET', path);
    assert.equal(r.status, 200, path);
    assert.equal(r.headers['content-type'], type);
    for (const [h, v] of Object.entries(STRICT)) assert.equal(r.headers[h], v, `${h} on ${path}`);
  }
  const head = await raw(c.url, 'HEAD', '/console/console.js');
  assert.equal(head.status, 200);
  assert.equal(head.body, '');
  assert.equal(head.headers['content-length'], String('console.log(1)'.length));
  const redirect = await raw(c.url, 'GET', '/console');
  assert.equal(redirect.status, 308);
  assert.equal(redirect.headers.location, '/console/');
});

test('only the bundle list is served: traversal, other files and other methods are refused, with the headers', async () => {
  for (const path of [
    '/console/..%2f..%2fpackage.json',
    '/console/%2e%2e',
    '/console/secret%2fx.txt',
    '/console/console.js.map',
    '/console/constructor',
    '/console/__proto__',
  ]) {
    const r = await raw(c.url, 'GET', path);
    assert.equal(r.status, 404, path);
    assert.equal(r.headers['content-security-policy'], CONSOLE_CSP, path);
    assert.ok(r.body !== 'secret' && !r.body.includes('devDependencies'), r.body);
  }
  for (const path of ['/console/../package.json', '/console/secret/x.txt']) {
    const r = await raw(c.url, 'GET', path);
    assert.equal(r.status, 404, path);
    assert.ok(r.body !== 'secret' && !r.body.includes('devDependencies'), r.body);
  }
  const post = await raw(c.url, 'POST', '/console/index.html', {}, 'x');
  assert.equal(post.status, 405);
  assert.equal(post.headers.allow, 'GET, HEAD');
  assert.equal(post.headers['x-frame-options'], 'DENY');
});

test('a wrong token is refused and audited; the right one gives an HttpOnly SameSite=Strict cookie', async () => {
  const forged = await raw(c.url, 'POST', '/v1/admin/session', {}, JSON.stringify({ token: c.adminToken }));
  assert.equal(forged.status, 403, 'a login without the console header (a cross-site form) is refused');
  const bad = await login('wrn_not-the-token');
  assert.equal(bad.status, 401);
  assert.match(bad.body, /admin\.token/);
  assert.equal(bad.headers['set-cookie'], undefined);
  const ok = await login(c.adminToken);
  assert.equal(ok.status, 204);
  const cookie = (ok.headers['set-cookie'] ?? [])[0]!;
  assert.match(cookie, /^warren_session=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=\/v1\/admin; Max-Age=\d+$/);
  assert.doesNotMatch(cookie, /Secure/, 'plain http: no Secure flag');
  const session = cookie.split(';')[0]!;
  const info = await raw(c.url, 'GET', '/v1/admin/session', { cookie: session });
  assert.equal(info.status, 200);
  assert.ok((JSON.parse(info.body) as { expiresAt: number }).expiresAt > Date.now());
  c.services.audit.flush();
  const audit = c.services.registry.store.listAudit({ action: 'console.login' }) as AuditEntry[];
  assert.deepEqual(
    audit.map((a) => [a.outcome, a.reason]),
    [
      ['refused', 'csrf'],
      ['refused', 'bad-token'],
      ['ok', null],
    ],
  );
});

test('the cookie opens admin routes; changing ones need X-Warren-Console and the own Origin', async () => {
  const session = ((await login(c.adminToken)).headers['set-cookie'] ?? [])[0]!.split(';')[0]!;
  const list = await raw(c.url, 'GET', '/v1/admin/systems', { cookie: session });
  assert.equal(list.status, 200);
  assert.equal((await raw(c.url, 'GET', '/v1/admin/systems', { cookie: 'warren_session=x' })).status, 401);
  const body = JSON.stringify({ tags: [], approval: 'automatic', uses: 1, expiresInMs: 60_000, ephemeral: false });
  const json = { cookie: session, 'content-type': 'application/json' };
  const noHeader = await raw(c.url, 'POST', '/v1/admin/keys', json, body);
  assert.equal(noHeader.status, 403);
  assert.match(noHeader.body, /X-Warren-Console: 1/);
  const foreign = await raw(
    c.url,
    'POST',
    '/v1/admin/keys',
    { ...json, 'x-warren-console': '1', origin: 'https://evil.example' },
    body,
  );
  assert.equal(foreign.status, 403);
  assert.match(foreign.body, /Origin/);
  const host = new URL(c.url).host;
  const own = await raw(
    c.url,
    'POST',
    '/v1/admin/keys',
    { ...json, 'x-warren-console': '1', origin: `http://${host}` },
    body,
  );
  assert.equal(own.status, 201, own.body);
  const out = await raw(c.url, 'DELETE', '/v1/admin/session', { cookie: session, 'x-warren-console': '1' });
  assert.equal(out.status, 204);
  assert.equal((await raw(c.url, 'GET', '/v1/admin/systems', { cookie: session })).status, 401);
});

test('logins from one address are rate-limited after 5 failures, before the token is looked at', async () => {
  // The earlier tests used one failure of this window.
  let last: Raw | null = null;
  for (let i = 0; i < 6; i++) last = await login('wrn_wrong');
  assert.equal(last!.status, 429);
  assert.ok(Number(last!.headers['retry-after']) >= 1);
  const right = await login(c.adminToken);
  assert.equal(right.status, 429, 'even the right token waits for the window');
  c.services.console!.limiter['failures'].clear();
});

test('DELETE systems/:id: refused (409) until the system is revoked, then it is gone and audited', async () => {
  const agent = new SimAgent(c.url);
  const r = await agent.enrol(await createKey(c), 'gone');
  const id = r.systemId;
  const early = await c.admin<{ error: { code: string; message: string } }>('DELETE', `/v1/admin/systems/${id}`);
  assert.equal(early.status, 409);
  assert.equal(early.body.error.code, 'conflict');
  assert.match(early.body.error.message, /revoke it first/);
  assert.equal((await c.admin('POST', `/v1/admin/systems/${id}/revoke`)).status, 200);
  assert.equal((await c.admin('DELETE', `/v1/admin/systems/${id}`)).status, 204);
  assert.equal((await c.admin('GET', `/v1/admin/systems/${id}`)).status, 404);
  const list = await c.admin<{ systems: AdminSystem[] }>('GET', '/v1/admin/systems');
  assert.ok(!list.body.systems.some((s) => s.systemId === id));
  c.services.audit.flush();
  const audit = c.services.registry.store.listAudit({ action: 'systems.delete' }) as AuditEntry[];
  assert.deepEqual(
    audit.map((a) => [a.outcome, a.target]),
    [
      ['refused', r.identity],
      ['ok', r.identity],
    ],
  );
});
