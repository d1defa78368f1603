// forwardInPlace within a batch remembers the last source and destination it resolved
// (sessions.ts BatchMemo). What it remembers must never outlive what it stands for: frames of
// one batch to different peers each reach their own, and a batch's end, a change of the
// session table, or 128 frames make it look everything up again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Relay } from './server.js';
import {
  drained,
  recvOf,
  registerMessage,
  sendMessage,
  testCoordinator,
  testLog,
  testSystem,
  UNLIMITED_REGISTRATIONS,
} from './test-support.js';

const coord = testCoordinator();
const HOST = 0x0a000001; // 10.0.0.1
const open = UNLIMITED_REGISTRATIONS;

interface Forwarded {
  port: number;
  from: string;
  payload: string;
}

function lab(): {
  relay: Relay;
  clock: { now: number };
  register: (name: string, port: number) => Promise<ReturnType<typeof testSystem>>;
  batch: (frames: Array<[number, Uint8Array, string]>, done?: boolean) => Forwarded[];
} {
  const clock = { now: Date.now() };
  const { log } = testLog(1);
  const relay = new Relay({
    coordinatorKey: coord.publicKey,
    relayKey: coord.relayKey,
    log,
    limits: open,
    now: () => clock.now,
  });
  return {
    relay,
    clock,
    register: async (name, port) => {
      const s = testSystem(coord, name, { now: clock.now });
      relay.handleDatagram(registerMessage(s, { ts: clock.now }), '10.0.0.1', port, () => undefined);
      await drained(relay);
      return s;
    },
    // batch lays the frames (source port, destination id, payload) out in one buffer and hands
    // them to forwardInPlace as one native batch would; done: end it with forwardDone.
    batch: (frames, done = true) => {
      const msgs = frames.map(([, id, text]) => sendMessage(id, Buffer.from(text)));
      const buf = Buffer.concat(msgs);
      const out: Forwarded[] = [];
      const sink = {
        add: (off: number, len: number, addr: number, port: number): void => {
          assert.equal(addr, HOST);
          const r = recvOf(buf.subarray(off, off + len));
          assert.ok(r !== null, 'rewritten to a relayRecv');
          out.push({ port, from: r.from, payload: r.payload.toString() });
        },
      };
      let off = 0;
      frames.forEach(([port], i) => {
        relay.forwardInPlace(buf, off, msgs[i]!.length, HOST, port, sink);
        off += msgs[i]!.length;
      });
      if (done) relay.forwardDone();
      return out;
    },
  };
}

test('frames of one batch to different peers each reach their own, from their own sender', async () => {
  const l = lab();
  const [a, b, c] = [await l.register('a', 1001), await l.register('b', 1002), await l.register('c', 1003)];
  const hex = (s: typeof a): string => s.id.toString('hex');
  const got = l.batch([
    [1001, b.id, 'a1'],
    [1001, c.id, 'a2'],
    [1001, b.id, 'a3'],
    [1003, a.id, 'c1'],
    [9999, b.id, 'stranger'],
    [1001, b.id, 'a4'],
  ]);
  assert.deepEqual(got, [
    { port: 1002, from: hex(a), payload: 'a1' },
    { port: 1003, from: hex(a), payload: 'a2' },
    { port: 1002, from: hex(a), payload: 'a3' },
    { port: 1001, from: hex(c), payload: 'c1' },
    { port: 1002, from: hex(a), payload: 'a4' },
  ]);
  assert.equal(l.relay.stats().dropped['unknown-source'], 1, 'the unregistered source, in the middle of the batch');
  l.relay.close();
});

test('the memory ends with the batch: a session that expired by the next one is not used', async () => {
  const l = lab();
  const [, b] = [await l.register('a', 1001), await l.register('b', 1002)];
  assert.equal(l.batch([[1001, b.id, 'now']]).length, 1);
  l.clock.now += 91_000;
  assert.deepEqual(l.batch([[1001, b.id, 'later']]), []);
  assert.equal(l.relay.stats().dropped['unknown-source'], 1);
  l.relay.close();
});

test('a change of the session table within a batch is seen at once', async () => {
  const l = lab();
  const [, b] = [await l.register('a', 1001), await l.register('b', 1002)];
  assert.deepEqual(
    l.batch([[1001, b.id, 'x']], false).map((f) => f.port),
    [1002],
  );
  // b moves to another port before the batch ends (no forwardDone came).
  l.relay.handleDatagram(registerMessage(b, { ts: l.clock.now }), '10.0.0.1', 2002, () => undefined);
  await drained(l.relay);
  assert.deepEqual(
    l.batch([[1001, b.id, 'y']], false).map((f) => f.port),
    [2002],
  );
  l.relay.close();
});

test('without the end of a batch the memory still ends after 128 frames', async () => {
  const l = lab();
  const [, b] = [await l.register('a', 1001), await l.register('b', 1002)];
  assert.equal(l.batch([[1001, b.id, 'first']], false).length, 1);
  l.clock.now += 91_000;
  const frames = Array.from({ length: 200 }, (): [number, Uint8Array, string] => [1001, b.id, 'stale?']);
  const got = l.batch(frames, false);
  assert.ok(got.length <= 127, `at most the rest of the first 128 went (${got.length})`);
  assert.ok((l.relay.stats().dropped['unknown-source'] ?? 0) >= 200 - 127);
  l.relay.close();
});
