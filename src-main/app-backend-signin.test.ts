// The app's "Sign in" in main: the helper (here its real API server with a /v1/login the test
// writes, playing a helper that answers well or badly) starts the login, and main hands the URL
// to the browser only when it is http(s); over plain http:// main asks for the coordinator key,
// except to sign in again with the coordinator the system is enrolled with.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../src-shared/lib/log.js';
import { PATHS, type LoginAnswer } from '../src-shared/wire/helper-api.js';
import type { Status } from '../src-shared/wire/status.js';
import { startApiServer } from '../helper/src/api/server.js';
import { AppBackend } from './app-backend.js';

const status = (coordinatorUrl: string | null): Status =>
  ({
    version: '0.1.0',
    identity: 'G982V',
    publicKey: 'pk',
    virtualAddress: '100.64.0.1',
    virtualNetwork: '100.64.0.0/10',
    adapter: 'warren0',
    listenPort: 51820,
    state: 'connected',
    mode: coordinatorUrl ? 'coordinated' : 'static',
    drops: {},
    startedAt: 1,
    peers: [],
    ...(coordinatorUrl
      ? {
          coordinator: {
            url: coordinatorUrl,
            systemId: 's',
            reachable: true,
            state: 'active',
            mapVersion: 1,
            lastContact: null,
            lastError: null,
          },
        }
      : {}),
  }) as Status;

/** withBackend runs body with a backend over a helper whose /v1/login answers answer. */
async function withBackend(
  st: Status,
  answer: LoginAnswer,
  body: (b: AppBackend, opened: string[], asked: unknown[]) => Promise<void>,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'warren-signin-'));
  const asked: unknown[] = [];
  const server = await startApiServer({
    socketPath: join(dir, 's.sock'),
    log: createLogger(0, { write: () => true }),
    getStatus: () => st,
    routes: {
      [PATHS.login]: {
        POST: (req) => {
          asked.push(req.body);
          return answer;
        },
      },
    },
  });
  const opened: string[] = [];
  const b = new AppBackend({ socketPath: join(dir, 's.sock'), openUrl: (u) => (opened.push(u), true) });
  try {
    await b.handlers.getState();
    await (b as unknown as { refresh(): Promise<void> }).refresh();
    await body(b, opened, asked);
  } finally {
    b.stop();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const good: LoginAnswer = {
  url: 'http://10.0.0.1:8080/authorize?x=1',
  code: 'ABCD-EFGH',
  provider: 'corp',
  expiresAt: 5,
};

test('Sign in opens the helper’s http(s) URL and returns the code; a URL of another scheme is never opened', async () => {
  await withBackend(status(null), good, async (b, opened, asked) => {
    const r = await b.handlers.signIn({ coordinator: 'https://c.example' });
    assert.deepEqual(r, { ...good, opened: true });
    assert.deepEqual(opened, [good.url]);
    assert.deepEqual(asked, [{ coordinator: 'https://c.example' }]);
  });
  for (const url of ['javascript:alert(1)', 'file:///etc/passwd', 'http://a b', `https://x/${'a'.repeat(5000)}`]) {
    await withBackend(status(null), { ...good, url }, async (b, opened) => {
      await assert.rejects(b.handlers.signIn({ coordinator: 'https://c.example' }), /other than an http\(s\) address/);
      assert.deepEqual(opened, [], url.slice(0, 30));
    });
  }
});

test('Sign in over plain http:// needs the coordinator key, except again with the enrolled coordinator', async () => {
  await withBackend(status(null), good, async (b, _opened, asked) => {
    await assert.rejects(b.handlers.signIn({ coordinator: 'http://10.0.0.1:8080' }), /Over plain http:\/\//);
    assert.deepEqual(asked, [], 'refused before the helper is asked');
  });
  await withBackend(status('http://10.0.0.1:8080'), good, async (b, opened, asked) => {
    await b.handlers.signIn({ coordinator: 'http://10.0.0.1:8080/' });
    assert.deepEqual(asked, [{ coordinator: 'http://10.0.0.1:8080/' }], 'the helper checks the pinned key');
    assert.equal(opened.length, 1);
  });
});
