import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Status } from '../src-shared/wire/status.js';
import type { AppState } from '../src-shared/wire/app-state.js';
import { createLogger } from '../src-shared/lib/log.js';
import { PATHS } from '../src-shared/wire/helper-api.js';
import { ApiHttpError, startApiServer, type ApiServer, type RouteTable } from '../helper/src/api/server.js';
import { AppBackend, toProblem } from './app-backend.js';
import { apiRoutes } from '../helper/src/daemon/api-routes.js';
import { ChangeNotifier } from '../helper/src/daemon/changes.js';
import { TunnelControl } from '../helper/src/daemon/tunnel.js';
import type { AdminKey, CreatedKey } from '../coordinator/src/api/admin-types.js';
import { startTestCoordinator } from '../coordinator/src/testing/testing.js';
import { keyFingerprint } from '../src-shared/lib/fingerprint.js';
import { writeLeftoverRecord } from '../helper/src/daemon/leftovers.js';
import { writeDnsState } from '../helper/src/dns/split/state.js';
import { writeFullTunnelState } from '../helper/src/router/full-tunnel.js';
import { trayModel } from './tray-state.js';
import {
  ApiError,
  HelperNotRunning,
  PermissionDenied,
  UntrustedSocket,
} from '../src-shared/lib/helper-client/client.js';

const quietLog = createLogger(0, { write: () => true });
const base: Status = {
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
  peers: [
    {
      identity: 'Q8QW8',
      name: 'exit',
      publicKey: 'k',
      endpoint: '192.0.2.2:51820',
      allowedIps: ['100.64.0.2/32'],
      lastHandshake: Date.now(),
      rxBytes: 5,
      txBytes: 6,
      persistentKeepalive: 0,
      exitNodeFor: ['198.51.100.0/24'],
      exitNodeInUse: true,
    },
  ],
};

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'warren-backend-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** fakeHelper is the real API server over a status the test controls (routes change it). */
async function fakeHelper(path: string, st: { status: Status }): Promise<ApiServer> {
  const listeners = new Set<() => void>();
  const changed = () => listeners.forEach((l) => l());
  const routes: RouteTable = {
    [PATHS.connect]: {
      POST: () => {
        st.status = { ...st.status, state: 'connected' };
        changed();
        return { state: 'connected' };
      },
    },
    [PATHS.disconnect]: {
      POST: () => {
        st.status = { ...st.status, state: 'disconnected' };
        changed();
        return { state: 'disconnected' };
      },
    },
    [PATHS.exitNodes]: {
      POST: (req) => {
        const { identity, use } = req.body as { identity: string; use: boolean };
        if (identity !== 'Q8QW8') throw new ApiHttpError(404, 'not-found', 'no such exit node');
        st.status = { ...st.status, peers: st.status.peers.map((p) => ({ ...p, exitNodeInUse: use })) };
        changed();
        return { identity, routes: ['198.51.100.0/24'], inUse: use, conflicts: [] };
      },
    },
    [PATHS.why]: {
      GET: (req) => ({
        text: `allowed with ${req.query.get('peer')}`,
        detail: { egress: { allowed: true }, ingress: { allowed: false } },
      }),
    },
    [PATHS.enrol]: {
      POST: () => {
        throw new ApiHttpError(403, 'forbidden', 'this needs root or membership in the "warren" group');
      },
    },
  };
  return startApiServer({
    socketPath: path,
    log: quietLog,
    getStatus: () => st.status,
    routes,
    events: {
      subscribe: (l) => {
        listeners.add(l);
        return () => listeners.delete(l);
      },
    },
  });
}

