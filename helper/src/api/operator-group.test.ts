// The operator group on the real server, with real users made for the test: a stranger, a
// member through a supplementary group and one whose primary group is the operator group.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { requirePrivileged, startApiServer, type ApiServerOptions } from './server.js';
import { PATHS } from '../../../src-shared/wire/helper-api.js';
import { runNodeAs, TestUsers, usersSkipReason, type TestUser } from './test-users.js';
import { SAMPLE_STATUS as STATUS, quietLog } from './testing.js';

const usersSkip = usersSkipReason();
test(
  'the operator group: others read status and events but get 403 on disconnect; members may',
  { skip: usersSkip },
  async (t) => {
    const users = new TestUsers();
    const root = mkdtempSync(join(tmpdir(), 'warren-api-users-'));
    chmodSync(root, 0o755);
    try {
      const group = users.group('op');
      const stranger = users.user('st');
      const member = users.user('mb', { extra: [group] });
      const primary = users.user('pr', { primary: group });
      const path = join(root, 'run', 'warren.sock');
      let disconnects = 0;
      const opts: ApiServerOptions = {
        socketPath: path,
        log: quietLog,
        getStatus: () => STATUS,
        operatorGroup: group,
        routes: {
          [PATHS.disconnect]: {
            POST: (req) => {
              requirePrivileged(req);
              disconnects++;
              return { state: 'disconnected' };
            },
          },
        },
      };
      const server = await startApiServer(opts);
      try {
        const st = statSync(path);
        assert.equal(st.mode & 0o777, 0o666, 'everyone-reads: any local user may connect');
        assert.equal(st.gid, Number(await groupGidOf(group)), 'the socket belongs to the operator group');
        assert.equal(statSync(dirname(path)).mode & 0o777, 0o755);

        const out = await asUser(t, stranger, path);
        if (out === null) return;
        assert.equal(out.status, 'G982V', 'a stranger reads the status');
        assert.equal(out.event, 'snapshot', 'a stranger gets the event stream');
        assert.deepEqual(out.caller, { privileged: false, operatorGroup: group });
        assert.equal(out.disconnect, `ApiError 403 forbidden`);
        assert.match(out.message, new RegExp(`"${group}" group`));
        assert.equal(disconnects, 0);

        for (const u of [member, primary]) {
          const r = await asUser(t, u, path);
          assert.equal(r?.disconnect, 'ok', `${u.name} may disconnect`);
          assert.deepEqual(r?.caller, { privileged: true, operatorGroup: group });
        }
        assert.equal(disconnects, 2);
      } finally {
        await server.close();
      }

      // operators-only: the socket itself keeps strangers out (0660, operator group).
      const locked = await startApiServer({ ...opts, socketAccess: 'operators-only' });
      try {
        assert.equal(statSync(path).mode & 0o777, 0o660);
        assert.equal((await asUser(t, stranger, path))?.status, 'PermissionDenied');
        assert.equal((await asUser(t, member, path))?.status, 'G982V');
      } finally {
        await locked.close();
      }
      // Without the group, only root may connect at all.
      const rootOnly = await startApiServer({
        ...opts,
        socketAccess: 'operators-only',
        operatorGroup: 'no-such-group-x',
      });
      try {
        assert.equal(statSync(path).mode & 0o777, 0o600);
      } finally {
        await rootOnly.close();
      }
    } finally {
      users.cleanup();
      rmSync(root, { recursive: true, force: true });
    }
  },
);

async function groupGidOf(name: string): Promise<string> {
  const { execFileSync } = await import('node:child_process');
  return execFileSync('getent', ['group', name]).toString().split(':')[2]!;
}

interface AsUserResult {
  status: string;
  event: string;
  caller: unknown;
  disconnect: string;
  message: string;
}

/** asUser runs the client as user: status, the first event, caller and a disconnect. */
async function asUser(t: { skip(msg: string): void }, user: TestUser, path: string): Promise<AsUserResult | null> {
  const clientUrl = new URL('../../../src-shared/lib/helper-client/client.js', import.meta.url).href;
  const script = `
    const { ApiClient } = await import(${JSON.stringify(clientUrl)});
    const c = new ApiClient(${JSON.stringify(path)});
    const out = { status: '', event: '', caller: null, disconnect: '', message: '' };
    const name = (e) => e.constructor.name + (e.httpStatus ? ' ' + e.httpStatus + ' ' + e.code : '');
    try { out.status = (await c.status()).identity; } catch (e) { out.status = name(e); }
    if (out.status === 'G982V') {
      out.event = await new Promise((resolve) => {
        const sub = c.subscribe((ev) => { sub.close(); resolve(ev.kind); }, (e) => { sub.close(); resolve(name(e)); });
      });
      const who = await c.caller();
      out.caller = { privileged: who.privileged, operatorGroup: who.operatorGroup };
      try { await c.disconnect(); out.disconnect = 'ok'; } catch (e) { out.disconnect = name(e); out.message = e.message; }
    }
    console.log(JSON.stringify(out));`;
  const r = await runNodeAs(user, script);
  if (
    r.code !== 0 &&
    /Cannot find module|ERR_MODULE_NOT_FOUND|EACCES: permission denied, (open|scandir|mkdir)/.test(r.stderr)
  ) {
    t.skip(`the child cannot load the client as ${user.name}: ${r.stderr.split('\n')[0]}`);
    return null;
  }
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as AsUserResult;
}
