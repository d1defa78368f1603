// UDP GSO on send and UDP GRO on receive, on loopback. Loopback has no GRO engine of its own,
// so a GRO socket sees a coalesced buffer only when the sender really used GSO (the kernel
// then hands the GSO packet over whole, udp(7)): `coalesced` in the reader's stats tells the
// two paths apart, and a plain socket shows that segmentation gives back the same datagrams.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { closeFd, startReader, udpGsoSupported, udpOpen, udpSendBatch, type Batch, type Reader } from './index.js';
import { copyBatch, MODES, waitFor, wordsOf, type Received } from './testing.js';

/** datagram i is recognisable: its index, then a pattern, `size` bytes in all. */
function datagram(i: number, size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let j = 0; j < size; j++) b[j] = (i * 13 + j) & 0xff;
  b.writeUInt16BE(i, 0);
  return b;
}

interface Out {
  data: Buffer;
  ip: string;
  port: number;
}

/** pack lays datagrams out in 2048-byte slots, as the device's batches are. */
function pack(out: Out[]) {
  const n = out.length;
  const buf = Buffer.alloc(n * 2048);
  const offsets = new Uint32Array(n);
  const lengths = new Uint32Array(n);
  const addrs = new Uint32Array(4 * n);
  const ports = new Uint16Array(n);
  out.forEach((d, i) => {
    offsets[i] = i * 2048 + 16;
    lengths[i] = d.data.length;
    d.data.copy(buf, offsets[i]);
    addrs.set(wordsOf(d.ip), 4 * i);
    ports[i] = d.port;
  });
  return { buf, offsets, lengths, addrs, ports, count: n };
}

/** send sends `out` in one udpSendBatch with the given GSO state and checks all went. */
function send(fd: number, out: Out[], state: Uint8Array): void {
  const p = pack(out);
  assert.equal(udpSendBatch(fd, p.buf, p.offsets, p.lengths, p.addrs, p.ports, p.count, null, state), out.length);
}

/** plainSocket collects datagrams with a reader without GRO: one datagram per recvmmsg
 * message, as any program reads them. (Node's dgram has too small a receive buffer for a burst
 * of hundreds.) */
function plainSocket(ip: string) {
  const h = udpOpen(ip, 0);
  const got: Buffer[] = [];
  const reader = startReader(h.fd, 'udp', { maxBatch: 64, slotSize: 2048, headroom: 0, pool: 4 }, (b) => {
    for (const r of copyBatch(b)) got.push(r.data);
  });
  return {
    got,
    port: h.port,
    close: () => {
      reader.stop();
      closeFd(h.fd);
    },
  };
}

/** groReader starts a GRO reader on a socket of its own. */
function groReader(ip: string, mode: 'thread' | 'poll', maxBatch: number) {
  const h = udpOpen(ip, 0);
  const got: Received[] = [];
  const counts: number[] = [];
  const reader: Reader = startReader(
    h.fd,
    'udp',
    { maxBatch, slotSize: 2048, headroom: 16, pool: 4, mode, gro: true },
    (b: Batch) => {
      counts.push(b.count);
      got.push(...copyBatch(b));
    },
  );
  return { h, reader, got, counts };
}

/** runs of datagrams: groups of equal size, a shorter last, and a lone empty-sized one. */
function runs(n: number, ip: string, port: number): Out[] {
  return Array.from({ length: n }, (_, i) => {
    const size = i % 50 === 49 ? 300 + (i % 7) : 1200 + 100 * (Math.floor(i / 50) % 3);
    return { data: datagram(i, size), ip, port };
  });
}

test('a GSO batch reaches a plain socket as the same datagrams, in order, to each of two endpoints', async () => {
  const tx = udpOpen('127.0.0.1', 0);
  const a = plainSocket('127.0.0.1');
  const b = plainSocket('127.0.0.1');
  try {
    assert.ok(udpGsoSupported(tx.fd), 'this kernel (4.18+) knows UDP_SEGMENT');
    // Runs of 20 to one endpoint, then 7 to the other, then sizes that change mid-run.
    const out: Out[] = [];
    for (let i = 0; i < 400; i++) {
      const toA = Math.floor(i / 20) % 2 === 0 || i % 27 === 3;
      const size = i % 33 === 32 ? 77 : 1000 + (Math.floor(i / 40) % 2) * 400;
      out.push({ data: datagram(i, size), ip: '127.0.0.1', port: toA ? a.port : b.port });
    }
    const state = new Uint8Array([1]);
    send(tx.fd, out, state);
    const wantA = out.filter((d) => d.port === a.port).map((d) => d.data);
    const wantB = out.filter((d) => d.port === b.port).map((d) => d.data);
    await waitFor(() => a.got.length >= wantA.length && b.got.length >= wantB.length, 5000, 'all datagrams');
    assert.deepEqual(a.got, wantA);
    assert.deepEqual(b.got, wantB);
    assert.equal(state[0], 1, 'loopback takes GSO, so the state stays on');
  } finally {
    a.close();
    b.close();
    closeFd(tx.fd);
  }
});