async function until(b: AppBackend, what: string, cond: (s: AppState) => boolean, timeoutMs = 5000): Promise<AppState> {
  const deadline = Date.now() + timeoutMs;
  while (!cond(b.current())) {
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}: ${JSON.stringify(b.current()).slice(0, 400)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return b.current();
}

test('the backend follows the helper, runs calls through it and words failures', async () => {
  const path = join(dir, 'a', 'warren.sock');
  const st = { status: base };
  let helper = await fakeHelper(path, st);
  const b = new AppBackend({ socketPath: path, subscribe: { initialBackoffMs: 30, maxBackoffMs: 60 } });
  const seen: AppState[] = [];
  const off = b.onState((s) => seen.push(s));
  assert.equal(b.current().link, 'starting');
  b.start();
  try {
    const up = await until(b, 'link up', (s) => s.link === 'up' && s.access !== null);
    assert.equal(up.tunnel?.identity, 'G982V');
    assert.equal(up.peers[0]?.virtualIp, '100.64.0.2');
    assert.equal(up.access?.privileged, process.getuid?.() === 0);

    const d = await b.handlers.disconnect();
    assert.equal(d?.state, 'disconnected', 'the call answers with the tunnel after the change');
    assert.equal(b.current().tunnel?.state, 'disconnected');
    assert.equal((await b.handlers.connect())?.state, 'connected');

    assert.deepEqual(await b.handlers.useExitNode({ identity: 'Q8QW8', use: false }), {
      identity: 'Q8QW8',
      label: 'exit',
      routes: ['198.51.100.0/24'],
      inUse: false,
    });
    assert.equal(b.current().peers[0]?.exitInUse, false);
    await assert.rejects(
      b.handlers.useExitNode({ identity: 'ZZZZZ', use: true }),
      (e: unknown) => toProblem(e).code === 'not-found',
    );

    assert.deepEqual(await b.handlers.why({ peer: 'exit' }), {
      peer: 'exit',
      text: 'allowed with exit',
      egress: true,
      ingress: false,
    });
    await assert.rejects(b.handlers.enrol({ coordinator: 'https://c.example', key: 'k' }), (e: unknown) => {
      const p = toProblem(e);
      return p.code === 'forbidden' && /"warren" group/.test(p.message);
    });

    await helper.close();
    assert.equal((await until(b, 'link down', (s) => s.link === 'down')).tunnel, null);
    // The first report may be the stream ending; the next attempt finds no socket.
    const down = await until(b, 'helper not running', (s) => s.problem?.code === 'helper-not-running');
    assert.equal(down.tunnel, null, 'no stale "Connected" once the helper is gone');
    assert.ok(down.retryInMs !== null && down.retryInMs <= 60);

    helper = await fakeHelper(path, st);
    await until(b, 'link back up', (s) => s.link === 'up' && s.tunnel !== null);
    assert.ok(seen.length > 3, 'listeners heard every change');
  } finally {
    off();
    b.stop();
    await helper.close();
  }
});

test('toProblem says what happened and what to do', () => {
  const cases: [unknown, string, RegExp][] = [
    [
      new HelperNotRunning('/run/warren/warren.sock', 'no-socket'),
      'helper-not-running',
      /not running \(no socket at \/run\/warren\/warren\.sock\).*systemctl start warren/,
    ],
    [new HelperNotRunning('/s', 'not-listening'), 'helper-not-running', /nothing listens on \/s/],
    [new PermissionDenied('/s'), 'permission-denied', /may not open \/s.*operator group/],
    [new UntrustedSocket('/s', 1000), 'untrusted-socket', /owned by uid 1000, not root/],
    [new ApiError('forbidden', 'needs the group', 403), 'forbidden', /needs the group/],
    [new ApiError('bad-request', 'bad key', 400), 'bad-request', /bad key/],
    [new ApiError('bad-request', 'bad profile', 422), 'bad-request', /bad profile/],
    [new ApiError('internal', 'see log', 500), 'helper-error', /see log/],
    [
      new ApiError('stream-ended', 'the helper closed the event stream'),
      'helper-error',
      /Lost the connection to the helper \(the helper closed the event stream\); reconnecting/,
    ],
    [new Error('boom'), 'internal', /internal error in the app: boom/],
  ];
  for (const [e, code, message] of cases) {
    const p = toProblem(e);
    assert.equal(p.code, code, String(e));
    assert.match(p.message, message);
  }
});

test('enrol from the app: plain http:// needs the coordinator key or the insecure choice, and the key reaches the helper', async () => {
  const c = await startTestCoordinator();
  const other = await startTestCoordinator();
  const path = join(dir, 'enrol', 'warren.sock');
  const profilePath = join(dir, 'enrol', 'p.profile');
  const helper = await startApiServer({
    socketPath: path,
    log: quietLog,
    getStatus: () => base,
    routes: apiRoutes(
      {
        policy: null,
        exit: null,
        tunnel: new TunnelControl(new ChangeNotifier(), quietLog),
        profilePath,
        stateDir: join(dir, 'enrol', 'state'),
      },
      async () => 'reloaded',
    ),
  });
  const b = new AppBackend({ socketPath: path });
  try {
    const k = await c.admin<CreatedKey>('POST', '/v1/admin/keys', {
      tags: ['dev'],
      approval: 'automatic',
      uses: 5,
      expiresInMs: 3_600_000,
      ephemeral: false,
    });
    const key = k.body.key;
    const problem = async (arg: Parameters<typeof b.handlers.enrol>[0]) => {
      try {
        await b.handlers.enrol(arg);
      } catch (e) {
        return toProblem(e);
      }
      return assert.fail('the enrolment was expected to be refused');
    };
    const noKey = await problem({ coordinator: c.url, key });
    assert.equal(noKey.code, 'bad-request');
    assert.match(noKey.message, /^Over plain http:\/\/ anyone on the network path could pose as the coordinator/);
    assert.match(noKey.message, /Enter the coordinator key your administrator gives you/);
    const used = await c.admin<{ keys: AdminKey[] }>('GET', '/v1/admin/keys');
    assert.equal(used.body.keys[0]!.uses, 0, 'the enrolment key never left this machine');

    const wrong = await problem({ coordinator: c.url, key, coordinatorKey: other.publicKey });
    assert.equal(wrong.code, 'bad-request');
    assert.match(wrong.message, /not the coordinator key you gave.*refusing to enrol/);
    assert.equal(existsSync(profilePath), false);

    const fingerprint = keyFingerprint(Buffer.from(c.publicKey, 'base64'));
    const right = await b.handlers.enrol({ coordinator: c.url, key, coordinatorKey: c.publicKey });
    assert.ok(right.message.includes(`coordinator key fingerprint ${fingerprint} (the key you gave)`), right.message);
    const pinned = JSON.parse(readFileSync(profilePath, 'utf8')) as { Coordinator: { PublicKey: string } };
    assert.equal(pinned.Coordinator.PublicKey, c.publicKey);

    const insecure = await b.handlers.enrol({ coordinator: c.url, key, insecure: true });
    assert.ok(insecure.message.includes(`coordinator key fingerprint ${fingerprint};`), insecure.message);
  } finally {
    b.stop();
    await helper.close();
    await c.dispose();
    await other.dispose();
  }
});

test('a helper that was killed with its full tunnel, kill switch and DNS in place: the app says so and what to do', async () => {
  const socketPath = join(dir, 'killed', 'warren.sock');
  const stateDir = join(dir, 'killed', 'state');
  mkdirSync(stateDir, { recursive: true });
  // A pid that surely no longer runs: that of a process that has exited.
  const deadPid = spawnSync(process.execPath, ['-e', '0']).pid;
  // The state files a killed helper leaves, and the readable record as the helper keeps it.
  writeFullTunnelState(stateDir, {
    adapter: 'wkill0',
    table: 'warren_ft_wkill0',
    srcValidMark: '0',
    killSwitch: true,
    pid: deadPid,
  });
  writeDnsState(stateDir, { kind: 'resolv.conf', path: '/etc/resolv.conf', address: '100.64.0.1', pid: deadPid });
  assert.ok(writeLeftoverRecord(socketPath, stateDir, null) !== null);

  const b = new AppBackend({ socketPath, subscribe: { initialBackoffMs: 30, maxBackoffMs: 60 } });
  b.start();
  try {
    const down = await until(b, 'helper stopped', (s) => s.problem?.code === 'helper-stopped');
    const p = down.problem!;
    assert.equal(p.title, 'Helper stopped; the kill switch is holding traffic');
    assert.match(p.message, new RegExp(`stopped without undoing its changes \\(pid ${deadPid} is gone\\)`));
    assert.match(p.message, /full tunnel with the kill switch on: .*blocked \(fail-closed\)/);
    assert.match(p.message, /DNS pointing at Warren's nameserver 100\.64\.0\.1/);
    assert.match(p.message, /Run `sudo warren cleanup` to remove them, or start the helper \(`sudo warren start`\)/);
    assert.match(trayModel(down).tooltip, /^Warren: Helper stopped; the kill switch is holding traffic$/);

    // `warren cleanup` rewrites the record with nothing left: the app says "not running" again.
    rmSync(stateDir, { recursive: true });
    mkdirSync(stateDir);
    assert.ok(writeLeftoverRecord(socketPath, stateDir, null) !== null);
    const clean = await until(b, 'helper not running', (s) => s.problem?.code === 'helper-not-running');
    assert.doesNotMatch(clean.problem!.message, /kill switch|cleanup/);
  } finally {
    b.stop();
  }
});
