// Tests of the data directory's files on disk: modes, what is created once and kept, and
// serve.json written atomically and removed only by the process it names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DATA_FILES,
  ensureDataDir,
  loadOrCreateToken,
  readServeInfo,
  removeServeInfo,
  writeServeInfo,
} from './data-dir.js';

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'warren-data-dir-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('ensureDataDir creates the directory 0700 and tightens one that others can read', () => {
  withDir((base) => {
    const dir = join(base, 'data');
    assert.deepEqual(ensureDataDir(dir), { created: true, tightened: false });
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    chmodSync(dir, 0o755);
    assert.deepEqual(ensureDataDir(dir), { created: false, tightened: true });
    assert.equal(statSync(dir).mode & 0o777, 0o700);
  });
});

test('loadOrCreateToken makes one 0600 token, reads the same one back and refuses a damaged file', () => {
  withDir((dir) => {
    const token = loadOrCreateToken(dir);
    // 256 random bits behind a prefix, so a token never starts with '-' (an option parser would
    // take `--token -X...` for two options).
    assert.match(token, /^wrn_[A-Za-z0-9_-]{43}$/);
    const file = join(dir, DATA_FILES.adminToken);
    assert.equal(readFileSync(file, 'utf8'), `${token}\n`);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(loadOrCreateToken(dir), token);
    assert.deepEqual(readdirSync(dir), [DATA_FILES.adminToken]);
    writeFileSync(file, 'short\n');
    assert.throws(() => loadOrCreateToken(dir), /does not hold an admin token; delete it to make a new one/);
    assert.equal(readFileSync(file, 'utf8'), 'short\n');
  });
});

test('writeServeInfo writes serve.json 0600 with no temporary file left; only the named process removes it', () => {
  withDir((dir) => {
    writeServeInfo(dir, { url: 'http://127.0.0.1:1', pid: 1 });
    const info = {
      url: 'https://127.0.0.1:8443',
      pid: 4242,
      tlsCert: '/etc/warren/cert.pem',
      udpPort: 3478,
      relayTcpPort: 3479,
    };
    writeServeInfo(dir, info);
    const file = join(dir, DATA_FILES.serve);
    assert.equal(readFileSync(file, 'utf8'), `${JSON.stringify(info)}\n`);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(dir), [DATA_FILES.serve]);
    assert.deepEqual(readServeInfo(dir), info);
    removeServeInfo(dir, 4243);
    assert.deepEqual(readServeInfo(dir), info, 'another process does not remove it');
    removeServeInfo(dir, 4242);
    assert.equal(readServeInfo(dir), null);
  });
});
