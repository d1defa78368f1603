// `warren up --coordinator` and `warren enrol` before anything is sent: argument handling, the
// root check and the path check, each against a real coordinator in this process whose key
// use count must stay unchanged; and the enrol path's messages for a short key and for a
// coordinator that does not speak TLS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AdminKey, CreatedKey } from '../../../coordinator/src/api/admin-types.js';
import { startTestCoordinator, type TestCoordinator } from '../../../coordinator/src/testing/testing.js';
import { runCaptured } from './run-captured.js';

const here = dirname(fileURLToPath(import.meta.url));
const cliArgv = import.meta.url.endsWith('.js') ? [join(here, 'main.js')] : ['--import', 'tsx', join(here, 'main.ts')];
const NOBODY = 65534;

async function withCoordinator(body: (c: TestCoordinator, key: string, dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'warren-join-cli-'));
  chmodSync(dir, 0o755);
  const c = await startTestCoordinator();
  try {
    const body0 = { tags: ['dev'], approval: 'automatic', uses: 1, expiresInMs: 3_600_000, ephemeral: false };
    const k = await c.admin<CreatedKey>('POST', '/v1/admin/keys', body0);
    assert.equal(k.status, 201);
    await body(c, k.body.key, dir);
  } finally {
    await c.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function uses(c: TestCoordinator): Promise<number[]> {
  return (await c.admin<{ keys: AdminKey[] }>('GET', '/v1/admin/keys')).body.keys.map((k) => k.uses);
}

/** asUser runs the CLI as another user (this test runs as root), with paths it can write. */
function asUser(uid: number, args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...cliArgv, ...args],
      { uid, gid: uid, env: { PATH: process.env.PATH ?? '' }, timeout: 30_000, encoding: 'utf8' },
      (error, stdout, stderr) =>
        resolve({
          code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1,
          out: stdout,
          err: stderr,
        }),
    );
  });
}

const joinArgs = (c: TestCoordinator, key: string, dir: string): string[] => [
  ...['--coordinator', c.url, '--key', key, '--coordinator-key', c.publicKey],
  ...['--profile', join(dir, 'p', 'a.profile'), '--state-dir', join(dir, 's')],
];

test('a non-root enrol or up is refused before the key is sent, with a message to use sudo', async (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs root to run the CLI as another user');
  await withCoordinator(async (c, key, dir) => {
    // The paths are writable by that user, as in the admin's report: only the root check stops it.
    chmodSync(dir, 0o777);
    for (const cmd of ['enrol', 'up']) {
      const r = await asUser(NOBODY, [cmd, ...joinArgs(c, key, dir)]);
      assert.equal(r.code, 1, r.out + r.err);
      assert.match(r.err, new RegExp(`^warren ${cmd}: must run as root: .*\`sudo warren ${cmd} \\.\\.\\.\``));
      assert.match(r.err, /the enrolment key is still unused/);
      assert.doesNotMatch(r.err, /warren \w+: warren/, 'the prefix is not doubled');
      assert.doesNotMatch(r.err, /EACCES/);
    }
    assert.deepEqual(await uses(c), [0], "the key's use count is unchanged");
    assert.equal(existsSync(join(dir, 'p', 'a.profile')), false, 'no profile was written');
  });
});

test('an unwritable profile place is refused before the key is sent, saying how to choose another', async () => {
  await withCoordinator(async (c, key, dir) => {
    const blocker = join(dir, 'not-a-dir');
    writeFileSync(blocker, 'x');
    for (const cmd of ['enrol', 'up']) {
      const args = [cmd, '--coordinator', c.url, '--key', key, '--coordinator-key', c.publicKey];
      const r = await runCaptured([...args, '--profile', join(blocker, 'a.profile'), '--state-dir', join(dir, 's')]);
      assert.equal(r.code, 1, r.err);
      assert.match(
        r.err,
        new RegExp(
          `^warren ${cmd}: cannot write the profile in .*not-a-dir \\((ENOTDIR|EEXIST)\\): .*--profile FILE or WARREN_PROFILE`,
        ),
      );
      const s = await runCaptured([...args, '--profile', join(dir, 'a.profile'), '--state-dir', join(blocker, 's')]);
      assert.match(s.err, /cannot write the state directory in .* --state-dir DIR or WARREN_STATE_DIR/);
    }
    assert.deepEqual(await uses(c), [0], "the key's use count is unchanged");
  });
});

