// The JS thread's scheduler slice: WARREN_JS_SLICE's values; threadSlice sets the calling
// thread's slice and only its own, keeps its policy and nice value, and 0 gives the default
// back. The slice is read back from the kernel (`se.slice` in /proc/thread-self/sched), not
// from the addon.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { JS_SLICE_NS, jsSliceWish, threadSlice } from './slice.js';
import { findAddon } from './load.js';
import { customSlices, threadSliceNs } from './testing.js';

test('WARREN_JS_SLICE: on by default, off when switched off, a typo refused', () => {
  assert.equal(jsSliceWish({}), true);
  assert.equal(jsSliceWish({ WARREN_JS_SLICE: 'off' }), false);
  assert.throws(() => jsSliceWish({ WARREN_JS_SLICE: 'short' }), /WARREN_JS_SLICE="short": expected 'on' or 'off'/);
});

test('threadSlice refuses a negative, NaN or over-long slice', () => {
  for (const bad of [-1, Number.NaN, 2e9]) assert.throws(() => threadSlice(bad), RangeError, String(bad));
});

test('threadSlice sets the calling thread’s slice and 0 gives the default back', (t) => {
  if (!customSlices()) return t.skip('this kernel has no custom slices for fair threads (Linux 6.12 and later)');
  const before = threadSliceNs();
  assert.ok(before !== null && before > JS_SLICE_NS, `default slice ${before}`);
  assert.equal(threadSlice(JS_SLICE_NS), JS_SLICE_NS);
  assert.equal(threadSliceNs(), JS_SLICE_NS, 'the kernel reports the short slice');
  assert.equal(threadSliceNs(`/proc/${process.pid}/sched`), JS_SLICE_NS, 'the main thread is this one');
  assert.equal(threadSlice(0), before, 'the default comes back');
  assert.equal(threadSliceNs(), before);
});

test('threadSlice keeps the thread’s nice value and policy and leaves the other threads alone', (t) => {
  if (!customSlices()) return t.skip('this kernel has no custom slices for fair threads (Linux 6.12 and later)');
  // In a child, so that this process's nice value stays as it is.
  const script = `
    const { setPriority } = require('node:os');
    const { readFileSync, readdirSync } = require('node:fs');
    const addon = require(${JSON.stringify(findAddon(dirname(fileURLToPath(import.meta.url))))});
    const slice = (p) => Number(/^se\\.slice\\s*:\\s*(\\d+)/m.exec(readFileSync(p, 'utf8'))[1]);
    const others = () => readdirSync('/proc/self/task').filter((t) => Number(t) !== process.pid)
      .map((t) => slice('/proc/self/task/' + t + '/sched'));
    setPriority(0, 7);
    const granted = addon.threadSlice(${JS_SLICE_NS});
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    console.log(JSON.stringify({ granted, slice: slice('/proc/thread-self/sched'), nice: Number(f[16]), policy: Number(f[38]), others: others() }));`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as {
    granted: number;
    slice: number;
    nice: number;
    policy: number;
    others: number[];
  };
  assert.equal(out.granted, JS_SLICE_NS);
  assert.equal(out.slice, JS_SLICE_NS);
  assert.equal(out.nice, 7, 'nice value kept');
  assert.equal(out.policy, 0, 'still SCHED_OTHER');
  assert.ok(out.others.length > 0, 'the child has other threads');
  for (const s of out.others) assert.notEqual(s, JS_SLICE_NS, 'another thread kept its slice');
});
