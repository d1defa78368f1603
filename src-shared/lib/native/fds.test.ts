// Opening and closing descriptors: name and address validation, errno errors with `.code`, the
// bound port, and SO_PEERCRED on a real Unix socket connection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeFd, peerCredentials, tunOpen, udpOpen } from './index.js';

// These are refused before any system call, so they need no privileges.
const badNames: Array<[string, unknown, typeof TypeError | typeof RangeError]> = [
  ['16 bytes', 'a'.repeat(16), RangeError],
  ['a slash', 'wg/0', RangeError],
  ['a space', 'wg 0', RangeError],
  ['a colon', 'wg:0', RangeError],
  ['a newline', 'wg\n', RangeError],
  ['an embedded NUL', 'wg\u00000', RangeError],
  ['"."', '.', RangeError],
  ['".."', '..', RangeError],
  ['non-ASCII', 'wgé', RangeError],
  ['not a string', 42, TypeError],
];
for (const [what, name, type] of badNames) {
  test(`tunOpen refuses a name with ${what}`, () => {
    assert.throws(() => tunOpen(name as string), type);
  });
}

test('udpOpen binds an ephemeral port and refuses a port in use with EADDRINUSE', () => {
  const a = udpOpen('127.0.0.1', 0);
  try {
    assert.ok(a.port > 0 && a.port < 65536);
    assert.ok(Number.isInteger(a.fd) && a.fd > 2);
    assert.throws(
      () => udpOpen('127.0.0.1', a.port),
      (e: NodeJS.ErrnoException) =>
        e.code === 'EADDRINUSE' && e.message === `bind 127.0.0.1:${a.port}: Address already in use`,
    );
  } finally {
    closeFd(a.fd);
  }
});

const badBinds: Array<[string, unknown, unknown, typeof TypeError | typeof RangeError]> = [
  ['a short address', '127.0.1', 0, TypeError],
  ['an IPv6 address with a zone', 'fe80::1%lo', 0, TypeError],
  ['an IPv4-mapped text with junk', '::ffff:1.2.3.4x', 0, TypeError],
  ['a host name', 'localhost', 0, TypeError],
  ['port 65536', '127.0.0.1', 65536, RangeError],
  ['port -1', '127.0.0.1', -1, RangeError],
  ['a fractional port', '127.0.0.1', 1.5, RangeError],
  ['a string port', '127.0.0.1', '53', TypeError],
];
for (const [what, addr, port, type] of badBinds) {
  test(`udpOpen refuses ${what}`, () => {
    assert.throws(() => udpOpen(addr as string, port as number), type);
  });
}

test('closeFd of a closed descriptor throws EBADF naming the descriptor', () => {
  const a = udpOpen('127.0.0.1', 0);
  closeFd(a.fd);
  assert.throws(
    () => closeFd(a.fd),
    (e: NodeJS.ErrnoException) => e.code === 'EBADF' && e.message === `close fd ${a.fd}: Bad file descriptor`,
  );
  assert.throws(() => closeFd(-1), RangeError);
});

/** fdOf reads the descriptor of a net.Socket (Node keeps it on the internal handle). */
function fdOf(s: net.Socket): number {
  const fd = (s as unknown as { _handle?: { fd?: number } })._handle?.fd;
  assert.ok(typeof fd === 'number' && fd >= 0, 'socket has a descriptor');
  return fd;
}

test('peerCredentials reports the process at the other end of a Unix socket', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'warren-native-'));
  const server = net.createServer();
  try {
    const path = join(dir, 's.sock');
    server.listen(path);
    await once(server, 'listening');
    const accepted = once(server, 'connection');
    const client = net.connect(path);
    const [conn] = (await accepted) as [net.Socket];
    try {
      assert.deepEqual(peerCredentials(fdOf(conn)), {
        pid: process.pid,
        uid: process.getuid!(),
        gid: process.getgid!(),
      });
    } finally {
      conn.destroy();
      client.destroy();
    }
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('peerCredentials refuses sockets that have no peer credentials', () => {
  const u = udpOpen('127.0.0.1', 0);
  try {
    assert.throws(
      () => peerCredentials(u.fd),
      (e: NodeJS.ErrnoException) => e.code === 'EAFNOSUPPORT',
    );
  } finally {
    closeFd(u.fd);
  }
});
