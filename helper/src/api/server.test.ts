import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Status } from '../../../src-shared/wire/status.js';
import { createLogger } from '../../../src-shared/lib/log.js';
import {
  ApiClient,
  ApiError,
  HelperNotRunning,
  PermissionDenied,
} from '../../../src-shared/lib/helper-client/client.js';
import { ApiHttpError, ApiServerError, startApiServer } from './server.js';

const STATUS: Status = {
  version: '0.1.0',
  identity: 'G982V',
  publicKey: 'HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=',
  virtualAddress: '100.64.0.1',
  virtualNetwork: '100.64.0.0/10',
  adapter: 'warren0',
  listenPort: 51820,
  state: 'connected',
  mode: 'static',
  peers: [
    {
      identity: 'Q8QW8',
      name: 'beta',
      publicKey: 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=',
      endpoint: '192.0.2.2:51820',
      allowedIps: ['100.64.0.2/32'],
      lastHandshake: 1_700_000_000_000,
      rxBytes: 10,
      txBytes: 20,
      persistentKeepalive: 25,
      exitNodeFor: [],
    },
  ],
  drops: { 'no-route': 3 },
  startedAt: 1_700_000_000_000,
};

const quietLog = createLogger(0, { write: () => true });
let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'warren-api-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

let n = 0;
function socketPath(): string {
  return join(dir, `s${n++}`, 'warren.sock');
}

/** rawRequest sends bytes as they are and returns the raw answer (for what the client would not send). */
function rawRequest(path: string, data: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = connect(path, () => s.end(data));
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    s.on('error', (e: NodeJS.ErrnoException) =>
      e.code === 'EPIPE' || e.code === 'ECONNRESET' ? resolve(Buffer.concat(chunks).toString('utf8')) : reject(e),
    );
  });
}

test('the client gets the status; the socket is created in a new directory with mode 0666', async () => {
  const path = socketPath();
  const server = await startApiServer({ socketPath: path, log: quietLog, getStatus: () => STATUS });
  try {
    assert.deepEqual(await new ApiClient(path).status(), STATUS);
    const st = statSync(path);
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o777, 0o666);
  } finally {
    await server.close();
  }
  assert.equal(existsSync(path), false, 'close() removes the socket');
});

