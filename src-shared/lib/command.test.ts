import { test } from 'node:test';
import assert from 'node:assert/strict';
import { commandError, mustRunSync, runCommand, runCommandExit, runCommandSync } from './command.js';

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
  assert.throws(() => mustRunSync('sh', ['-c', 'echo nope >&2; exit 1'], 'install sh'), {
    message: 'sh -c echo nope >&2; exit 1: nope',
  });
  assert.throws(() => mustRunSync('warren-no-such-program', ['a'], 'install the warren-tools package'), {
    message: 'install the warren-tools package',
  });
  assert.equal(
    commandError('ip', ['link'], { ok: false, stdout: '', stderr: '', missing: false }, 'hint').message,
    'ip link: failed',
  );
});

test('runCommandExit reports the exit status and exactly what the program printed on stderr', async () => {
  const silent = await runCommandExit('sh', ['-c', 'exit 5']);
  assert.deepEqual(
    { ...silent, failure: silent.failure.length > 0 },
    {
      ok: false,
      stdout: '',
      stderr: '',
      code: 5,
      missing: false,
      killed: false,
      failure: true,
    },
  );
  const said = await runCommandExit('sh', ['-c', 'echo out; echo not found >&2; exit 4']);
  assert.equal(said.code, 4);
  assert.equal(said.stdout, 'out\n');
  assert.equal(said.stderr, 'not found\n');
  const fine = await runCommandExit('cat', [], { input: 'in' });
  assert.deepEqual(fine, { ok: true, stdout: 'in', stderr: '', code: 0, missing: false, killed: false, failure: '' });
  const missing = await runCommandExit('warren-no-such-program', []);
  assert.equal(missing.missing, true);
  assert.equal(missing.code, null);
});

test('runCommandExit kills a program that runs past its timeout, and stops one that prints past its bound', async () => {
  const started = Date.now();
  const slow = await runCommandExit('sleep', ['5'], { timeoutMs: 200 });
  assert.equal(slow.ok, false);
  assert.equal(slow.killed, true);
  assert.equal(slow.code, null);
  assert.ok(Date.now() - started < 4000, 'stopped well before it would have finished');
  const loud = await runCommandExit('sh', ['-c', 'head -c 5000 /dev/zero'], { maxOutputBytes: 1000 });
  assert.equal(loud.ok, false);
  assert.equal(loud.code, null);
  assert.match(loud.failure, /maxBuffer/);
  const quick = await runCommandExit('true', [], { timeoutMs: 200 });
  assert.equal(quick.killed, false);
});

test("runCommand falls back to Node's account of the failure when the program printed nothing", async () => {
  const r = await runCommand('sh', ['-c', 'exit 7']);
  assert.equal(r.ok, false);
  assert.match(r.stderr, /^Command failed: sh -c exit 7/);
});
