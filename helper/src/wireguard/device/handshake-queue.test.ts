// HandshakeQueue: the bound and its counted drops, fairness between source networks, the load
// state (whitepaper §5.3) and the drain's budget per turn and over time, driven by a hand-moved
// clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DropCounters } from './counters.js';
import {
  CPU_SHARE,
  CREDIT_MAX_MS,
  HANDSHAKE_QUEUE_SIZE,
  HandshakeQueue,
  TURN_MS,
  UNDER_LOAD_AFTER_MS,
  UNDER_LOAD_FILL,
} from './handshake-queue.js';
import { parseIp } from '../../../../src-shared/lib/ip/addr.js';
import { formatWords, wordsAreIPv4, writeWordsAddress, writeWordsIPv4 } from '../../../../src-shared/lib/ip/words.js';

interface Ran {
  first: number;
  len: number;
  /** addr is the source: an IPv4 number, or the IPv6 text. */
  addr: number | string;
  port: number;
}

const scratch = new Uint32Array(8);

/** push queues a message from addr (an IPv4 number or IPv6 text), passing the address in
 * words at a non-zero index as the receive path does. */
function push(
  q: HandshakeQueue,
  type: number,
  buf: Buffer,
  off: number,
  len: number,
  addr: number | string,
  port: number,
) {
  if (typeof addr === 'number') writeWordsIPv4(scratch, 4, addr);
  else writeWordsAddress(scratch, 4, parseIp(addr)!);
  q.push(type, buf, off, len, scratch, 4, port, scratch);
}

/** setup returns a queue whose runner records each message and moves the clock by costMs. */
function setup(costMs = 0): { q: HandshakeQueue; ran: Ran[]; drops: DropCounters; clock: { now: number } } {
  const clock = { now: 1000 };
  const drops = new DropCounters();
  const ran: Ran[] = [];
  const q = new HandshakeQueue(
    (buf, off, len, words, at, port) => {
      const addr = wordsAreIPv4(words, at) ? words[at + 3]! : formatWords(words, at);
      ran.push({ first: buf.readUInt32LE(off + 4), len, addr, port });
      clock.now += costMs;
    },
    drops,
    () => clock.now,
  );
  return { q, ran, drops, clock };
}

/** initiation returns a 148-byte type-1 message numbered n (in its sender field). */
function initiation(n: number): Buffer {
  const m = Buffer.alloc(148);
  m.writeUInt32LE(1, 0);
  m.writeUInt32LE(n, 4);
  return m;
}

test('the queue holds HANDSHAKE_QUEUE_SIZE messages, drops the rest as handshake-queue-full and runs one network in order', () => {
  const { q, ran, drops } = setup();
  // All from one /24: one network, so one FIFO and nobody to take a place from.
  const addr = (i: number): number => 0x0a000000 + (i % 256);
  for (let i = 0; i < HANDSHAKE_QUEUE_SIZE + 10; i++) push(q, 1, initiation(i), 0, 148, addr(i), 1000 + i);
  q.stop();
  assert.equal(q.length, HANDSHAKE_QUEUE_SIZE);
  assert.equal(drops.get('handshake-queue-full'), 10);
  q.drain();
  assert.equal(ran.length, HANDSHAKE_QUEUE_SIZE);
  assert.deepEqual(
    ran.map((r) => r.first),
    Array.from({ length: HANDSHAKE_QUEUE_SIZE }, (_, i) => i),
  );
  assert.deepEqual(ran.at(-1), {
    first: HANDSHAKE_QUEUE_SIZE - 1,
    len: 148,
    addr: addr(HANDSHAKE_QUEUE_SIZE - 1),
    port: 1000 + HANDSHAKE_QUEUE_SIZE - 1,
  });
  assert.equal(q.length, 0);
});

test('the drain takes one message from each source network (IPv4 /24) in turn', () => {
  const { q, ran } = setup();
  const a = 0x0a000001;
  const b = 0x0a000101; // another /24
  push(q, 1, initiation(1), 0, 148, a, 1);
  push(q, 1, initiation(2), 0, 148, a + 1, 1); // same /24 as a
  push(q, 1, initiation(3), 0, 148, a, 1);
  push(q, 1, initiation(10), 0, 148, b, 1);
  q.stop();
  q.drain();
  assert.deepEqual(
    ran.map((r) => r.first),
    [1, 10, 2, 3],
  );
});

