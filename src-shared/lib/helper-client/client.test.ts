import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Status } from '../../wire/status.js';
import {
  ApiClient,
  ApiError,
  HelperNotRunning,
  UntrustedSocket,
  type ApiClientError,
  type StatusEvent,
} from './client.js';
import { PATHS, type ExitNodeState } from '../../wire/helper-api.js';
import { requirePrivileged, startApiServer, type ApiServer, type RouteTable } from '../../../helper/src/api/server.js';
import { backoffDelay } from './subscribe.js';
import { SAMPLE_STATUS as STATUS, quietLog } from '../../../helper/src/api/testing.js';

let dir = '';
let n = 0;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'warren-client-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));
const socketPath = (): string => join(dir, `c${n++}`, 'warren.sock');

test('typed calls reach their routes with the documented bodies', async () => {
  const path = socketPath();
  const seen: string[] = [];
  const exit: ExitNodeState = { identity: 'Q8QW8', routes: ['198.51.100.0/24'], inUse: true, conflicts: [] };
  const routes: RouteTable = {
    [PATHS.why]: { GET: (req) => ({ text: `why ${req.query.get('peer')}`, detail: { ok: 1 } }) },
    [PATHS.reload]: {
      POST: (req) => {
        requirePrivileged(req);
        seen.push('reload');
        return { message: 'reloaded' };
      },
    },
    [PATHS.exitNodes]: {
      GET: () => [exit],
      POST: (req) => {
        seen.push(`use ${JSON.stringify(req.body)}`);
        return { ...exit, inUse: (req.body as { use: boolean }).use };
      },
    },
    [PATHS.connect]: {
      POST: () => {
        seen.push('connect');
        return { state: 'connected' };
      },
    },
    [PATHS.disconnect]: {
      POST: () => {
        seen.push('disconnect');
        return { state: 'disconnected' };
      },
    },
    [PATHS.enrol]: {
      POST: (req) => {
        seen.push(`enrol ${JSON.stringify(req.body)}`);
        return { identity: 'G982V' };
      },
    },
  };
  const server = await startApiServer({ socketPath: path, log: quietLog, getStatus: () => STATUS, routes });
  try {
    const c = new ApiClient(path);
    assert.equal((await c.status()).identity, 'G982V');
    assert.deepEqual(await c.why('beta one'), { text: 'why beta one', detail: { ok: 1 } });
    assert.deepEqual(await c.reload(), { message: 'reloaded' });
    assert.deepEqual(await c.exitNodes(), [exit]);
    assert.equal((await c.useExitNode('Q8QW8', false)).inUse, false);
    assert.deepEqual(await c.connect(), { state: 'connected' });
    assert.deepEqual(await c.disconnect(), { state: 'disconnected' });
    assert.deepEqual(await c.enrol({ coordinator: 'https://c.example', key: 'k1' }), { identity: 'G982V' });
    await c.enrol({ coordinator: 'http://c.example', key: 'k2', coordinatorKey: 'K'.repeat(44) });
    await c.enrol({ coordinator: 'http://c.example', key: 'k3', insecure: true });
    const me = await c.caller();
    assert.equal(me.uid, process.getuid!());
    assert.equal(me.privileged, process.getuid!() === 0);
    assert.deepEqual(seen, [
      'reload',
      'use {"identity":"Q8QW8","use":false}',
      'connect',
      'disconnect',
      'enrol {"coordinator":"https://c.example","key":"k1"}',
      `enrol {"coordinator":"http://c.example","key":"k2","coordinatorKey":"${'K'.repeat(44)}"}`,
      'enrol {"coordinator":"http://c.example","key":"k3","insecure":true}',
    ]);
  } finally {
    await server.close();
  }
});

test('answers that are not what a call promises are refused as bad-response', async () => {
  const path = socketPath();
  const routes: RouteTable = {
    [PATHS.why]: { GET: () => ({ detail: 1 }) },
    [PATHS.exitNodes]: { GET: () => ({ not: 'a list' }), POST: () => [1] },
  };
  const server = await startApiServer({
    socketPath: path,
    log: quietLog,
    getStatus: () => ({ ...STATUS, peers: 'x' }) as unknown as Status,
    routes,
  });
  try {
    const c = new ApiClient(path);
    for (const call of [() => c.status(), () => c.why('x'), () => c.exitNodes(), () => c.useExitNode('A', true)]) {
      await assert.rejects(call(), (e: unknown) => e instanceof ApiError && e.code === 'bad-response');
    }
  } finally {
    await server.close();
  }
});

test(
  'a socket owned by another user is refused before anything is sent',
  { skip: process.getuid?.() !== 0 ? 'needs root to chown the socket' : false },
  async () => {
    const path = socketPath();
    let asked = 0;
    const server = await startApiServer({
      socketPath: path,
      log: quietLog,
      getStatus: () => {
        asked++;
        return STATUS;
      },
    });
    try {
      chownSync(path, 65534, 65534);
      await assert.rejects(
        new ApiClient(path).status(),
        (e: unknown) => e instanceof UntrustedSocket && e.ownerUid === 65534 && /not root/.test(e.message),
      );
      const errors: ApiClientError[] = [];
      const sub = new ApiClient(path).subscribe(
        () => assert.fail('no event from an untrusted socket'),
        (e) => errors.push(e),
        { initialBackoffMs: 10_000 },
      );
      sub.close();
      assert.ok(errors[0] instanceof UntrustedSocket);
      assert.equal(asked, 0, 'the server never heard a request');
      assert.equal(
        (await new ApiClient(path, { trustedOwners: [65534] }).status()).identity,
        'G982V',
        'a test may widen the trusted owners',
      );
    } finally {
      await server.close();
    }
  },
);

