// The UAPI server over a real Unix socket in a temporary directory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../../../src-shared/lib/log.js';
import type { UapiHandler } from './connection.js';
import { startUapiServer, socketPathFor } from './server.js';

const silent = createLogger(-1, { write: () => true });

function tempDir(t: { after(fn: () => void): void }): string {
  const base = mkdtempSync(join(tmpdir(), 'wgu-uapi-'));
  t.after(() => rmSync(base, { recursive: true, force: true }));
  return join(base, 'run', 'wireguard');
}

function handler(): UapiHandler & { port: number } {
  const h = {
    port: 1,
    get: () => Promise.resolve(`listen_port=${h.port}\nerrno=0\n\n`),
    set: async (req: { listenPort?: number }) => {
      if (req.listenPort !== undefined) h.port = req.listenPort;
    },
  };
  return h as UapiHandler & { port: number };
}

/** exchange sends text and collects the reply until `replies` empty-line-terminated replies came. */
function exchange(path: string, text: string, replies: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = createConnection(path);
    let got = '';
    c.setEncoding('latin1');
    c.on('connect', () => c.write(text));
    c.on('data', (s: string) => {
      got += s;
      if (got.split('\n\n').length - 1 >= replies) {
        c.end();
        resolve(got);
      }
    });
    c.on('error', reject);
    c.on('close', () => resolve(got));
  });
}

test('the socket is created 0600 in a 0755 directory it makes, serves several requests per connection, and close removes it', async (t) => {
  const dir = tempDir(t);
  const server = await startUapiServer({ name: 'wgu0', handler: handler(), log: silent, dir });
  assert.equal(server.path, join(dir, 'wgu0.sock'));
  assert.equal(statSync(dir).mode & 0o777, 0o755);
  assert.equal(statSync(server.path).mode & 0o777, 0o600);
  assert.ok(statSync(server.path).isSocket());
  const reply = await exchange(server.path, 'get=1\n\nset=1\nlisten_port=51820\n\nget=1\n\n', 3);
  assert.equal(reply, 'listen_port=1\nerrno=0\n\nerrno=0\n\nlisten_port=51820\nerrno=0\n\n');
  await server.close();
  assert.equal(existsSync(server.path), false);
});

test('connections are served concurrently: a client stuck in the middle of a set holds nobody up', async (t) => {
  const dir = tempDir(t);
  const server = await startUapiServer({ name: 'wgu0', handler: handler(), log: silent, dir });
  const slow = createConnection(server.path);
  await new Promise((r) => slow.on('connect', r));
  slow.write('set=1\nlisten_port=2');
  assert.equal(await exchange(server.path, 'get=1\n\n', 1), 'listen_port=1\nerrno=0\n\n');
  slow.destroy();
  await server.close();
});

test('a stale socket is removed and replaced; a live one is refused; a non-socket file is refused', async (t) => {
  const dir = tempDir(t);
  const path = socketPathFor(dir, 'wgu0');
  execFileSync('mkdir', ['-p', dir]);
  // A process that dies without closing leaves its socket file behind.
  execFileSync(process.execPath, [
    '-e',
    `require('net').createServer().listen(${JSON.stringify(path)}, () => process.exit(0))`,
  ]);
  assert.ok(statSync(path).isSocket());
  const server = await startUapiServer({ name: 'wgu0', handler: handler(), log: silent, dir });
  assert.equal(await exchange(path, 'get=1\n\n', 1), 'listen_port=1\nerrno=0\n\n');
  await assert.rejects(startUapiServer({ name: 'wgu0', handler: handler(), log: silent, dir }), /in use/);
  assert.equal(
    await exchange(path, 'get=1\n\n', 1),
    'listen_port=1\nerrno=0\n\n',
    'the refusal left the live one alone',
  );
  await server.close();
  writeFileSync(path, 'not a socket');
  await assert.rejects(startUapiServer({ name: 'wgu0', handler: handler(), log: silent, dir }), /not a socket/);
});

test('an interface name that could leave the directory is refused', () => {
  for (const bad of ['../x', 'a/b', '', '.', '..', 'x'.repeat(16)]) assert.throws(() => socketPathFor('/d', bad));
});

test('deleting the socket file tells the owner', async (t) => {
  const dir = tempDir(t);
  let removed!: () => void;
  const told = new Promise<void>((r) => (removed = r));
  const server = await startUapiServer({
    name: 'wgu0',
    handler: handler(),
    log: silent,
    dir,
    onSocketRemoved: removed,
  });
  unlinkSync(server.path);
  await told;
  await server.close();
});

test('wg(8) listing interfaces connects and closes without a request: the server stays up', async (t) => {
  const dir = tempDir(t);
  const server = await startUapiServer({ name: 'wgu0', handler: handler(), log: silent, dir });
  const probe = createConnection(server.path);
  await new Promise((r) => probe.on('connect', r));
  probe.destroy();
  assert.equal(await exchange(server.path, 'get=1\n\n', 1), 'listen_port=1\nerrno=0\n\n');
  await server.close();
});
