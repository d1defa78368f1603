// The receive path opens a whole batch in one native call (crypt-batch.ts), with the crypto
// threads off and on: within one batch a forged message fails alone, a duplicate and a replay
// of an earlier batch's message fail the replay window (updated only after authentication,
// whitepaper §5.4.6), and the rest reach the adapter in their order of arrival.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_BATCH, type Batch } from '../../../../src-shared/lib/native/batch.js';
import { aeadThreads } from '../../../../src-shared/lib/native/index.js';
import { parseIp } from '../../../../src-shared/lib/ip/addr.js';
import { writeWordsAddress } from '../../../../src-shared/lib/ip/words.js';
import { pair, udpPacket, until } from './testing.js';

const SLOT = 2048;

/** batchOf lays datagrams from 192.0.2.1:51820 out as the native UDP reader would. */
function batchOf(datagrams: Buffer[]): Batch {
  const n = datagrams.length;
  const b: Batch = {
    buf: Buffer.alloc(SLOT * MAX_BATCH),
    count: n,
    offsets: Uint32Array.from({ length: MAX_BATCH }, (_, j) => j * SLOT),
    lengths: new Uint32Array(MAX_BATCH),
    addrWords: new Uint32Array(MAX_BATCH * 4),
    ports: new Uint16Array(MAX_BATCH).fill(51820),
    localWords: new Uint32Array(MAX_BATCH * 4),
    ifindex: new Uint32Array(MAX_BATCH),
  };
  datagrams.forEach((d, j) => {
    d.copy(b.buf, j * SLOT);
    b.lengths[j] = d.length;
    writeWordsAddress(b.addrWords, 4 * j, parseIp('192.0.2.1')!);
    writeWordsAddress(b.localWords, 4 * j, parseIp('192.0.2.2')!);
  });
  return b;
}

for (const workers of [0, 1]) {
  test(`one batch, ${workers} crypto worker(s): forged, duplicate and replayed messages fail alone, the rest keep their order`, async () => {
    const { a, b, net, stop } = pair();
    try {
      a.tun.inject(udpPacket('100.64.0.1', '100.64.0.2', Buffer.from('handshake')));
      await until(() => b.tun.written.length === 1);
      const captured: Buffer[] = [];
      net.drop = (_to, data) => {
        if (data.readUInt32LE(0) === 4) captured.push(Buffer.from(data));
        return true;
      };
      // Large packets, so that a batch passes the pool's threshold with workers on.
      const payload = (k: number): Buffer => Buffer.alloc(1200, k);
      a.tun.inject(...Array.from({ length: 40 }, (_, k) => udpPacket('100.64.0.1', '100.64.0.2', payload(k))));
      assert.equal(captured.length, 40);
      aeadThreads(workers, 0);
      b.bind.deliverBatch(batchOf(captured.slice(0, 10)));
      const forged = Buffer.from(captured[12]!);
      forged[forged.length - 1]! ^= 1;
      const second = [captured[10]!, captured[11]!, captured[11]!, forged, captured[3]!, ...captured.slice(13)];
      b.bind.deliverBatch(batchOf(second));
      const got = b.tun.written.slice(1).map((p) => p[28]!);
      const want = [...Array.from({ length: 12 }, (_, k) => k), ...Array.from({ length: 27 }, (_, k) => 13 + k)];
      assert.deepEqual(got, want);
      assert.equal(b.dev.drops.get('replayed-counter'), 2);
      assert.equal(b.dev.drops.get('decrypt-failed'), 1);
    } finally {
      stop();
      aeadThreads(0, 0);
    }
  });
}
