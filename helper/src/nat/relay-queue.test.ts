// RelayQueue: the frames a relay gets, byte for byte, whether their header was written in the
// room before the caller's datagram or the datagram was copied behind it, for a relay of
// either family; and the order of a batch that mixes both ways.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { RELAY_HEADER_BYTES, parseRelayFrame } from '../../../src-shared/wire/nat-relay.js';
import { MAX_BATCH, SEND_ROOM } from '../../../src-shared/lib/native/batch.js';
import { formatIp, parseIp } from '../../../src-shared/lib/ip/addr.js';
import { readWordsAddress, writeWordsAddress } from '../../../src-shared/lib/ip/words.js';
import { RelayQueue } from './relay-queue.js';

interface Sent {
  buf: Buffer;
  frames: Buffer[];
  to: string[];
}

function capture(): { sent: Sent[]; send: ConstructorParameters<typeof RelayQueue>[0] } {
  const sent: Sent[] = [];
  return {
    sent,
    send: (buf, offsets, lengths, words, ports, count) => {
      const s: Sent = { buf, frames: [], to: [] };
      for (let i = 0; i < count; i++) {
        s.frames.push(Buffer.from(buf.subarray(offsets[i]!, offsets[i]! + lengths[i]!)));
        s.to.push(`${formatIp(readWordsAddress(words, 4 * i))} ${ports[i]}`);
      }
      sent.push(s);
      return count;
    },
  };
}

function relayAt(ip: string): Uint32Array {
  const w = new Uint32Array(4);
  writeWordsAddress(w, 0, parseIp(ip)!);
  return w;
}

/** slots lays datagrams out like the device's send path: SEND_ROOM free bytes before each. */
function slots(payloads: Buffer[], slot = 1536): { buf: Buffer; offsets: number[] } {
  const buf = Buffer.alloc(slot * payloads.length, 0xee);
  const offsets = payloads.map((p, i) => {
    p.copy(buf, i * slot + SEND_ROOM);
    return i * slot + SEND_ROOM;
  });
  return { buf, offsets };
}

function checkFrame(frame: Buffer, id: Buffer, payload: Buffer): void {
  const f = parseRelayFrame(frame);
  assert.ok(f !== null, 'a well-formed relay frame');
  assert.equal(f.kind, 'send');
  assert.deepEqual(Buffer.from(f.id), id, 'the peer id in the header');
  assert.deepEqual(frame.subarray(RELAY_HEADER_BYTES), payload, 'the payload whole');
}

for (const relayIp of ['192.0.2.7', '2001:db8::7']) {
  test(`with room, frames to a relay at ${relayIp} are sent from the caller's buffer with the header in front`, () => {
    const { sent, send } = capture();
    const q = new RelayQueue(send, relayAt(relayIp), 3478);
    const id = randomBytes(8);
    const payloads = [randomBytes(1452), randomBytes(1452), randomBytes(300)];
    const { buf, offsets } = slots(payloads);
    payloads.forEach((p, i) => q.add(id, buf, offsets[i]!, p.length, SEND_ROOM));
    assert.equal(sent.length, 0, 'nothing leaves before flush');
    q.flush();
    assert.equal(sent.length, 1, 'one send for the batch');
    assert.equal(sent[0]!.buf, buf, "the caller's buffer itself: nothing was copied");
    sent[0]!.frames.forEach((f, i) => checkFrame(f, id, payloads[i]!));
    assert.deepEqual(sent[0]!.to, Array(3).fill(`${relayIp} 3478`));
    q.flush();
    assert.equal(sent.length, 1, 'an empty queue sends nothing');
  });
}

test('without room the datagram is copied and the bytes before it stay untouched', () => {
  const { sent, send } = capture();
  const q = new RelayQueue(send, relayAt('192.0.2.7'), 3478);
  const id = randomBytes(8);
  const payload = randomBytes(148);
  const { buf, offsets } = slots([payload]);
  const before = Buffer.from(buf);
  q.add(id, buf, offsets[0]!, payload.length, RELAY_HEADER_BYTES - 1);
  q.flush();
  assert.notEqual(sent[0]!.buf, buf);
  checkFrame(sent[0]!.frames[0]!, id, payload);
  assert.deepEqual(buf, before, "the caller's buffer is unchanged");
});

test('a datagram at the start of its buffer is copied whatever room the caller claims', () => {
  const { sent, send } = capture();
  const q = new RelayQueue(send, relayAt('192.0.2.7'), 3478);
  const id = randomBytes(8);
  const payload = randomBytes(64);
  q.add(id, payload, 0, payload.length, SEND_ROOM);
  q.flush();
  assert.notEqual(sent[0]!.buf, payload);
  checkFrame(sent[0]!.frames[0]!, id, payload);
});

test('frames in place and copied frames leave in the order they were added', () => {
  const { sent, send } = capture();
  const q = new RelayQueue(send, relayAt('2001:db8::7'), 3478);
  const id = randomBytes(8);
  const payloads = Array.from({ length: 6 }, (_, i) => randomBytes(100 + i));
  const { buf, offsets } = slots(payloads);
  const other = slots(payloads);
  // in place, copied, copied, in place, in place (another buffer), in place (the first again)
  const plan: Array<[Buffer, number]> = [
    [buf, SEND_ROOM],
    [buf, 0],
    [buf, 0],
    [buf, SEND_ROOM],
    [other.buf, SEND_ROOM],
    [buf, SEND_ROOM],
  ];
  plan.forEach(([b, room], i) => q.add(id, b, offsets[i]!, payloads[i]!.length, room));
  q.flush();
  const frames = sent.flatMap((s) => s.frames);
  assert.equal(frames.length, 6);
  frames.forEach((f, i) => checkFrame(f, id, payloads[i]!));
  assert.deepEqual(
    sent.map((s) => s.frames.length),
    [1, 2, 1, 1, 1],
    'each change of buffer sends what was queued in the last one',
  );
});

test('a full queue leaves by itself, MAX_BATCH frames at a time', () => {
  const { sent, send } = capture();
  const q = new RelayQueue(send, relayAt('192.0.2.7'), 3478);
  const id = randomBytes(8);
  const payloads = Array.from({ length: MAX_BATCH + 3 }, () => randomBytes(32));
  const { buf, offsets } = slots(payloads, 64);
  payloads.forEach((p, i) => q.add(id, buf, offsets[i]!, p.length, SEND_ROOM));
  assert.equal(sent.length, 1);
  assert.equal(sent[0]!.frames.length, MAX_BATCH);
  q.flush();
  assert.equal(sent[1]!.frames.length, 3);
  sent.flatMap((s) => s.frames).forEach((f, i) => checkFrame(f, id, payloads[i]!));
});
