// Micro-benchmark of the device's receive path: a device opens, checks and hands to its adapter
// batches of 128 small transport messages (64-byte inner packets, so the per-datagram work shows,
// not the cipher's per-byte cost) from an IPv4 source and from an IPv6 source (the endpoint
// comparison is the same four words either way). The adapter's write is a counter, and the
// batches are built before the clock starts. Prints ns per packet.
// Run: node dist/helper/src/wireguard/device/receive.bench.js [batches]
import { MAX_BATCH, type Batch } from '../../../../src-shared/lib/native/batch.js';
import { parseIp } from '../../../../src-shared/lib/ip/addr.js';
import { writeWordsAddress } from '../../../../src-shared/lib/ip/words.js';
import { ip, pair, until } from './testing.js';

const SLOT = 256;

/** inner is a 64-byte IPv4/UDP packet from a's to b's virtual address. */
function inner(seq: number): Buffer {
  const p = Buffer.alloc(64);
  p[0] = 0x45;
  p.writeUInt16BE(64, 2);
  p[8] = 64;
  p[9] = 17;
  p.writeUInt32BE(ip('100.64.0.1'), 12);
  p.writeUInt32BE(ip('100.64.0.2'), 16);
  p.writeUInt16BE(seq & 0xffff, 20);
  return p;
}

/** run measures one source family; returns ns per packet. */
async function run(source: string, batches: number): Promise<number> {
  const other = source.includes(':') ? '2001:db8::2' : '192.0.2.2';
  const { a, b, net, stop } = pair({ addrs: [source, other] });
  try {
    a.tun.inject(inner(0));
    await until(() => b.tun.written.length === 1);
    // From now on a's datagrams are kept instead of delivered.
    const captured: Buffer[] = [];
    net.drop = (_to, data) => {
      if (data.readUInt32LE(0) === 4) captured.push(data);
      return true;
    };
    for (let i = 0; i < batches; i++)
      a.tun.inject(...Array.from({ length: MAX_BATCH }, (_, j) => inner(i * MAX_BATCH + j)));
    const from = parseIp(source)!;
    // Each datagram carries the local address it arrived on, as the native reader reports it.
    const to = parseIp(other)!;
    const built: Batch[] = [];
    for (let i = 0; i < batches; i++) {
      const bt: Batch = {
        buf: Buffer.alloc(SLOT * MAX_BATCH),
        count: MAX_BATCH,
        offsets: Uint32Array.from({ length: MAX_BATCH }, (_, j) => j * SLOT),
        lengths: new Uint32Array(MAX_BATCH),
        addrWords: new Uint32Array(MAX_BATCH * 4),
        ports: new Uint16Array(MAX_BATCH).fill(51820),
        localWords: new Uint32Array(MAX_BATCH * 4),
        ifindex: new Uint32Array(MAX_BATCH),
      };
      for (let j = 0; j < MAX_BATCH; j++) {
        const d = captured[i * MAX_BATCH + j]!;
        d.copy(bt.buf, j * SLOT);
        bt.lengths[j] = d.length;
        writeWordsAddress(bt.addrWords, 4 * j, from);
        writeWordsAddress(bt.localWords, 4 * j, to);
      }
      built.push(bt);
    }
    let written = 0;
    b.tun.writeBatch = (_buf, _offsets, _lengths, count) => {
      written += count;
      return count;
    };
    const start = process.hrtime.bigint();
    for (const bt of built) b.bind.deliverBatch(bt);
    const ns = Number(process.hrtime.bigint() - start) / (batches * MAX_BATCH);
    if (written !== batches * MAX_BATCH)
      throw new Error(`${written} packets written: ${JSON.stringify(b.dev.drops.snapshot())}`);
    return ns;
  } finally {
    stop();
  }
}

const batches = Number(process.argv[2] ?? 600);
for (const source of ['192.0.2.1', '2001:db8::1'])
  process.stdout.write(`receive path, source ${source}: ${(await run(source, batches)).toFixed(0)} ns/packet\n`);
