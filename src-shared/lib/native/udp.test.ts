// UDP through the addon on loopback: sendmmsg batches in, recvmmsg batches out (in both reader
// modes), with contents, source addresses, truncation and per-destination drops checked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { closeFd, startReader, udpOpen, udpSend, udpSendBatch, type Batch, type Reader } from './index.js';
import { copyBatch, LOOPBACK, MODES, waitFor, wordsOf, type Received } from './testing.js';

/** payload i is recognisable: its index, then a pattern, `size` bytes in all. */
function payload(i: number, size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let j = 0; j < size; j++) b[j] = (i * 7 + j) & 0xff;
  if (size >= 2) b.writeUInt16BE(i, 0);
  return b;
}

/** pack lays datagrams out in 1500-byte slots at an unaligned offset. */
function pack(datagrams: Buffer[], port: number) {
  const buf = Buffer.alloc(datagrams.length * 1500);
  const offsets = new Uint32Array(datagrams.length);
  const lengths = new Uint32Array(datagrams.length);
  datagrams.forEach((d, i) => {
    offsets[i] = i * 1500 + 3;
    lengths[i] = d.length;
    d.copy(buf, offsets[i]);
  });
  const addrs = wordsOf('127.0.0.1', datagrams.length);
  const ports = new Uint16Array(datagrams.length).fill(port);
  return { buf, offsets, lengths, addrs, ports };
}

/** receiver collects what a reader delivers, checking the slot layout of every batch. */
function receiver(slotSize: number, headroom: number) {
  const got: Received[] = [];
  const counts: number[] = [];
  let layoutOk = true;
  const onBatch = (b: Batch) => {
    counts.push(b.count);
    for (let i = 0; i < b.count; i++) if (b.offsets[i] !== i * slotSize + headroom) layoutOk = false;
    got.push(...copyBatch(b));
  };
  return { got, counts, onBatch, layoutOk: () => layoutOk };
}

for (const mode of MODES)
  test(`${mode}: 200 datagrams sent with udpSendBatch arrive intact, in batches, with their source`, async () => {
    const tx = udpOpen('127.0.0.1', 0);
    const rx = udpOpen('127.0.0.1', 0);
    let reader: Reader | undefined;
    try {
      const sent = Array.from({ length: 200 }, (_, i) => payload(i, 1 + ((i * 37) % 1400)));
      const p = pack(sent, rx.port);
      // Half are queued before the reader starts (so full batches wait for it), half while it runs.
      assert.equal(udpSendBatch(tx.fd, p.buf, p.offsets, p.lengths, p.addrs, p.ports, 100), 100);
      const r = receiver(2048, 16);
      reader = startReader(rx.fd, 'udp', { maxBatch: 64, slotSize: 2048, headroom: 16, pool: 4, mode }, r.onBatch);
      const rest = (a: Uint32Array) => a.subarray(100);
      assert.equal(
        udpSendBatch(tx.fd, p.buf, rest(p.offsets), rest(p.lengths), p.addrs.subarray(400), p.ports.subarray(100), 100),
        100,
      );
      await waitFor(() => r.got.length >= 200, 5000, '200 datagrams');

      assert.equal(r.got.length, 200);
      r.got.forEach((g, i) => {
        assert.deepEqual(g.data, sent[i], `datagram ${i}`);
        assert.equal(g.addr, '127.0.0.1');
        assert.deepEqual(g.words, [0, 0, 0xffff, 0x7f000001], 'an IPv4 source is written mapped');
        assert.equal(g.port, tx.port);
      });
      assert.ok(r.layoutOk(), 'offsets[i] == i * slotSize + headroom');
      assert.ok(
        r.counts.some((c) => c > 1),
        `some batch holds several datagrams: ${r.counts.join(',')}`,
      );
      assert.ok(r.counts.every((c) => c >= 1 && c <= 64));
      assert.deepEqual(reader.stats(), { batches: r.counts.length, packets: 200, truncated: 0, errors: 0 });
    } finally {
      reader?.stop();
      closeFd(tx.fd);
      closeFd(rx.fd);
    }
  });

for (const mode of MODES)
  test(`${mode}: datagrams larger than a slot are skipped and counted; the others keep their order`, async () => {
    const tx = udpOpen('127.0.0.1', 0);
    const rx = udpOpen('127.0.0.1', 0);
    let reader: Reader | undefined;
    try {
      // slotSize 256 with no headroom leaves 256 - 32 = 224 bytes per datagram.
      const sizes = [100, 225, 224, 1000, 50];
      const sent = sizes.map((s, i) => payload(i, s));
      const p = pack(sent, rx.port);
      assert.equal(udpSendBatch(tx.fd, p.buf, p.offsets, p.lengths, p.addrs, p.ports, sizes.length), sizes.length);
      const r = receiver(256, 0);
      reader = startReader(rx.fd, 'udp', { maxBatch: 16, slotSize: 256, headroom: 0, pool: 2, mode }, r.onBatch);
      await waitFor(
        () => reader!.stats().truncated === 2 && r.got.length === 3,
        5000,
        'three datagrams and two truncations',
      );
      assert.deepEqual(
        r.got.map((g) => g.data),
        [sent[0], sent[2], sent[4]],
      );
      assert.deepEqual(r.counts, [3], 'one batch, compacted');
      assert.ok(r.layoutOk());
    } finally {
      reader?.stop();
      closeFd(tx.fd);
      closeFd(rx.fd);
    }
  });

