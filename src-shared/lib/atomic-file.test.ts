import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileExistsError, readJsonState, writeFileAtomic, writeJsonState } from './atomic-file.js';

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'warren-atomic-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('writeFileAtomic replaces the content, makes the file 0600 and leaves no temporary file', () => {
  withDir((dir) => {
    const p = join(dir, 'state.json');
    writeFileSync(p, 'old');
    writeFileAtomic(p, 'new');
    assert.equal(readFileSync(p, 'utf8'), 'new');
    assert.equal(statSync(p).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(dir), ['state.json']);
  });
});

test('writeFileAtomic with overwrite false refuses an existing file and keeps it whole', () => {
  withDir((dir) => {
    const p = join(dir, 'profile');
    writeFileAtomic(p, 'first', { overwrite: false });
    assert.throws(() => writeFileAtomic(p, 'second', { overwrite: false }), FileExistsError);
    assert.equal(readFileSync(p, 'utf8'), 'first');
    assert.deepEqual(readdirSync(dir), ['profile']);
  });
});

test('writeFileAtomic replaces a symbolic link at the target instead of writing through it', () => {
  withDir((dir) => {
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'precious');
    const p = join(dir, 'state.json');
    symlinkSync(victim, p);
    writeFileAtomic(p, 'state');
    assert.equal(readFileSync(victim, 'utf8'), 'precious');
    assert.ok(lstatSync(p).isFile());
    assert.equal(readFileSync(p, 'utf8'), 'state');
  });
});

test('writeFileAtomic into a missing directory fails and creates nothing', () => {
  withDir((dir) => {
    assert.throws(() => writeFileAtomic(join(dir, 'no', 'such'), 'x'), { code: 'ENOENT' });
    assert.deepEqual(readdirSync(dir), []);
  });
});

test('writeFileAtomic gives the new file the mode asked for (through the umask, like open(2))', () => {
  withDir((dir) => {
    const old = process.umask(0o022);
    try {
      const p = join(dir, 'resolv.conf');
      writeFileSync(p, 'old', { mode: 0o600 });
      writeFileAtomic(p, 'shared', { mode: 0o664 });
      assert.equal(statSync(p).mode & 0o777, 0o644);
      writeFileAtomic(p, 'private', { mode: 0o640 });
      assert.equal(statSync(p).mode & 0o777, 0o640);
      assert.equal(readFileSync(p, 'utf8'), 'private');
    } finally {
      process.umask(old);
    }
  });
});

test('writeFileAtomic with exactMode gives the file exactly that mode, also under umask 077', () => {
  withDir((dir) => {
    const old = process.umask(0o077);
    try {
      const p = join(dir, 'warren.state.json');
      writeFileAtomic(p, 'readable', { mode: 0o644, exactMode: true });
      assert.equal(statSync(p).mode & 0o777, 0o644);
      writeFileAtomic(p, 'through the umask', { mode: 0o644 });
      assert.equal(statSync(p).mode & 0o777, 0o600);
    } finally {
      process.umask(old);
    }
  });
});

test('writeFileAtomic passes on a failed rename with its error code and removes its temporary file', () => {
  withDir((dir) => {
    const p = join(dir, 'taken');
    mkdirSync(p);
    writeFileSync(join(p, 'inside'), 'x');
    assert.throws(() => writeFileAtomic(p, 'x'), { code: 'EISDIR' });
    assert.deepEqual(readdirSync(dir), ['taken']);
  });
});

test('writeJsonState makes its directory 0700; readJsonState reads it back and gives null for anything untrustworthy', () => {
  withDir((dir) => {
    const d = join(dir, 'state');
    writeJsonState(d, 'helper.json', { pid: 7, adapter: 'warren0' });
    assert.equal(statSync(d).mode & 0o777, 0o700);
    assert.deepEqual(readJsonState(join(d, 'helper.json')), { pid: 7, adapter: 'warren0' });
    assert.equal(readJsonState(join(d, 'absent.json')), null);
    writeFileSync(join(d, 'garbled.json'), '{"pid": ');
    assert.equal(readJsonState(join(d, 'garbled.json')), null);
    writeFileSync(join(d, 'big.json'), JSON.stringify({ pad: 'x'.repeat(2000) }));
    assert.equal(readJsonState(join(d, 'big.json'), 1000), null);
    writeFileSync(join(d, 'null.json'), 'null');
    assert.equal(readJsonState(join(d, 'null.json')), null);
  });
});
