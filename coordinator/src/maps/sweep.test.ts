import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sweep, type SweepDone } from './sweep.js';

test('a sweep yields to the event loop between slices, and each slice ends before the next begins', async () => {
  const slices: number[][] = [];
  let current: number[] | null = null;
  const events: string[] = [];
  let done: SweepDone | null = null;
  const finished = new Promise<void>((resolve) => {
    // A zero budget: each slice steps one item, then yields.
    const sweep = new Sweep(
      [1, 2, 3, 4],
      (n) => {
        current!.push(n);
        events.push(`step ${n}`);
        // Queued now, this must run before the sweep's next slice (I/O and immediates get a turn).
        setImmediate(() => events.push(`turn after ${n}`));
      },
      (run) => {
        current = [];
        run();
        slices.push(current);
        current = null;
      },
      (d) => {
        done = d;
        resolve();
      },
      0,
    );
    sweep.start();
    assert.ok(sweep.running, 'the sweep goes on after its first slice');
    assert.deepEqual(events, ['step 1'], 'start computes only the first slice');
  });
  await finished;
  assert.deepEqual(slices, [[1], [2], [3], [4]]);
  assert.deepEqual(events.slice(0, 6), ['step 1', 'turn after 1', 'step 2', 'turn after 2', 'step 3', 'turn after 3']);
  assert.equal(done!.stepped, 4);
  assert.equal(done!.slices, 4);
  assert.ok(done!.wallMs >= done!.busyMs);
});

test('drain finishes a sweep at once and cancel stops one without finishing it', async () => {
  const stepped: number[] = [];
  let doneCalls = 0;
  const a = new Sweep(
    [1, 2, 3],
    (n) => stepped.push(n),
    (run) => run(),
    () => doneCalls++,
    0,
  );
  a.start();
  a.drain();
  assert.deepEqual(stepped, [1, 2, 3]);
  assert.equal(doneCalls, 1);
  assert.equal(a.running, false);

  const b = new Sweep(
    [4, 5, 6],
    (n) => stepped.push(n),
    (run) => run(),
    () => doneCalls++,
    0,
  );
  b.start();
  b.cancel();
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(stepped, [1, 2, 3, 4], 'nothing is stepped after cancel');
  assert.equal(doneCalls, 1, 'a cancelled sweep does not report done');
  b.drain();
  assert.deepEqual(stepped, [1, 2, 3, 4], 'drain does not revive a cancelled sweep');
});
