// The data path's threads and the JS thread's slice: the first user starts them and asks for
// the short slice, the last release joins them and gives the default slice back, the wake
// ticker runs only when WARREN_WAKE_TICKER=on asks for it, WARREN_JS_SLICE=off keeps the
// default, and a bad switch throws before anything starts. The slice is read back from the
// kernel (/proc/thread-self/sched), the threads from the addon's stats.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { acquireDataPathThreads, dataPathThreads } from './data-path-threads.js';
import { JS_SLICE_NS } from '../../../../src-shared/lib/native/slice.js';
import { customSlices, threadSliceNs } from '../../../../src-shared/lib/native/testing.js';

const kernelSlices = customSlices();
const NO_SLICES = 'this kernel has no custom slices for fair threads (Linux 6.12 and later)';

test('the first device asks for the short slice and the last release gives the default back', (t) => {
  if (!kernelSlices) return t.skip(NO_SLICES);
  const dflt = threadSliceNs();
  const first = acquireDataPathThreads({ WARREN_THREADS: 'off', WARREN_WAKE_TICKER: 'on' });
  const second = acquireDataPathThreads({ WARREN_THREADS: 'off' });
  try {
    assert.equal(threadSliceNs(), JS_SLICE_NS);
    assert.equal(dataPathThreads().jsSliceUs, JS_SLICE_NS / 1000);
    assert.equal(dataPathThreads().wakeTicker, true);
    first();
    first(); // a second call of the same release does nothing
    assert.equal(threadSliceNs(), JS_SLICE_NS, 'kept while a device still runs');
  } finally {
    second();
  }
  assert.equal(threadSliceNs(), dflt, 'the default is back');
  assert.deepEqual(
    { jsSliceUs: dataPathThreads().jsSliceUs, wakeTicker: dataPathThreads().wakeTicker },
    { jsSliceUs: 0, wakeTicker: false },
  );
});

test('the wake ticker runs only when WARREN_WAKE_TICKER asks for it', () => {
  const release = acquireDataPathThreads({ WARREN_THREADS: 'off' });
  try {
    assert.equal(dataPathThreads().wakeTicker, false, 'off by default');
  } finally {
    release();
  }
  const asked = acquireDataPathThreads({ WARREN_THREADS: 'off', WARREN_WAKE_TICKER: 'on' });
  try {
    assert.equal(dataPathThreads().wakeTicker, true, 'on when asked for');
  } finally {
    asked();
  }
  assert.equal(dataPathThreads().wakeTicker, false, 'joined by the last release');
});

test('WARREN_JS_SLICE=off keeps the kernel’s default slice', (t) => {
  if (!kernelSlices) return t.skip(NO_SLICES);
  const dflt = threadSliceNs();
  const release = acquireDataPathThreads({ WARREN_THREADS: 'off', WARREN_JS_SLICE: 'off' });
  try {
    assert.equal(threadSliceNs(), dflt);
    assert.equal(dataPathThreads().jsSliceUs, 0);
  } finally {
    release();
  }
});

test('a bad WARREN_JS_SLICE throws before any thread starts or the slice changes', () => {
  const dflt = threadSliceNs();
  assert.throws(() => acquireDataPathThreads({ WARREN_THREADS: '2', WARREN_JS_SLICE: 'yes' }), /WARREN_JS_SLICE/);
  assert.equal(threadSliceNs(), dflt);
  assert.deepEqual(dataPathThreads(), { cryptoThreads: 1, cryptoWorkerPackets: 0, wakeTicker: false, jsSliceUs: 0 });
});
