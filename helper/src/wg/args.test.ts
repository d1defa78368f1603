import { test } from 'node:test';
import assert from 'node:assert/strict';
import { logVerbosity, parseCommand } from './args.js';

test("the command line is wireguard-go's: [-f|--foreground] NAME, --version, --help", () => {
  assert.deepEqual(parseCommand(['wg0'], {}), { kind: 'run', name: 'wg0', foreground: false });
  assert.deepEqual(parseCommand(['-f', 'wg0'], {}), { kind: 'run', name: 'wg0', foreground: true });
  assert.deepEqual(parseCommand(['--foreground', 'wg0'], {}), { kind: 'run', name: 'wg0', foreground: true });
  assert.deepEqual(parseCommand(['--version'], {}), { kind: 'version' });
  assert.deepEqual(parseCommand(['--help'], {}), { kind: 'help' });
});

test('WG_PROCESS_FOREGROUND=1 keeps the process in the foreground, as wireguard-go', () => {
  assert.deepEqual(parseCommand(['wg0'], { WG_PROCESS_FOREGROUND: '1' }), {
    kind: 'run',
    name: 'wg0',
    foreground: true,
  });
  assert.equal((parseCommand(['wg0'], { WG_PROCESS_FOREGROUND: '0' }) as { foreground: boolean }).foreground, false);
});

test('missing, extra and unsafe names are usage errors', () => {
  for (const argv of [[], ['-f'], ['a', 'b'], ['-x', 'wg0'], ['../etc'], ['a/b'], ['x'.repeat(16)], ['..']]) {
    assert.equal(parseCommand(argv, {}).kind, 'usage-error', JSON.stringify(argv));
  }
});

test('LOG_LEVEL: error by default, verbose and debug log decisions, silent nothing', () => {
  assert.equal(logVerbosity({}), 0);
  assert.equal(logVerbosity({ LOG_LEVEL: 'error' }), 0);
  assert.equal(logVerbosity({ LOG_LEVEL: 'verbose' }), 3);
  assert.equal(logVerbosity({ LOG_LEVEL: 'debug' }), 3);
  assert.equal(logVerbosity({ LOG_LEVEL: 'silent' }), -1);
});
