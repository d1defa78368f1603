// Signing in through the local API: POST /v1/login through the real API server and the daemon's
// real routes, against a real coordinator in this process (one without an identity provider, so
// the refusal is the coordinator's own), and the runtime's one-sign-in-at-a-time and progress
// with the coordinator exchange replaced (the whole exchange against a real provider is
// e2e/ui/sign-in.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestCoordinator } from '../../../coordinator/src/testing/testing.js';
import { ApiClient, ApiError } from '../../../src-shared/lib/helper-client/client.js';
import { createLogger } from '../../../src-shared/lib/log.js';
import { PATHS } from '../../../src-shared/wire/helper-api.js';
import type { Status } from '../../../src-shared/wire/status.js';
import { LoginCancelled, type LoginBegun, type LoginOutcome } from '../control/login.js';
import { startApiServer, type ApiRequest } from '../api/server.js';
import { apiRoutes } from './api-routes.js';
import { ChangeNotifier } from './changes.js';
import { LoginRuntime } from './login-runtime.js';
import { loginRoutes } from './login-routes.js';
import { TunnelControl } from './tunnel.js';

const quietLog = createLogger(0, { write: () => true });

async function refusal(call: Promise<unknown>): Promise<ApiError> {
  try {
    await call;
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  assert.fail('the call was expected to be refused');
}

test('POST /v1/login checks its body, and passes on the coordinator’s refusal without writing a profile', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'warren-api-login-'));
  const c = await startTestCoordinator();
  const profilePath = join(dir, 'p.profile');
  const changes = new ChangeNotifier();
  const login = new LoginRuntime({ profilePath, stateDir: join(dir, 'state'), notify: () => changes.notify() });
  const server = await startApiServer({
    socketPath: join(dir, 'warren.sock'),
    log: quietLog,
    getStatus: () => ({}) as Status,
    routes: apiRoutes(
      {
        policy: null,
        exit: null,
        tunnel: new TunnelControl(changes, quietLog),
        profilePath,
        stateDir: join(dir, 'state'),
        login,
      },
      async () => 'reloaded',
    ),
  });
  try {
    const api = new ApiClient(join(dir, 'warren.sock'));
    for (const body of [
      { coordinator: 7 },
      { coordinator: c.url, provider: 'a b' },
      { coordinator: c.url, key: 'a key is for /v1/enrol' },
      { coordinator: `${c.url}/${'x'.repeat(300)}` },
    ]) {
      const e = await refusal(api.request('POST', PATHS.login, body));
      assert.equal(e.httpStatus, 400, JSON.stringify(body));
      assert.match(e.message, /"provider": "name" \(optional\)/);
    }
    const insecure = await refusal(api.login({ coordinator: c.url }));
    assert.equal(insecure.httpStatus, 422);
    assert.match(
      insecure.message,
      /^sign-in failed: refusing to enrol over plain http:\/\/ without the coordinator's key/,
    );
    const noIdp = await refusal(api.login({ coordinator: c.url, coordinatorKey: c.publicKey }));
    assert.equal(noIdp.httpStatus, 422);
    assert.match(noIdp.message, /this coordinator has no identity provider configured/);
    assert.equal(existsSync(profilePath), false);
    assert.equal(login.progress(), undefined, 'a login that never started leaves no progress');
    const none = await refusal(api.request('GET', PATHS.login));
    assert.equal(none.httpStatus, 404);
  } finally {
    await server.close();
    await c.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

/** begun is a started login whose outcome the test decides. */
function begun(): { b: LoginBegun; finish(o: LoginOutcome): void; fail(e: Error): void } {
  let finish!: (o: LoginOutcome) => void;
  let fail!: (e: Error) => void;
  const done = new Promise<LoginOutcome>((res, rej) => {
    finish = res;
    fail = rej;
  });
  const started = {
    loginId: 'x'.repeat(22),
    url: 'http://c/authorize',
    code: 'ABCD-EFGH',
    provider: 'corp',
    expiresAt: 1e13,
  };
  return { b: { started, done }, finish, fail };
}

test('one sign-in at a time: a second waits for the first to end, and progress says how each went', async () => {
  const runs: ReturnType<typeof begun>[] = [];
  let notified = 0;
  const login = new LoginRuntime({
    profilePath: '/nonexistent/p',
    stateDir: '/nonexistent/s',
    notify: () => notified++,
    begin: async () => {
      runs.push(begun());
      return runs.at(-1)!.b;
    },
  });
  const answer = await login.start({ coordinator: 'https://c.example' });
  assert.deepEqual(answer, { url: 'http://c/authorize', code: 'ABCD-EFGH', provider: 'corp', expiresAt: 1e13 });
  assert.equal(login.progress()?.state, 'waiting');
  assert.match(login.progress()!.message, /^Waiting for you to sign in with corp in your browser/);
  assert.equal(JSON.stringify(login.progress()).includes('ABCD-EFGH'), false, 'the status carries no code');
  assert.equal(JSON.stringify(login.progress()).includes('authorize'), false, 'the status carries no URL');
  assert.deepEqual(login.waiting(), answer);
  await assert.rejects(login.start({ coordinator: 'https://c.example' }), {
    status: 409,
    message: /already under way/,
  });

  runs[0]!.fail(new Error('the sign-in was refused: access_denied: End-User aborted\u0007 interaction'));
  await new Promise((r) => setImmediate(r));
  assert.equal(login.progress()?.state, 'refused');
  assert.equal(login.progress()?.message, 'The sign-in was refused: access_denied: End-User aborted? interaction.');
  assert.equal(login.waiting(), null);

  await login.start({ coordinator: 'https://c.example' });
  const response = { identity: 'K7Q2M', virtualAddress: '100.64.0.7', tags: ['dev'], state: 'active' };
  runs[1]!.finish({ user: 'alice@example.com', response } as unknown as LoginOutcome);
  await new Promise((r) => setImmediate(r));
  const p = login.progress()!;
  assert.deepEqual([p.state, p.user, p.identity, p.tags], ['enrolled', 'alice@example.com', 'K7Q2M', ['dev']]);
  assert.match(
    p.message,
    /^Signed in as alice@example\.com: enrolled as K7Q2M \(100\.64\.0\.7\) with tags dev\. Restart/,
  );
  assert.equal(notified, 4, 'every change is told to the event stream');
});

test('only root and the operator group may start a sign-in or read its URL', async () => {
  let starts = 0;
  const login = new LoginRuntime({
    profilePath: '/nonexistent/p',
    stateDir: '/nonexistent/s',
    notify: () => undefined,
    begin: async () => {
      starts++;
      return begun().b;
    },
  });
  const routes = loginRoutes(login);
  const stranger = {
    access: () => ({ privileged: false, group: 'warren', groupGid: 998 }),
    body: { coordinator: 'https://c.example' },
  } as unknown as ApiRequest;
  assert.throws(() => routes.POST!(stranger), { status: 403, message: /"warren" group/ });
  assert.throws(() => routes.GET!(stranger), { status: 403 });
  assert.equal(starts, 0, 'the coordinator is never asked');
  const operator = { ...stranger, access: () => ({ privileged: true, group: 'warren', groupGid: 998 }) } as ApiRequest;
  await routes.POST!(operator);
  assert.equal((routes.GET!(operator) as { code: string }).code, 'ABCD-EFGH');
});

test('DELETE /v1/login cancels the waiting sign-in through its signal, and progress says cancelled', async () => {
  let signal: AbortSignal | undefined;
  const login = new LoginRuntime({
    profilePath: '/nonexistent/p',
    stateDir: '/nonexistent/s',
    notify: () => undefined,
    begin: async (o) => {
      signal = o.signal;
      const run = begun();
      // As control/login.ts does: an abort ends the wait with LoginCancelled once the
      // coordinator has been told.
      o.signal?.addEventListener('abort', () =>
        run.fail(new LoginCancelled(true, 'the sign-in was cancelled: its URL no longer enrols anything')),
      );
      return run.b;
    },
  });
  const routes = loginRoutes(login);
  const stranger = { access: () => ({ privileged: false, group: 'warren', groupGid: 998 }) } as unknown as ApiRequest;
  const operator = { access: () => ({ privileged: true, group: 'warren', groupGid: 998 }) } as unknown as ApiRequest;
  await assert.rejects(async () => routes.DELETE!(operator), { status: 404, message: /nothing to cancel/ });
  await login.start({ coordinator: 'https://c.example' });
  assert.throws(() => routes.DELETE!(stranger), { status: 403 });
  assert.equal(signal?.aborted, false);
  const r = (await routes.DELETE!(operator)) as { message: string };
  assert.equal(signal?.aborted, true);
  assert.equal(r.message, 'The sign-in was cancelled: its URL no longer enrols anything.');
  assert.equal(login.progress()?.state, 'cancelled');
  assert.equal(login.waiting(), null);
  await login.start({ coordinator: 'https://c.example' });
  assert.equal(login.progress()?.state, 'waiting', 'a new sign-in may start');
});
