// TurnQueue: queued work runs on later turns, a few milliseconds at a time, so I/O that arrives
// meanwhile (a datagram here) is handled between slices instead of after all of it; the queue is
// bounded; a failing item does not stop the rest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { TurnQueue } from './turn-queue.js';

function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

/** ranBeforeDatagram queues 60 items of 1 ms each, the first of which sends a datagram to this
 * process, and says how many items had run when the datagram was handled. */
async function ranBeforeDatagram(turnMs: number): Promise<{ before: number; total: number }> {
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  let ran = 0;
  const item = (i: number): void => {
    if (i === 0) sock.send('x', sock.address().port, '127.0.0.1');
    busy(1);
    ran++;
  };
  const q = new TurnQueue<number>(item, { max: 100, turnMs }, (e) => assert.fail(String(e)));
  try {
    const seen = new Promise<number>((resolve) => sock.once('message', () => resolve(ran)));
    for (let i = 0; i < 60; i++) q.push(i);
    const before = await seen;
    while (q.size > 0) await new Promise((r) => setImmediate(r));
    return { before, total: ran };
  } finally {
    q.clear();
    sock.close();
  }
}

test('queued work runs a slice per turn: a datagram that arrives meanwhile is handled before most of it', async () => {
  const sliced = await ranBeforeDatagram(3);
  assert.equal(sliced.total, 60);
  assert.ok(sliced.before <= 10, `${sliced.before} of 60 items ran before the datagram was handled`);
  // The same work in one slice holds the datagram up until all of it is done.
  const whole = await ranBeforeDatagram(1e9);
  assert.equal(whole.before, 60);
});

test('the queue is bounded, a failing item is reported and the rest still run, clear drops the rest', async () => {
  const failures: unknown[] = [];
  const ran: number[] = [];
  const q = new TurnQueue<number>(
    (n) => {
      if (n === 2) throw new Error('two');
      ran.push(n);
    },
    { max: 4, turnMs: 5 },
    (e) => failures.push(e),
  );
  for (let i = 0; i < 4; i++) assert.ok(q.push(i));
  assert.equal(q.push(4), false, 'a fifth item does not fit');
  assert.equal(q.size, 4);
  while (q.size > 0) await new Promise((r) => setImmediate(r));
  assert.deepEqual(ran, [0, 1, 3]);
  assert.equal(failures.length, 1);
  q.push(10);
  q.clear();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(ran, [0, 1, 3], 'a cleared item never runs');
});