/** sink is a plain dgram socket on loopback that records what it receives. */
async function sink() {
  const sock = dgram.createSocket('udp4');
  sock.bind(0, '127.0.0.1');
  await once(sock, 'listening');
  const got: Array<{ msg: Buffer; port: number; address: string }> = [];
  sock.on('message', (msg, rinfo) => got.push({ msg, port: rinfo.port, address: rinfo.address }));
  return { sock, got, port: sock.address().port };
}

test('udpSend sends one datagram; a destination the kernel refuses returns false', async () => {
  const tx = udpOpen('127.0.0.1', 0);
  const s = await sink();
  try {
    const buf = Buffer.from('..handshake..');
    assert.equal(udpSend(tx.fd, buf, 2, 9, LOOPBACK, 0, s.port), true);
    assert.equal(udpSend(tx.fd, buf, 0, 4, LOOPBACK, 0, 0), false, 'port 0 is EINVAL: dropped, not thrown');
    await waitFor(() => s.got.length === 1, 5000, 'the datagram');
    assert.deepEqual(s.got[0], { msg: Buffer.from('handshake'), port: tx.port, address: '127.0.0.1' });
  } finally {
    closeFd(tx.fd);
    s.sock.close();
  }
});

test('udpSendBatch drops only the datagram whose destination is refused', async () => {
  const tx = udpOpen('127.0.0.1', 0);
  const s = await sink();
  try {
    const sent = [payload(0, 30), payload(1, 31), payload(2, 32)];
    const p = pack(sent, s.port);
    p.ports[1] = 0;
    assert.equal(udpSendBatch(tx.fd, p.buf, p.offsets, p.lengths, p.addrs, p.ports, 3), 2);
    await waitFor(() => s.got.length === 2, 5000, 'two datagrams');
    assert.deepEqual(
      s.got.map((g) => g.msg),
      [sent[0], sent[2]],
    );
  } finally {
    closeFd(tx.fd);
    s.sock.close();
  }
});

test('UDP functions reject bad arguments with TypeError or RangeError', () => {
  const tx = udpOpen('127.0.0.1', 0);
  try {
    const p = pack([payload(0, 10), payload(1, 10)], 9);
    const cases: Array<[string, () => unknown, typeof TypeError | typeof RangeError]> = [
      [
        'offset beyond the buffer',
        () => udpSendBatch(tx.fd, p.buf, Uint32Array.of(0, 3000), p.lengths, p.addrs, p.ports, 2),
        RangeError,
      ],
      [
        'length beyond the buffer',
        () => udpSendBatch(tx.fd, p.buf, p.offsets, Uint32Array.of(10, 1498), p.addrs, p.ports, 2),
        RangeError,
      ],
      [
        'count beyond the arrays',
        () => udpSendBatch(tx.fd, p.buf, p.offsets, p.lengths, p.addrs, p.ports, 3),
        RangeError,
      ],
      [
        'addrWords shorter than 4 * count',
        () => udpSendBatch(tx.fd, p.buf, p.offsets, p.lengths, p.addrs.subarray(4), p.ports, 2),
        RangeError,
      ],
      [
        'ports of the wrong type',
        () =>
          udpSendBatch(tx.fd, p.buf, p.offsets, p.lengths, p.addrs, new Uint32Array(2) as unknown as Uint16Array, 2),
        TypeError,
      ],
      ['negative fd', () => udpSendBatch(-1, p.buf, p.offsets, p.lengths, p.addrs, p.ports, 2), RangeError],
      ['udpSend beyond the buffer', () => udpSend(tx.fd, p.buf, 2990, 11, LOOPBACK, 0, 9), RangeError],
      ['udpSend port 65536', () => udpSend(tx.fd, p.buf, 0, 1, LOOPBACK, 0, 65536), RangeError],
      ['udpSend wordIndex leaving fewer than 4 words', () => udpSend(tx.fd, p.buf, 0, 1, LOOPBACK, 1, 9), RangeError],
      ['udpSend buf not bytes', () => udpSend(tx.fd, [1, 2] as unknown as Buffer, 0, 1, LOOPBACK, 0, 9), TypeError],
    ];
    for (const [name, call, type] of cases) assert.throws(call, type, name);
  } finally {
    closeFd(tx.fd);
  }
});

test('a send on a closed descriptor throws with the errno name', () => {
  const tx = udpOpen('127.0.0.1', 0);
  closeFd(tx.fd);
  assert.throws(
    () => udpSend(tx.fd, Buffer.alloc(1), 0, 1, LOOPBACK, 0, 9),
    (e: NodeJS.ErrnoException) => e.code === 'EBADF' && e.message === `sendto fd ${tx.fd}: Bad file descriptor`,
  );
});

test('setMark puts SO_MARK on the socket (ss shows it) and refuses a bad descriptor', async (t) => {
  const { execFileSync } = await import('node:child_process');
  let ssOut: string;
  const s = udpOpen('127.0.0.1', 0);
  try {
    const { setMark } = await import('./index.js');
    setMark(s.fd, 51820);
    try {
      ssOut = execFileSync('ss', ['-u', '-a', '-n', '-e'], { encoding: 'utf8' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      t.skip('ss (iproute2) is not installed, so the mark cannot be read back');
      return;
    }
    const line = ssOut.split('\n').find((l) => l.includes(`127.0.0.1:${s.port} `));
    assert.ok(line, `the socket is listed by ss:\n${ssOut}`);
    assert.match(line, /fwmark:0xca6c\b/);
    assert.throws(() => setMark(1_000_000, 1), /SO_MARK/);
  } finally {
    closeFd(s.fd);
  }
});