test('IPv6 sources share a FIFO per /64, and an IPv4 and an IPv6 source are different networks', () => {
  const { q, ran } = setup();
  push(q, 1, initiation(1), 0, 148, '2001:db8:0:1::1', 1);
  push(q, 1, initiation(2), 0, 148, '2001:db8:0:1:ffff::9', 1); // same /64
  push(q, 1, initiation(3), 0, 148, '2001:db8:0:1::1', 1);
  push(q, 1, initiation(10), 0, 148, '2001:db8:0:2::1', 1); // another /64
  push(q, 1, initiation(20), 0, 148, 0x00000001, 1); // 0.0.0.1: words ::ffff:0.0.0.1, not ::1
  push(q, 1, initiation(30), 0, 148, '::1', 1);
  q.stop();
  q.drain();
  assert.deepEqual(
    ran.map((r) => r.first),
    [1, 10, 20, 30, 2, 3],
  );
  assert.deepEqual(ran[0], { first: 1, len: 148, addr: '2001:db8:0:1::1', port: 1 }, 'the source comes back whole');
});

test("a flood that fills the queue from a few networks cannot keep out a genuine peer's initiation", () => {
  const { q, ran, drops } = setup();
  // 600 flooding addresses in three /24s fill every slot, and keep pushing.
  for (let i = 0; i < 3 * HANDSHAKE_QUEUE_SIZE; i++) push(q, 1, initiation(0), 0, 148, 0xc0a80000 + (i % 600), 1);
  q.stop();
  assert.equal(q.length, HANDSHAKE_QUEUE_SIZE);
  const before = drops.get('handshake-queue-full');
  push(q, 1, initiation(42), 0, 148, 0xcb007107, 51820); // the peer, from elsewhere
  q.stop();
  assert.equal(q.length, HANDSHAKE_QUEUE_SIZE, "it took a flooder's place");
  assert.equal(drops.get('handshake-queue-full'), before + 1);
  // It is run within the first round of the drain: one message per network.
  q.drain();
  const at = ran.findIndex((r) => r.first === 42);
  assert.ok(at >= 0 && at < 4, `the peer's initiation ran at position ${at}`);
});

test('a full queue of networks with one message each drops a newcomer from yet another network', () => {
  const { q, ran, drops } = setup();
  for (let i = 0; i < HANDSHAKE_QUEUE_SIZE; i++) push(q, 1, initiation(i), 0, 148, (10 << 24) | (i << 8), 1);
  push(q, 1, initiation(99_999), 0, 148, 0xcb007107, 1);
  q.stop();
  assert.equal(drops.get('handshake-queue-full'), 1);
  q.drain();
  assert.equal(ran.length, HANDSHAKE_QUEUE_SIZE);
  assert.equal(
    ran.some((r) => r.first === 99_999),
    false,
    'equal shares stay: nobody gives up a place',
  );
});

test('a handshake message of the wrong size is dropped as bad-length and never queued', () => {
  const { q, drops } = setup();
  push(q, 1, Buffer.alloc(200), 0, 149, 1, 1);
  push(q, 2, Buffer.alloc(148), 0, 148, 1, 1);
  push(q, 3, Buffer.alloc(92), 0, 92, 1, 1);
  q.stop();
  assert.equal(q.length, 0);
  assert.equal(drops.get('bad-length'), 3);
  push(q, 2, Buffer.alloc(92), 0, 92, 1, 1);
  push(q, 3, Buffer.alloc(64), 0, 64, 1, 1);
  q.stop();
  assert.equal(q.length, 2);
});

