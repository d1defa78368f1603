import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../../src-shared/lib/log.js';
import { waitFor } from '../../../src-shared/lib/native/testing.js';
import { AddressWatch, type AddressWatchOptions } from './address-watch.js';

const quiet = createLogger(0, { write: () => true });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** lab is a watch over a list of addresses the test changes, recording every report. */
function lab(over: Partial<AddressWatchOptions> = {}) {
  const state = { addresses: ['192.0.2.1'], sent: [] as string[][], accept: true };
  const w = new AddressWatch({
    read: () => ({ key: state.addresses.join(','), value: [...state.addresses] }),
    report: async (v) => {
      state.sent.push(v as string[]);
      return state.accept;
    },
    log: quiet,
    monitor: null,
    debounceMs: 50,
    minGapMs: 0,
    pollMs: 60_000,
    ...over,
  });
  return { state, w };
}

test('a burst of change events makes one report, of the addresses as they are after the burst', async () => {
  const { state, w } = lab();
  w.start();
  w.reported('192.0.2.1');
  for (let i = 0; i < 20; i++) {
    state.addresses = ['192.0.2.1', `2001:db8::${i + 1}`];
    w.changed();
    await sleep(5);
  }
  await sleep(200);
  w.stop();
  assert.deepEqual(state.sent, [['192.0.2.1', '2001:db8::20']]);
});

test('events that change nothing the coordinator holds report nothing', async () => {
  const { state, w } = lab();
  w.start();
  w.reported('192.0.2.1');
  w.changed();
  await sleep(150);
  w.stop();
  assert.deepEqual(state.sent, []);
});

test('reports are spaced by minGapMs, and the later one carries the latest addresses', async () => {
  const { state, w } = lab({ minGapMs: 400 });
  w.start();
  state.addresses = ['192.0.2.2'];
  w.changed();
  await sleep(120);
  assert.equal(state.sent.length, 1);
  state.addresses = ['192.0.2.3'];
  w.changed();
  await sleep(150);
  assert.equal(state.sent.length, 1, 'no second report inside the gap');
  await sleep(400);
  w.stop();
  assert.deepEqual(state.sent, [['192.0.2.2'], ['192.0.2.3']]);
});

test('a report the coordinator did not take is sent again on the next event', async () => {
  const { state, w } = lab();
  w.start();
  state.accept = false;
  state.addresses = ['192.0.2.9'];
  w.changed();
  await sleep(120);
  state.accept = true;
  w.changed();
  await sleep(120);
  w.changed();
  await sleep(120);
  w.stop();
  assert.deepEqual(state.sent, [['192.0.2.9'], ['192.0.2.9']]);
});

test('the periodic re-read reports a change no event announced', async () => {
  const { state, w } = lab({ pollMs: 100 });
  w.start();
  w.reported('192.0.2.1');
  state.addresses = ['198.51.100.7'];
  await sleep(300);
  w.stop();
  assert.deepEqual(state.sent, [['198.51.100.7']]);
});

test("the monitor child's output triggers a check, a monitor that exits is restarted, stop kills it", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'warren-addrwatch-'));
  const starts = join(dir, 'starts');
  try {
    // Each run notes its pid, prints one event, and the first run exits soon after.
    const script = `
      const fs = require('node:fs');
      fs.appendFileSync(${JSON.stringify(starts)}, process.pid + '\\n');
      const first = fs.readFileSync(${JSON.stringify(starts)}, 'utf8').trim().split('\\n').length === 1;
      setTimeout(() => process.stdout.write('2: eth0 inet6 2001:db8::5/64 scope global\\n'), 100);
      setTimeout(() => { if (first) process.exit(0); }, 200);
      setInterval(() => {}, 1000);`;
    appendFileSync(starts, '');
    const { state, w } = lab({ monitor: [process.execPath, '-e', script], restartMs: 100 });
    w.start();
    w.reported('192.0.2.1');
    state.addresses = ['2001:db8::5'];
    // Deadlines, not fixed sleeps: a node child can take a second to start on a loaded machine.
    const pidsNow = () => readFileSync(starts, 'utf8').trim().split('\n').filter(Boolean).map(Number);
    await waitFor(() => state.sent.length > 0, 10_000, 'the report an event triggers');
    assert.deepEqual(state.sent, [['2001:db8::5']], 'the event made the report');
    await waitFor(() => pidsNow().length >= 2, 10_000, 'the monitor to run again after it exited');
    const pids = pidsNow();
    assert.equal(pids.length, 2, 'the monitor ran again after it exited, once');
    w.stop();
    await waitFor(() => !alive(pids[1]!), 5000, 'stop to kill the running monitor');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a monitor command that cannot run leaves the periodic re-read working', async () => {
  const { state, w } = lab({ monitor: ['/nonexistent/warren-monitor'], pollMs: 100, restartMs: 60_000 });
  w.start();
  w.reported('192.0.2.1');
  state.addresses = ['203.0.113.4'];
  await sleep(300);
  w.stop();
  assert.deepEqual(state.sent, [['203.0.113.4']]);
});