test('up: join flags need --coordinator, --key is required to enrol, and a bad --adapter or --timeout is refused early', async () => {
  await withCoordinator(async (c, key, dir) => {
    const noCoord = await runCaptured(['up', '--key', key]);
    assert.equal(noCoord.code, 2);
    assert.match(noCoord.err, /^warren up: --key is for joining a network and needs --coordinator URL --key KEY\n/);
    const noKey = await runCaptured(['up', '--coordinator', c.url, '--profile', join(dir, 'none.profile')]);
    assert.equal(noKey.code, 2);
    assert.match(noKey.err, /--key KEY is required/);
    const timeout = await runCaptured(['up', ...joinArgs(c, key, dir), '--timeout', 'soon']);
    assert.equal(timeout.code, 2);
    assert.match(timeout.err, /--timeout must be a whole number from 0 to 86400/);
    const adapter = await runCaptured(['up', ...joinArgs(c, key, dir), '--adapter', 'no/slash']);
    assert.equal(adapter.code, 1);
    assert.match(adapter.err, /--adapter "no\/slash" is not a device name/);
    assert.deepEqual(await uses(c), [0], 'nothing was sent');
    const help = await runCaptured(['up', '--help']);
    assert.match(help.out, /usage: warren up \[--socket PATH\]\n +warren up --coordinator URL --key KEY/);
  });
});

test('enrol: a short key is blamed on its length and the shape of a key is given', async () => {
  const r = await runCaptured([
    'enrol',
    '--coordinator',
    'https://127.0.0.1:9',
    '--key',
    'hello',
    '--profile',
    join(tmpdir(), 'warren-join-none', 'x.profile'),
  ]);
  assert.equal(r.code, 1);
  assert.match(
    r.err,
    /^warren enrol: --key does not look like an enrolment key: it has 5 characters; an enrolment key is `wek-` followed by 43 letters/,
  );
  rmSync(join(tmpdir(), 'warren-join-none'), { recursive: true, force: true });
});

test('enrol: https:// to a plain http server says it does not speak TLS, once prefixed', async () => {
  const server = createServer((_req, res) => res.end('{}'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const dir = mkdtempSync(join(tmpdir(), 'warren-join-tls-'));
  try {
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const r = await runCaptured([
      'enrol',
      '--coordinator',
      url,
      '--key',
      `wek-${'a'.repeat(43)}`,
      '--profile',
      join(dir, 'a.profile'),
      '--state-dir',
      dir,
    ]);
    assert.equal(r.code, 1);
    assert.equal(r.err, `warren enrol: the coordinator at ${url} does not speak TLS; use http:// or check the port\n`);
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('enrol --adapter writes Adapter.Name into the profile, keeping its other Adapter settings', async () => {
  await withCoordinator(async (c, key, dir) => {
    const profile = join(dir, 'p', 'a.profile');
    const r = await runCaptured(['enrol', ...joinArgs(c, key, dir), '--adapter', 'wjx0', '--hostname', 'laptop']);
    assert.equal(r.code, 0, r.err);
    const written = JSON.parse(readFileSync(profile, 'utf8')) as { Adapter?: { Name?: string } };
    assert.equal(written.Adapter?.Name, 'wjx0');
    assert.match(r.out, /^Enrolled as [0-9A-Z]{5} /);
    assert.deepEqual(await uses(c), [1]);
  });
});
