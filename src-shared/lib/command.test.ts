import { test } from 'node:test';
import assert from 'node:assert/strict';
import { commandError, mustRunSync, runCommand, runCommandSync } from './command.js';

test('runCommand passes stdin and returns stdout of a program that succeeds', async () => {
  const r = await runCommand('cat', [], 'through stdin\n');
  assert.deepEqual(r, { ok: true, stdout: 'through stdin\n', stderr: '', missing: false });
});

test('runCommand reports a failing program with its stderr, and a missing one as missing', async () => {
  const bad = await runCommand('sh', ['-c', 'echo broken >&2; exit 3']);
  assert.equal(bad.ok, false);
  assert.equal(bad.stderr.trim(), 'broken');
  assert.equal(bad.missing, false);
  const missing = await runCommand('warren-no-such-program', []);
  assert.equal(missing.ok, false);
  assert.equal(missing.missing, true);
});

test('runCommandSync reports like runCommand', () => {
  assert.deepEqual(runCommandSync('cat', [], 'x'), { ok: true, stdout: 'x', stderr: '', missing: false });
  const bad = runCommandSync('sh', ['-c', 'echo no route >&2; exit 2']);
  assert.equal(bad.ok, false);
  assert.equal(bad.stderr, 'no route');
  assert.equal(runCommandSync('warren-no-such-program', []).missing, true);
});

test('mustRunSync throws "cmd args: why", or the install hint when the program is missing', () => {
  assert.equal(mustRunSync('echo', ['hi'], 'install echo'), 'hi\n');
  assert.throws(() => mustRunSync('sh', ['-c', 'echo nope >&2; exit 1'], 'install sh'), { message: 'sh -c echo nope >&2; exit 1: nope' });
  assert.throws(() => mustRunSync('warren-no-such-program', ['a'], 'install the warren-tools package'), { message: 'install the warren-tools package' });
  assert.equal(commandError('ip', ['link'], { ok: false, stdout: '', stderr: '', missing: false }, 'hint').message, 'ip link: failed');
});