for (const mode of MODES)
  for (const [family, ip] of [
    ['IPv4', '127.0.0.1'],
    ['IPv6', '::1'],
  ] as const)
    test(`${mode}, ${family}: a GRO reader splits GSO buffers back into the datagrams, in order`, async () => {
      const tx = udpOpen(ip, 0);
      // maxBatch 8 is smaller than one coalesced buffer (up to 50 datagrams here), so the
      // leftover of a buffer must be carried into the next batches.
      const rx = groReader(ip, mode, 8);
      try {
        assert.ok(rx.reader.gro(), 'the kernel (5.0+) grants UDP_GRO');
        const out = runs(300, ip, rx.h.port);
        send(tx.fd, out, new Uint8Array([1]));
        await waitFor(() => rx.got.length >= out.length, 5000, `${out.length} datagrams`);
        assert.equal(rx.got.length, out.length);
        rx.got.forEach((g, i) => {
          assert.deepEqual(g.data, out[i]!.data, `datagram ${i}`);
          assert.equal(g.port, tx.port);
          assert.equal(g.local, ip === '::1' ? '::1' : '127.0.0.1');
        });
        const st = rx.reader.stats();
        assert.ok((st.coalesced ?? 0) > 0, `the sender's GSO arrived coalesced: ${JSON.stringify(st)}`);
        assert.equal(st.truncated, 0);
        assert.ok(rx.counts.every((c) => c >= 1 && c <= 8));
      } finally {
        rx.reader.stop();
        closeFd(rx.h.fd);
        closeFd(tx.fd);
      }
    });

test('with the GSO state off the same batch goes as plain datagrams (nothing coalesced)', async () => {
  const tx = udpOpen('127.0.0.1', 0);
  const rx = groReader('127.0.0.1', 'poll', 64);
  try {
    const out = runs(200, '127.0.0.1', rx.h.port);
    const state = new Uint8Array([0]);
    send(tx.fd, out, state);
    await waitFor(() => rx.got.length >= out.length, 5000, `${out.length} datagrams`);
    assert.deepEqual(
      rx.got.map((g) => g.data),
      out.map((d) => d.data),
    );
    assert.equal(rx.reader.stats().coalesced, 0, 'loopback does not coalesce plain datagrams');
    assert.equal(state[0], 0);
  } finally {
    rx.reader.stop();
    closeFd(rx.h.fd);
    closeFd(tx.fd);
  }
});

test('a GRO reader takes plain datagrams from another program one by one', async () => {
  const rx = groReader('127.0.0.1', 'thread', 32);
  const s = dgram.createSocket('udp4');
  try {
    const sent = Array.from({ length: 150 }, (_, i) => datagram(i, 2 + ((i * 37) % 1400)));
    for (const d of sent) s.send(d, rx.h.port, '127.0.0.1');
    await waitFor(() => rx.got.length >= sent.length, 5000, `${sent.length} datagrams`);
    assert.deepEqual(
      rx.got.map((g) => g.data),
      sent,
    );
  } finally {
    s.close();
    rx.reader.stop();
    closeFd(rx.h.fd);
  }
});

test('gro is refused for TUN readers and must be a boolean', () => {
  const h = udpOpen('127.0.0.1', 0);
  try {
    const opts = { maxBatch: 8, slotSize: 2048, headroom: 16, pool: 1 };
    assert.throws(() => startReader(h.fd, 'tun', { ...opts, gro: true }, () => {}), /udp' readers only/);
    assert.throws(() => startReader(h.fd, 'udp', { ...opts, gro: 1 as unknown as boolean }, () => {}), /boolean/);
  } finally {
    closeFd(h.fd);
  }
});
