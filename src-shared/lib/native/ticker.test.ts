// The wake ticker: WARREN_WAKE_TICKER's values; started, it is one more thread of the process
// in SCHED_IDLE (read back from /proc/self/task/TID/stat, field 41 "policy", proc(5)) that
// sleeps until a poll-mode reader wakes, then ticks for its window and stops ticking; stopped,
// its thread is gone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeFd, startReader, udpOpen, udpSend, wakeTicker, wakeTickerStats, wakeTickerWish } from './index.js';
import { LOOPBACK, SCHED_IDLE, sleep, threadPolicies, waitFor } from './testing.js';

function send(fd: number, text: string, port: number): void {
  const b = Buffer.from(text);
  assert.ok(udpSend(fd, b, 0, b.length, LOOPBACK, 0, port), 'sent');
}

test('WARREN_WAKE_TICKER: off by default, on/off and their synonyms, anything else refused', () => {
  assert.equal(wakeTickerWish({}), false);
  assert.equal(wakeTickerWish({ WARREN_WAKE_TICKER: '' }), false);
  for (const v of ['on', 'ON', 'true', '1']) assert.equal(wakeTickerWish({ WARREN_WAKE_TICKER: v }), true, v);
  for (const v of ['off', 'Off', 'false', '0']) assert.equal(wakeTickerWish({ WARREN_WAKE_TICKER: v }), false, v);
  assert.throws(() => wakeTickerWish({ WARREN_WAKE_TICKER: 'of' }), /WARREN_WAKE_TICKER="of": expected 'on' or 'off'/);
});

test('the wake ticker is an idle-class thread that ticks only in the window after a reader wakes, and is joined when stopped', async () => {
  const before = threadPolicies();
  let tickerTid = 0;
  assert.equal(wakeTicker(true), true);
  const rx = udpOpen('127.0.0.1', 0);
  const tx = udpOpen('127.0.0.1', 0);
  let batches = 0;
  const reader = startReader(rx.fd, 'udp', { maxBatch: 4, slotSize: 256, headroom: 0, pool: 1, mode: 'poll' }, () => {
    batches++;
  });
  try {
    // Other threads may start meanwhile (libuv's pool, V8's workers), all in the normal class.
    const idleAdded = [...threadPolicies()].filter(([tid, policy]) => !before.has(tid) && policy === SCHED_IDLE);
    assert.equal(idleAdded.length, 1, 'exactly one new thread in SCHED_IDLE');
    tickerTid = idleAdded[0]![0];
    await sleep(50);
    const idle = wakeTickerStats();
    assert.equal(idle.running, true);
    assert.equal(idle.windows, 0, 'no window without a wake-up');
    assert.equal(idle.ticks, 0, 'an unwoken ticker sleeps');
    assert.equal(idle.ticking, false);

    send(tx.fd, 'wake', rx.port);
    await waitFor(() => batches > 0, 5000, 'the datagram');
    await waitFor(() => wakeTickerStats().ticks > 0, 5000, 'the first tick');
    assert.equal(wakeTickerStats().windows, 1, 'one wake-up began one window');
    // The window is 20 ms after the last wake-up; once it is over the count stands still. (An
    // idle-class thread may wait long for a core on a busy machine, so wait for it to say so.)
    await waitFor(() => !wakeTickerStats().ticking, 10_000, 'the end of the window');
    const settled = wakeTickerStats().ticks;
    await sleep(100);
    assert.equal(wakeTickerStats().ticks, settled, 'no ticks after the window');
    // At 50 µs a tick the window holds at most 400, and the sleep that crosses its end one
    // more; the timer slack makes fewer.
    assert.ok(settled <= 401, `${settled} ticks in one 20 ms window`);

    send(tx.fd, 'again', rx.port);
    await waitFor(() => wakeTickerStats().windows === 2, 5000, 'a second window');
  } finally {
    reader.stop();
    closeFd(rx.fd);
    closeFd(tx.fd);
    assert.equal(wakeTicker(false), false);
  }
  assert.equal(wakeTickerStats().running, false);
  assert.ok(tickerTid > 0);
  assert.equal(threadPolicies().has(tickerTid), false, 'the ticker thread was joined');
  assert.equal(wakeTicker(false), false, 'stopping a stopped ticker is a no-op');
});
