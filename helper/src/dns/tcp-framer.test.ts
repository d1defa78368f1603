import { test } from 'node:test';
import assert from 'node:assert/strict';
import dnsPacket from 'dns-packet';
import { rcodeOf, respond } from './respond.js';
import { MAX_TCP_MESSAGE, TcpFramer } from './tcp-framer.js';
import { buildZone } from './zone.js';

const frame = (m: Buffer): Buffer => Buffer.concat([Buffer.from([m.length >> 8, m.length & 0xff]), m]);

/** feed pushes stream in chunks of the given sizes (cycled) and returns copies of the messages. */
function feed(framer: TcpFramer, stream: Buffer, sizes: number[]): Buffer[] {
  const out: Buffer[] = [];
  let off = 0;
  for (let i = 0; off < stream.length; i++) {
    const n = sizes[i % sizes.length]!;
    framer.push(stream.subarray(off, off + n), (m) => {
      out.push(Buffer.from(m));
      return true;
    });
    off += n;
  }
  return out;
}

/** paddedQuery is a valid query for name, padded (RFC 7830 EDNS padding) to exactly size bytes. */
function paddedQuery(id: number, name: string, size: number): Buffer {
  const build = (pad: number): Buffer =>
    dnsPacket.encode({
      type: 'query',
      id,
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ type: 'A', name }],
      additionals: [
        {
          type: 'OPT',
          name: '.',
          udpPayloadSize: 1232,
          extendedRcode: 0,
          ednsVersion: 0,
          flags: 0,
          flag_do: false,
          options: [{ code: 12, data: Buffer.alloc(pad) }],
        },
      ],
    });
  const q = build(size - build(0).length);
  assert.equal(q.length, size);
  return q;
}

test('TcpFramer gives back the same messages however the stream is cut', () => {
  const msgs = [Buffer.from('a'), Buffer.alloc(0), Buffer.alloc(300, 7), Buffer.from('hello'), Buffer.alloc(1, 9)];
  const stream = Buffer.concat(msgs.map(frame));
  const cuts: [string, number[]][] = [
    ['whole', [stream.length]],
    ['1-byte chunks', [1]],
    ['2-byte chunks', [2]],
    ['3-byte chunks', [3]],
    ['uneven', [1, 5, 2, 200, 7]],
  ];
  for (const [label, sizes] of cuts) {
    assert.deepEqual(feed(new TcpFramer(), stream, sizes), msgs, label);
  }
  // every single split point
  for (let at = 1; at < stream.length; at++) {
    const f = new TcpFramer();
    const out: Buffer[] = [];
    for (const part of [stream.subarray(0, at), stream.subarray(at)]) {
      f.push(part, (m) => {
        out.push(Buffer.from(m));
        return true;
      });
    }
    assert.deepEqual(out, msgs, `split at ${at}`);
    assert.equal(f.pendingBytes, 0);
  }
});

test('TcpFramer holds at most one partial message: 2 + 65,535 bytes', () => {
  const f = new TcpFramer();
  const big = frame(Buffer.alloc(MAX_TCP_MESSAGE, 1));
  const seen: number[] = [];
  f.push(big.subarray(0, big.length - 1), () => {
    seen.push(1);
    return true;
  });
  assert.equal(f.pendingBytes, 2 + MAX_TCP_MESSAGE - 1);
  assert.equal(seen.length, 0, 'nothing is handed over before the last byte');
  f.push(big.subarray(big.length - 1), (m) => {
    seen.push(m.length);
    return true;
  });
  assert.deepEqual(seen, [MAX_TCP_MESSAGE]);
  assert.equal(f.pendingBytes, 0);
});

test('TcpFramer stops handing over messages once the listener says the connection is gone', () => {
  const f = new TcpFramer();
  const seen: string[] = [];
  const stream = Buffer.concat(['one', 'two', 'three'].map((s) => frame(Buffer.from(s))));
  f.push(stream, (m) => {
    seen.push(m.toString());
    return false;
  });
  assert.deepEqual(seen, ['one']);
});

test('3 x 64 KiB queries in 1-byte chunks cost well under 100 ms of CPU and are answered correctly', () => {
  const zone = buildZone({
    self: { identity: 'G982V', address: '100.64.0.1', names: ['a'], tags: [] },
    reachable: [{ identity: 'B1234', address: '100.64.0.2', names: ['b'], tags: [] }],
  });
  const queries = [1, 2, 3].map((id) => paddedQuery(id, 'b.warren.internal', MAX_TCP_MESSAGE));
  const stream = Buffer.concat(queries.map(frame));
  const chunks = Array.from({ length: stream.length }, (_, i) => stream.subarray(i, i + 1));
  const f = new TcpFramer();
  const answers: Buffer[] = [];
  let most = 0;
  const start = process.cpuUsage();
  for (const c of chunks) {
    f.push(c, (m) => {
      const r = respond(m, zone, 'tcp');
      if (r.bytes) answers.push(r.bytes);
      return true;
    });
    if (f.pendingBytes > most) most = f.pendingBytes;
  }
  const used = process.cpuUsage(start);
  const ms = (used.user + used.system) / 1000;
  assert.ok(ms < 100, `reassembly and answers took ${ms.toFixed(1)} ms of CPU`);
  assert.equal(most, 2 + MAX_TCP_MESSAGE - 1, 'never more than one partial message is held');
  assert.deepEqual(
    answers.map((a) => [dnsPacket.decode(a).id, rcodeOf(a)]),
    [
      [1, 'NOERROR'],
      [2, 'NOERROR'],
      [3, 'NOERROR'],
    ],
  );
  for (const a of answers) {
    assert.deepEqual(
      (dnsPacket.decode(a).answers ?? []).map((r) => (r as { data: string }).data),
      ['100.64.0.2'],
    );
  }
});
