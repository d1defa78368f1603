// Write-side coalescing (native/src/coalesce.c) on crafted batches: which TCP segments merge
// into one super-packet, what its virtio_net_hdr and headers say (a super-packet split again
// by the reader's splitter gives back the very segments), and what must stay apart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { vnetCoalesce, vnetSplit } from './index.js';
import { GSO, NEEDS_CSUM, TCP_FLAGS, packet, parseVnet, pattern, type Spec } from './vnet-testing.js';

// coalesce lays pkts out as a batch (gaps between them, like slots) and coalesces them.
function coalesce(pkts: Buffer[]): Buffer[] {
  const buf = Buffer.alloc(pkts.length * 2048);
  const offsets = new Uint32Array(pkts.length);
  const lengths = new Uint32Array(pkts.length);
  pkts.forEach((p, i) => {
    offsets[i] = i * 2048 + 16;
    lengths[i] = p.length;
    p.copy(buf, offsets[i]);
  });
  return vnetCoalesce(buf, offsets, lengths, pkts.length);
}

function segments(base: Omit<Spec, 'payload'>, n: number, size: number, lastSize = size): Buffer[] {
  const out: Buffer[] = [];
  for (let k = 0; k < n; k++) {
    const len = k === n - 1 ? lastSize : size;
    const flags = k === n - 1 ? (base.flags ?? TCP_FLAGS.ack) : TCP_FLAGS.ack;
    out.push(
      packet({
        ...base,
        flags,
        seq: (base.seq ?? 1000) + k * size,
        id: (base.id ?? 100) + k,
        payload: pattern(len, k * size),
      }),
    );
  }
  return out;
}

const ZERO = Buffer.alloc(10);

for (const v6 of [false, true]) {
  test(`consecutive IPv${v6 ? 6 : 4} segments of one flow merge, and the splitter gives them back`, () => {
    const segs = segments({ v6, flags: TCP_FLAGS.ack | TCP_FLAGS.psh }, 4, 1000, 500);
    const [w, ...rest] = coalesce(segs);
    assert.equal(rest.length, 0, 'one write');
    const h = parseVnet(w!);
    assert.deepEqual(h, {
      flags: NEEDS_CSUM,
      gsoType: v6 ? GSO.tcp6 : GSO.tcp4,
      hdrLen: (v6 ? 40 : 20) + 20,
      gsoSize: 1000,
      csumStart: v6 ? 40 : 20,
      csumOffset: 16,
    });
    assert.equal(w!.length, 10 + (v6 ? 40 : 20) + 20 + 3500);
    assert.deepEqual(vnetSplit(w!, 1500), segs, 'resplit equals the original segments');
  });
}

test('a segment with a bad checksum is not merged and goes out unchanged behind a zero header', () => {
  const segs = segments({}, 3, 1000);
  segs[1]![60] = segs[1]![60]! ^ 0xff; // corrupt payload: the TCP checksum no longer verifies
  const writes = coalesce(segs);
  assert.equal(writes.length, 3);
  writes.forEach((w, i) => {
    assert.deepEqual(w.subarray(0, 10), ZERO, `write ${i} claims nothing`);
    assert.deepEqual(w.subarray(10), segs[i]);
  });
});

test('non-consecutive sequence numbers, a different ACK, FIN, or a short segment end a super-packet', () => {
  const gap = segments({}, 3, 1000);
  gap[2] = packet({ seq: 1000 + 2000 + 1, id: 102, payload: pattern(1000) });
  assert.deepEqual(
    coalesce(gap).map((w) => w.length),
    [10 + 40 + 2000, 10 + 40 + 1000],
  );

  const ack = segments({}, 3, 1000);
  ack[1] = packet({ seq: 2000, id: 101, ack: 99, payload: pattern(1000) });
  assert.equal(coalesce(ack).length, 3, 'ACK differs: the middle one breaks the chain');

  const fin = segments({ flags: TCP_FLAGS.ack | TCP_FLAGS.fin }, 3, 1000);
  const w = coalesce(fin);
  assert.equal(w.length, 2, 'FIN stays its own packet');
  assert.deepEqual(w[1]!.subarray(10), fin[2]);

  const short = segments({}, 2, 1000, 400).concat(packet({ seq: 2400, id: 102, payload: pattern(1000) }));
  assert.deepEqual(
    coalesce(short).map((x) => x.length),
    [10 + 40 + 1400, 10 + 40 + 1000],
  );
});

test('interleaved flows each merge, keeping each flow in order; UDP passes through', () => {
  const a = segments({ sport: 1 }, 3, 1000);
  const b = segments({ sport: 2, v6: true }, 3, 1200);
  const udp = packet({ proto: 17, payload: pattern(50) });
  const writes = coalesce([a[0]!, b[0]!, a[1]!, udp, b[1]!, a[2]!, b[2]!]);
  assert.equal(writes.length, 3);
  assert.deepEqual(vnetSplit(writes[0]!, 1500), a);
  assert.deepEqual(vnetSplit(writes[1]!, 1500), b);
  assert.deepEqual(writes[2]!, Buffer.concat([ZERO, udp]));
});

test('IPv4 ids must increment (or stay fixed with DF); options must match', () => {
  const ids = segments({}, 2, 1000);
  ids[1] = packet({ seq: 2000, id: 200, payload: pattern(1000) });
  assert.equal(coalesce(ids).length, 2);
  const fixed = [
    packet({ seq: 1000, id: 5, payload: pattern(1000) }),
    packet({ seq: 2000, id: 5, payload: pattern(1000) }),
  ];
  assert.equal(coalesce(fixed).length, 1, 'DF with a fixed id merges (RFC 6864)');
  const opts = [
    packet({
      seq: 1000,
      id: 1,
      tcpOptions: Buffer.from([1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2]),
      payload: pattern(1000),
    }),
    packet({
      seq: 2000,
      id: 2,
      tcpOptions: Buffer.from([1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 2]),
      payload: pattern(1000),
    }),
  ];
  assert.equal(coalesce(opts).length, 2);
});

test('a super-packet stops at 64 segments', () => {
  const segs = segments({}, 70, 500);
  assert.deepEqual(
    coalesce(segs).map((w) => w.length),
    [10 + 40 + 64 * 500, 10 + 40 + 6 * 500],
  );
});
