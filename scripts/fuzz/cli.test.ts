// The fuzz command line answers like the project's other CLIs: --help prints the usage and
// exits 0; a mistake prints one line naming it, then where the usage is, and exits 2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

function run(...argv: string[]) {
  return spawnSync(process.execPath, [MAIN, ...argv], { encoding: 'utf8', timeout: 20_000 });
}

test('fuzz --help prints the usage with every option and exits 0', () => {
  const r = run('--help');
  assert.equal(r.status, 0, r.stderr);
  for (const opt of ['--seconds', '--only', '--seed', '--hang-seconds', '--outcomes', '--replay', '--list'])
    assert.ok(r.stdout.includes(opt), `usage names ${opt}`);
});

test('fuzz with an unknown option names it in one line and exits 2 without running a harness', () => {
  const r = run('--bogus');
  assert.equal(r.status, 2);
  assert.equal(r.stdout, '');
  assert.deepEqual(r.stderr.trim().split('\n'), [
    "Unknown option '--bogus'",
    "Run 'npm run fuzz -- --help' for usage.",
  ]);
});

test('fuzz refuses a --seconds that is not a whole number', () => {
  const r = run('--seconds', 'x', '--only', 'dns');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^--seconds x: give a whole number of at least 1\n/);
});