test('under load from 1/8 full, and for UNDER_LOAD_AFTER_MS after the queue was last that full', () => {
  const { q, clock } = setup();
  for (let i = 0; i < UNDER_LOAD_FILL - 1; i++) push(q, 1, initiation(i), 0, 148, 1, 1);
  assert.equal(q.underLoad(clock.now), false);
  push(q, 1, initiation(0), 0, 148, 1, 1);
  q.stop();
  assert.equal(q.underLoad(clock.now), true);
  const full = clock.now;
  q.drain();
  assert.equal(q.length, 0);
  assert.equal(q.underLoad(full + UNDER_LOAD_AFTER_MS - 1), true);
  assert.equal(q.underLoad(full + UNDER_LOAD_AFTER_MS), false);
});

test('one drain turn stops after TURN_MS, so waiting I/O runs between turns', () => {
  const cost = 0.3;
  const { q, ran } = setup(cost);
  for (let i = 0; i < 20; i++) push(q, 1, initiation(i), 0, 148, 1, 1);
  q.stop();
  q.drain();
  q.stop();
  // Messages start while the turn is younger than TURN_MS: at 0, 0.3, 0.6 and 0.9 ms.
  assert.equal(ran.length, Math.ceil(TURN_MS / cost));
  assert.equal(q.length, 20 - ran.length);
});

test('over time the drain takes at most CPU_SHARE of the clock', () => {
  const cost = 0.5;
  const { q, ran, clock } = setup(cost);
  const start = clock.now;
  for (let i = 0; i < HANDSHAKE_QUEUE_SIZE; i++) push(q, 1, initiation(i), 0, 148, 1, 1);
  q.stop();
  // Drain turns every 2 ms for 2 s of clock time: without the share it would run them all.
  for (let t = 0; t < 1000; t++) {
    q.drain();
    q.stop();
    clock.now += 2;
  }
  const busy = ran.length * cost;
  const elapsed = clock.now - start;
  assert.ok(ran.length > 0);
  assert.ok(
    busy <= elapsed * CPU_SHARE + CREDIT_MAX_MS + TURN_MS,
    `ran ${busy} ms of ${elapsed} ms (share ${CPU_SHARE}, saved credit ${CREDIT_MAX_MS} ms)`,
  );
  assert.ok(busy >= elapsed * CPU_SHARE * 0.9, `ran only ${busy} ms of ${elapsed} ms`);
});

test('the drain runs on its own after push, once the current I/O is done', async () => {
  const { q, ran } = setup();
  push(q, 1, initiation(7), 0, 148, 1, 1);
  assert.equal(ran.length, 0, 'not inside push');
  await new Promise((r) => setImmediate(r));
  assert.equal(ran.length, 1);
  assert.equal(ran[0]?.first, 7);
});

test('clear forgets waiting messages, and every slot can be used again', () => {
  const { q, ran } = setup();
  push(q, 1, initiation(1), 0, 148, 1, 1);
  push(q, 1, initiation(2), 0, 148, 0x0b000000, 1);
  q.clear();
  q.drain();
  assert.equal(ran.length, 0);
  assert.equal(q.length, 0);
  for (let i = 0; i < HANDSHAKE_QUEUE_SIZE; i++) push(q, 1, initiation(i), 0, 148, i, 1);
  q.stop();
  assert.equal(q.length, HANDSHAKE_QUEUE_SIZE);
  q.drain();
  assert.equal(ran.length, HANDSHAKE_QUEUE_SIZE);
});

test('a push from inside the runner, while the queue is full, is dropped and counted, not written over a slot in use', () => {
  const drops = new DropCounters();
  const ran: number[] = [];
  let q: HandshakeQueue | null = null;
  q = new HandshakeQueue(
    (buf, off) => {
      ran.push(buf.readUInt32LE(off + 4));
      if (ran.length === 1) push(q!, 1, initiation(-1 >>> 0), 0, 148, 0x0b000001, 1);
    },
    drops,
    () => 0,
  );
  for (let i = 0; i < HANDSHAKE_QUEUE_SIZE; i++) push(q, 1, initiation(i), 0, 148, 0x0a000000 + (i % 256), 1);
  q.stop();
  q.drain();
  q.stop();
  assert.equal(drops.get('handshake-queue-full'), 1);
  assert.deepEqual(
    ran,
    Array.from({ length: HANDSHAKE_QUEUE_SIZE }, (_, i) => i),
  );
});
