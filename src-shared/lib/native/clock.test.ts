// The boottime clock of the protocol timers. A suspend cannot be made to happen in a test, so
// this checks what can be seen without one: the clock never goes back, it counts milliseconds,
// and it never advances less than CLOCK_MONOTONIC (process.hrtime), which is what distinguishes
// CLOCK_BOOTTIME from it once the machine has slept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { boottimeMs } from './index.js';
import { sleep } from './testing.js';

// Both sides are rounded to doubles (boottime from seconds and nanoseconds, hrtime from a
// bigint of nanoseconds), so comparisons allow one microsecond.
const ROUNDING_MS = 0.001;

test('boottimeMs never goes back over many reads', () => {
  let last = boottimeMs();
  assert.ok(Number.isFinite(last) && last > 0, `boottimeMs() = ${last}`);
  for (let i = 0; i < 100_000; i++) {
    const t = boottimeMs();
    assert.ok(t >= last, `read ${i} went back from ${last} to ${t}`);
    last = t;
  }
});

test('boottimeMs advances in milliseconds and never less than CLOCK_MONOTONIC across a sleep', async () => {
  // The monotonic reads lie inside the boottime reads, so boottime must cover at least as much.
  const b0 = boottimeMs();
  const m0 = process.hrtime.bigint();
  await sleep(60);
  const m1 = process.hrtime.bigint();
  const b1 = boottimeMs();
  const monotonic = Number(m1 - m0) / 1e6;
  const boottime = b1 - b0;
  assert.ok(monotonic >= 50, `the sleep lasted ${monotonic} ms`);
  assert.ok(boottime + ROUNDING_MS >= monotonic, `boottime advanced ${boottime} ms, monotonic ${monotonic} ms`);
  // Milliseconds, not microseconds or seconds: on a running machine the two advance together
  // (the slack is for a busy scheduler between the paired reads, not a suspend).
  assert.ok(boottime < monotonic + 1000, `boottime advanced ${boottime} ms, monotonic ${monotonic} ms`);
});

test('boottimeMs is not behind CLOCK_MONOTONIC', () => {
  for (let i = 0; i < 1000; i++) {
    const m = Number(process.hrtime.bigint()) / 1e6;
    const b = boottimeMs();
    assert.ok(b + ROUNDING_MS >= m, `boottime ${b} ms is behind monotonic ${m} ms`);
  }
});
