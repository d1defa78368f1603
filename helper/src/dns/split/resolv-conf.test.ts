// Tests of writeResolvConf on real files: which path it replaces (the file a symlink points to,
// never the link), the mode it keeps, and that no temporary file is left beside it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeResolvConf } from './resolv-conf.js';

// withDir runs fn in a fresh directory with umask 022, the usual one for root.
function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'warren-resolv-'));
  const umask = process.umask(0o022);
  try {
    fn(dir);
  } finally {
    process.umask(umask);
    rmSync(dir, { recursive: true, force: true });
  }
}

test('writeResolvConf replaces a regular file, keeps its mode and leaves no temporary file', () => {
  withDir((dir) => {
    const conf = join(dir, 'resolv.conf');
    for (const mode of [0o644, 0o640, 0o600]) {
      writeFileSync(conf, 'nameserver 192.0.2.53\n');
      chmodSync(conf, mode);
      writeResolvConf(conf, `# mode ${mode.toString(8)}\n`);
      assert.equal(readFileSync(conf, 'utf8'), `# mode ${mode.toString(8)}\n`);
      assert.equal(statSync(conf).mode & 0o777, mode);
    }
    assert.deepEqual(readdirSync(dir), ['resolv.conf']);
  });
});

test('writeResolvConf creates a missing file with mode 0644', () => {
  withDir((dir) => {
    const conf = join(dir, 'resolv.conf');
    writeResolvConf(conf, 'nameserver 100.64.0.1\n');
    assert.equal(readFileSync(conf, 'utf8'), 'nameserver 100.64.0.1\n');
    assert.equal(statSync(conf).mode & 0o777, 0o644);
  });
});

test('writeResolvConf writes through a symlink to the real file, which keeps its mode, and the link stays', () => {
  withDir((dir) => {
    mkdirSync(join(dir, 'run'));
    const real = join(dir, 'run', 'stub-resolv.conf');
    writeFileSync(real, 'nameserver 127.0.0.53\n');
    chmodSync(real, 0o640);
    const link = join(dir, 'resolv.conf');
    symlinkSync(real, link);
    writeResolvConf(link, 'nameserver 100.64.0.1\n');
    assert.ok(lstatSync(link).isSymbolicLink());
    assert.equal(readlinkSync(link), real);
    assert.equal(readFileSync(real, 'utf8'), 'nameserver 100.64.0.1\n');
    assert.equal(statSync(real).mode & 0o777, 0o640);
    assert.deepEqual(readdirSync(join(dir, 'run')), ['stub-resolv.conf']);
  });
});

test('writeResolvConf replaces a dangling symlink with a regular 0644 file at the path', () => {
  withDir((dir) => {
    const link = join(dir, 'resolv.conf');
    symlinkSync(join(dir, 'gone', 'resolv.conf'), link);
    writeResolvConf(link, 'nameserver 100.64.0.1\n');
    assert.ok(lstatSync(link).isFile());
    assert.equal(readFileSync(link, 'utf8'), 'nameserver 100.64.0.1\n');
    assert.equal(statSync(link).mode & 0o777, 0o644);
  });
});