test('backoffDelay doubles, is capped and jittered within [d/2, d]', () => {
  const cases: [number, number, number][] = [
    [0, 0, 125],
    [0, 1, 250],
    [1, 0, 250],
    [3, 1, 2000],
    [10, 0, 5000],
    [10, 1, 10_000],
    [100, 1, 10_000],
  ];
  for (const [attempt, r, want] of cases)
    assert.equal(
      backoffDelay(attempt, 250, 10_000, () => r),
      want,
      `attempt ${attempt} random ${r}`,
    );
});

/** collector records what a subscription reports. */
function collector() {
  const events: StatusEvent[] = [];
  const errors: Array<{ e: ApiClientError; retry: number }> = [];
  const waiters: Array<() => void> = [];
  const wake = () => waiters.splice(0).forEach((w) => w());
  return {
    events,
    errors,
    onEvent: (e: StatusEvent) => {
      events.push(e);
      wake();
    },
    onError: (e: ApiClientError, retry: number) => {
      errors.push({ e, retry });
      wake();
    },
    async until(what: string, cond: () => boolean, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (!cond()) {
        if (Date.now() > deadline)
          throw new Error(
            `timed out waiting for ${what}: ${JSON.stringify({ events: events.map((x) => x.kind), errors: errors.map((x) => x.e.message) })}`,
          );
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 50);
        });
      }
    },
  };
}

test('subscribe: snapshot, changes, the helper going away, and a new snapshot when it is back', async () => {
  const path = socketPath();
  let state: Status['state'] = 'connected';
  const listeners = new Set<() => void>();
  const events = {
    subscribe: (l: () => void) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  };
  const start = (): Promise<ApiServer> =>
    startApiServer({ socketPath: path, log: quietLog, getStatus: () => ({ ...STATUS, state }), events });
  let server = await start();
  const c = collector();
  const sub = new ApiClient(path).subscribe(c.onEvent, c.onError, { initialBackoffMs: 50, maxBackoffMs: 200 });
  try {
    await c.until('the snapshot', () => c.events.length >= 1);
    assert.equal(c.events[0]?.kind, 'snapshot');
    state = 'disconnected';
    listeners.forEach((l) => l());
    await c.until('the change', () => c.events.some((e) => e.kind === 'status' && e.status.state === 'disconnected'));

    await server.close();
    await c.until('an error', () => c.errors.length >= 2);
    assert.ok(
      c.errors.some((x) => x.e instanceof HelperNotRunning),
      c.errors.map((x) => x.e.message).join('; '),
    );
    assert.ok(
      c.errors.every((x) => x.retry >= 25 && x.retry <= 200),
      'retries within the cap',
    );

    state = 'connected';
    const before = c.events.length;
    server = await start();
    await c.until('a new snapshot', () => c.events.slice(before).some((e) => e.kind === 'snapshot'));
    assert.equal(c.events.slice(before).find((e) => e.kind === 'snapshot')?.status.state, 'connected');
  } finally {
    sub.close();
    await server.close();
  }
});

test('subscribe: a stream that goes silent is dropped and reopened; close() stops for good', async () => {
  const path = socketPath();
  const server = await startApiServer({
    socketPath: path,
    log: quietLog,
    getStatus: () => STATUS,
    eventLimits: { tickMs: 60_000 },
  });
  const c = collector();
  const sub = new ApiClient(path).subscribe(c.onEvent, c.onError, {
    idleTimeoutMs: 200,
    initialBackoffMs: 20,
    maxBackoffMs: 40,
  });
  try {
    await c.until('two snapshots', () => c.events.filter((e) => e.kind === 'snapshot').length >= 2);
    assert.ok(c.errors.some((x) => x.e instanceof ApiError && x.e.code === 'timeout'));
  } finally {
    sub.close();
  }
  const seen = c.events.length + c.errors.length;
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(c.events.length + c.errors.length, seen, 'nothing after close()');
  await server.close();
});

test('subscribe starts before the helper does and picks it up', async () => {
  const path = socketPath();
  const c = collector();
  const sub = new ApiClient(path).subscribe(c.onEvent, c.onError, { initialBackoffMs: 20, maxBackoffMs: 50 });
  let server: ApiServer | null = null;
  try {
    await c.until('not running', () => c.errors.length > 0);
    assert.ok(c.errors[0]?.e instanceof HelperNotRunning);
    server = await startApiServer({ socketPath: path, log: quietLog, getStatus: () => STATUS });
    await c.until('the snapshot', () => c.events.length > 0);
    assert.equal(c.events[0]?.kind, 'snapshot');
  } finally {
    sub.close();
    await server?.close();
  }
});