test('errors are JSON with the documented shape and status', async () => {
  const path = socketPath();
  const server = await startApiServer({ socketPath: path, log: quietLog, getStatus: () => STATUS });
  const client = new ApiClient(path);
  try {
    const cases: [string, string, number, string][] = [
      ['GET', '/v1/nope', 404, 'not-found'],
      ['GET', '/', 404, 'not-found'],
      ['POST', '/v1/status', 405, 'method-not-allowed'],
      ['DELETE', '/v1/status', 405, 'method-not-allowed'],
    ];
    for (const [method, p, status, code] of cases) {
      await assert.rejects(client.request(method as 'GET', p), (e: unknown) => {
        assert.ok(e instanceof ApiError, String(e));
        assert.equal(e.httpStatus, status, `${method} ${p}`);
        assert.equal(e.code, code);
        return true;
      });
    }
    const raw = await rawRequest(path, 'GET /v1/status?x=1 HTTP/1.1\r\nHost: warren\r\nConnection: close\r\n\r\n');
    assert.match(raw, /^HTTP\/1\.1 200 /);
    const bad = await rawRequest(path, 'PUT /v1/status HTTP/1.1\r\nHost: warren\r\nConnection: close\r\n\r\n');
    assert.match(bad, /^HTTP\/1\.1 405 /);
    assert.match(bad, /\r\nAllow: GET\r\n/i);
    assert.match(bad, /\{"error":\{"code":"method-not-allowed","message":"[^"]+"\}\}$/);
  } finally {
    await server.close();
  }
});

test('requests with an Origin or Referer header are refused with 403', async () => {
  const path = socketPath();
  const server = await startApiServer({ socketPath: path, log: quietLog, getStatus: () => STATUS });
  try {
    for (const header of ['Origin: http://evil.example', 'Referer: http://evil.example/page', 'origin: null']) {
      const raw = await rawRequest(
        path,
        `GET /v1/status HTTP/1.1\r\nHost: warren\r\n${header}\r\nConnection: close\r\n\r\n`,
      );
      assert.match(raw, /^HTTP\/1\.1 403 /, header);
      assert.match(raw, /"code":"forbidden-origin"/);
      assert.doesNotMatch(raw, /G982V/);
    }
  } finally {
    await server.close();
  }
});

test('oversized requests are refused', async () => {
  const path = socketPath();
  const server = await startApiServer({ socketPath: path, log: quietLog, getStatus: () => STATUS });
  try {
    const declared = await rawRequest(path, 'GET /v1/status HTTP/1.1\r\nHost: warren\r\nContent-Length: 65537\r\n\r\n');
    assert.match(declared, /^HTTP\/1\.1 413 /);
    assert.match(declared, /"code":"payload-too-large"/);
    const chunk = 'x'.repeat(40 * 1024);
    const chunked = await rawRequest(
      path,
      'GET /v1/status HTTP/1.1\r\nHost: warren\r\nTransfer-Encoding: chunked\r\n\r\n' +
        `${chunk.length.toString(16)}\r\n${chunk}\r\n`.repeat(2) +
        '0\r\n\r\n',
    );
    assert.match(chunked, /^HTTP\/1\.1 413 /);
    const headers = await rawRequest(
      path,
      `GET /v1/status HTTP/1.1\r\nHost: warren\r\nX-Big: ${'a'.repeat(9000)}\r\n\r\n`,
    );
    assert.match(headers, /^HTTP\/1\.1 431 /);
    // and the server still serves normal requests afterwards
    assert.equal((await new ApiClient(path).status()).identity, 'G982V');
  } finally {
    await server.close();
  }
});

test('a stale socket file is replaced', async () => {
  const path = socketPath();
  await leaveStaleSocket(path);
  assert.ok(statSync(path).isSocket(), 'the stale socket file exists');
  await assert.rejects(
    new ApiClient(path).status(),
    (e: unknown) => e instanceof HelperNotRunning && e.reason === 'not-listening',
  );

  const server = await startApiServer({ socketPath: path, log: quietLog, getStatus: () => STATUS });
  try {
    assert.equal((await new ApiClient(path).status()).identity, 'G982V');
  } finally {
    await server.close();
  }
});

/** leaveStaleSocket does what a killed helper does: a child listens on path, then gets SIGKILL. */
async function leaveStaleSocket(path: string): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  const script = `require('node:net').createServer().listen(process.argv[1], () => process.stdout.write('ready'))`;
  const child = spawn(process.execPath, ['-e', script, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.once('data', () => resolve());
      child.once('exit', (code) => reject(new Error(`listener exited early (${code})`)));
    });
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
}

test('a second server is refused while the first runs', async () => {
  const path = socketPath();
  const first = await startApiServer({ socketPath: path, log: quietLog, getStatus: () => STATUS });
  try {
    await assert.rejects(
      startApiServer({ socketPath: path, log: quietLog, getStatus: () => STATUS }),
      (e: unknown) => e instanceof ApiServerError && e.message === `another helper is running on ${path}`,
    );
    assert.equal((await new ApiClient(path).status()).identity, 'G982V', 'the first server is unharmed');
  } finally {
    await first.close();
  }
});

test('a file that is not a socket is never removed', async () => {
  const path = socketPath();
  await startApiServer({ socketPath: path, log: quietLog, getStatus: () => STATUS }).then((s) => s.close());
  writeFileSync(path, 'important');
  await assert.rejects(
    startApiServer({ socketPath: path, log: quietLog, getStatus: () => STATUS }),
    /exists and is not a socket/,
  );
  assert.ok(statSync(path).isFile());
});

test('a failing getStatus gives a 500 JSON error, not a crash', async () => {
  const path = socketPath();
  const lines: string[] = [];
  const server = await startApiServer({
    socketPath: path,
    log: createLogger(0, { write: (s: string) => lines.push(s) }),
    getStatus: () => {
      throw new Error('boom');
    },
  });
  try {
    await assert.rejects(
      new ApiClient(path).status(),
      (e: unknown) => e instanceof ApiError && e.httpStatus === 500 && e.code === 'internal',
    );
    assert.ok(lines.some((l) => l.includes('ERROR') && l.includes('boom')));
  } finally {
    await server.close();
  }
});

test('client errors: no socket', async () => {
  const missing = join(dir, 'missing', 'warren.sock');
  await assert.rejects(
    new ApiClient(missing).status(),
    (e: unknown) => e instanceof HelperNotRunning && e.reason === 'no-socket' && e.socketPath === missing,
  );
});

test('client errors: permission denied', async (t) => {
  const path = socketPath();
  const server = await startApiServer({ socketPath: path, log: quietLog, getStatus: () => STATUS });
  try {
    chmodSync(path, 0o600);
    chmodSync(dirname(path), 0o755);
    chmodSync(dir, 0o755);
    if (process.getuid?.() !== 0) {
      await assert.rejects(new ApiClient(path).status(), (e: unknown) => e instanceof PermissionDenied);
      return;
    }
    // Root passes every mode check, so the client runs in a child as "nobody".
    const clientUrl = new URL('../../../src-shared/lib/helper-client/client.js', import.meta.url).href;
    const script =
      `import(${JSON.stringify(clientUrl)}).then((m) => new m.ApiClient(${JSON.stringify(path)}).status())` +
      `.then(() => console.log('ok'), (e) => console.log(e.constructor.name))`;
    const loaders = process.execArgv.filter((a, i, all) => a.startsWith('--import') || all[i - 1] === '--import');
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, [...loaders, '-e', script], {
        uid: 65534,
        gid: 65534,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let text = '';
      let err = '';
      child.stdout.on('data', (c: Buffer) => (text += c.toString()));
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      child.once('error', reject);
      child.once('exit', () => resolve(text.trim() || err.trim()));
    });
    if (/Cannot find module|ERR_MODULE_NOT_FOUND|EACCES: permission denied, (open|scandir|mkdir)/.test(out)) {
      t.skip(`the child cannot load the client as nobody: ${out.split('\n')[0]}`);
      return;
    }
    assert.equal(out, 'PermissionDenied');
  } finally {
    await server.close();
  }
});

