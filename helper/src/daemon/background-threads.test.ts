// The switch of idleBackgroundThreads: off unless WARREN_BACKGROUND_THREADS=idle, and a failure
// to change the class is logged, never thrown (the helper runs on without it). What the native
// call does to the threads is checked in src-shared/lib/native/sched.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backgroundThreadsIdle, idleBackgroundThreads } from './background-threads.js';
import { createLogger } from '../../../src-shared/lib/log.js';

/** logTo is a logger at debug level that writes into lines. */
function logTo(lines: string[]) {
  return createLogger(3, { write: (s: string) => void lines.push(s) });
}

test('background threads are idled only with WARREN_BACKGROUND_THREADS=idle', () => {
  assert.equal(backgroundThreadsIdle({}), false);
  assert.equal(backgroundThreadsIdle({ WARREN_BACKGROUND_THREADS: 'normal' }), false);
  assert.equal(backgroundThreadsIdle({ WARREN_BACKGROUND_THREADS: 'IDLE' }), false);
  assert.equal(backgroundThreadsIdle({ WARREN_BACKGROUND_THREADS: 'idle' }), true);
  let calls = 0;
  idleBackgroundThreads({}, logTo([]), () => ++calls);
  assert.equal(calls, 0, 'unset: the threads are not touched');
  const lines: string[] = [];
  idleBackgroundThreads({ WARREN_BACKGROUND_THREADS: 'idle' }, logTo(lines), () => ++calls + 3);
  assert.equal(calls, 1);
  assert.match(lines.join(''), /4 background threads .* SCHED_IDLE/);
});

test('a failure to idle the background threads is a warning, not an error', () => {
  const lines: string[] = [];
  assert.doesNotThrow(() =>
    idleBackgroundThreads({ WARREN_BACKGROUND_THREADS: 'idle' }, logTo(lines), () => {
      throw new Error('sched_setscheduler SCHED_IDLE: Operation not permitted');
    }),
  );
  assert.match(lines.join(''), /keep the normal scheduling class: .*not permitted/);
});
