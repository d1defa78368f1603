// The WireGuard bind's segmentation offloads and their switches: on by default (the batch
// arrives coalesced at a GRO reader over loopback, which only GSO on the sender produces),
// off with WARREN_OFFLOAD=off or the specific WARREN_UDP_GSO / WARREN_UDP_GRO, and a typo in a
// switch refused rather than silently measuring the default.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openNativeBind, type Bind } from './bind.js';
import { udpOffloadWish } from '../../../../src-shared/lib/native/offload.js';
import type { Reader } from '../../../../src-shared/lib/native/types.js';

const SWITCHES = ['WARREN_OFFLOAD', 'WARREN_UDP_GSO', 'WARREN_UDP_GRO'];

/** withEnv opens the two binds with the switches set as given. */
function withEnv<T>(env: Record<string, string>, f: () => T): T {
  const saved = SWITCHES.map((k) => process.env[k]);
  for (const k of SWITCHES) delete process.env[k];
  Object.assign(process.env, env);
  try {
    return f();
  } finally {
    SWITCHES.forEach((k, i) => {
      if (saved[i] === undefined) delete process.env[k];
      else process.env[k] = saved[i];
    });
  }
}

/** exchange sends 100 datagrams of 1,200 bytes from tx to rx in one batch and waits for them. */
async function exchange(tx: Bind, rx: Bind): Promise<{ got: Buffer[]; reader: Reader; sent: Buffer[] }> {
  const got: Buffer[] = [];
  const reader = rx.startReader(
    1500,
    (b) => {
      for (let i = 0; i < b.count; i++)
        got.push(Buffer.from(b.buf.subarray(b.offsets[i]!, b.offsets[i]! + b.lengths[i]!)));
    },
    (e) => assert.fail(e),
  );
  const n = 100;
  const buf = Buffer.alloc(n * 2048);
  const offsets = new Uint32Array(n);
  const lengths = new Uint32Array(n).fill(1200);
  const words = new Uint32Array(4 * n);
  const ports = new Uint16Array(n).fill(rx.port);
  const sent: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const off = i * 2048;
    offsets[i] = off;
    buf.fill(i, off, off + 1200);
    words.set([0, 0, 0xffff, 0x7f000001], 4 * i);
    sent.push(Buffer.from(buf.subarray(off, off + 1200)));
  }
  assert.equal(tx.sendBatch(buf, offsets, lengths, words, ports, n), n);
  const end = Date.now() + 3000;
  while (got.length < n && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  return { got, reader, sent };
}

for (const [name, env, gso, gro] of [
  ['by default both offloads are on', {}, true, true],
  ['WARREN_OFFLOAD=off turns both off', { WARREN_OFFLOAD: 'off' }, false, false],
  ['WARREN_UDP_GSO=off turns GSO off only', { WARREN_UDP_GSO: 'off' }, false, true],
  ['WARREN_OFFLOAD=off with WARREN_UDP_GRO=on keeps GRO', { WARREN_OFFLOAD: 'off', WARREN_UDP_GRO: 'on' }, false, true],
] as const)
  test(`bind: ${name}, and the datagrams arrive the same`, async () => {
    const [tx, rx] = withEnv(env, () => [openNativeBind('127.0.0.1', 0), openNativeBind('127.0.0.1', 0)]);
    let reader: Reader | undefined;
    try {
      const r = await exchange(tx, rx);
      reader = r.reader;
      assert.deepEqual(r.got, r.sent, 'all 100 datagrams, intact and in order');
      assert.deepEqual(tx.offloads(), { udpGso: gso, udpGro: false }, 'the sender has no reader');
      assert.deepEqual(rx.offloads(), { udpGso: gso, udpGro: gro });
      const coalesced = reader.stats().coalesced ?? 0;
      if (gso && gro) assert.ok(coalesced > 0, 'GSO from the sender arrived coalesced at the GRO reader');
      else assert.equal(coalesced, 0, 'nothing coalesced without both ends offloading');
    } finally {
      reader?.stop();
      tx.close();
      rx.close();
    }
  });

test('an offload switch that is neither on nor off is refused with its name', () => {
  assert.throws(() => udpOffloadWish({ WARREN_UDP_GSO: 'of' }), /WARREN_UDP_GSO="of": expected 'on' or 'off'/);
  assert.deepEqual(udpOffloadWish({}), { gso: true, gro: true });
  assert.deepEqual(udpOffloadWish({ WARREN_OFFLOAD: '0', WARREN_UDP_GSO: '1' }), { gso: true, gro: false });
});