test('routes get the query and the caller from SO_PEERCRED; privileged routes refuse with 403', async () => {
  const path = socketPath();
  const server = await startApiServer({
    socketPath: path,
    log: quietLog,
    getStatus: () => STATUS,
    routes: {
      '/v1/who': { GET: (req) => ({ caller: req.caller, peer: req.query.get('peer') }) },
      '/v1/root-only': {
        POST: (req) => {
          if (req.caller?.uid !== 12345) throw new ApiHttpError(403, 'forbidden', 'only uid 12345');
          return {};
        },
      },
    },
  });
  try {
    const client = new ApiClient(path);
    const who = await client.request<{ caller: { pid: number; uid: number; gid: number }; peer: string }>(
      'GET',
      '/v1/who?peer=G982V',
    );
    assert.equal(who.peer, 'G982V');
    assert.equal(who.caller.pid, process.pid);
    assert.equal(who.caller.uid, process.getuid!());
    await assert.rejects(
      client.request('POST', '/v1/root-only'),
      (e: unknown) => e instanceof ApiError && e.code === 'forbidden' && e.httpStatus === 403,
    );
  } finally {
    await server.close();
  }
});

test('a connection over the limit gets a JSON 503 that says why; closing one frees a place', async () => {
  const path = socketPath();
  const server = await startApiServer({
    socketPath: path,
    log: quietLog,
    getStatus: () => STATUS,
    connectionLimits: { total: 2 },
  });
  const held: Socket[] = [];
  try {
    // Two connections each hold a request whose body has not come yet.
    for (let i = 0; i < 2; i++) {
      const s = connect(path);
      s.on('error', () => undefined);
      await new Promise((r) => s.once('connect', r));
      s.write('POST /v1/status HTTP/1.1\r\nHost: warren\r\nContent-Length: 10\r\n\r\n');
      held.push(s);
    }
    await new Promise((r) => setTimeout(r, 50));
    await assert.rejects(new ApiClient(path).status(), (e: unknown) => {
      assert.ok(e instanceof ApiError, String(e));
      assert.equal(e.httpStatus, 503);
      assert.equal(e.code, 'too-many-connections');
      assert.equal(e.message, 'the helper has 2 connections open, its limit; try again later');
      return true;
    });
    // A refused connection that never sends a request is not kept waiting for it.
    const silent = connect(path);
    silent.on('error', () => undefined);
    const t0 = Date.now();
    await new Promise((r) => silent.once('close', r));
    assert.ok(Date.now() - t0 < 4000, `a silent refused connection closed after ${Date.now() - t0} ms`);
    held.pop()!.destroy();
    let answered = false;
    for (let i = 0; i < 40 && !answered; i++) {
      answered = await new ApiClient(path).status().then(
        (s) => s.identity === 'G982V',
        () => false,
      );
      if (!answered) await new Promise((r) => setTimeout(r, 25));
    }
    assert.ok(answered, 'a place frees up when a connection closes');
  } finally {
    for (const s of held) s.destroy();
    await server.close();
  }
});
