// FakeTunDriver keeps the TunDriver contract the daemon relies on: an open adapter is a link
// until it closes, a name in use is refused, remove deletes a leftover link, and a failure the
// test asks for happens once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeTun, FakeTunDriver } from './tun-fake.js';

const CFG = { name: 'wtest0', address: 0x64400001, network: { addr: 0x64400000, bits: 10 }, mtu: 1420 };

test('an open adapter is a link until it is closed, once', async () => {
  const drv = new FakeTunDriver();
  const tun = await drv.open(CFG);
  assert.ok(tun instanceof FakeTun);
  assert.deepEqual([tun.name, tun.mtu, drv.exists('wtest0')], ['wtest0', 1420, true]);
  assert.deepEqual(
    drv.opened.map((o) => o.config),
    [CFG],
  );
  tun.close();
  tun.close();
  assert.equal(drv.exists('wtest0'), false);
  assert.deepEqual(drv.calls, ['tun open wtest0', 'tun close wtest0']);
});

test('a name held by another adapter is refused; remove deletes a leftover link', async () => {
  const drv = new FakeTunDriver();
  drv.links.add('wtest0');
  await assert.rejects(drv.open(CFG), /adapter wtest0 is in use/);
  assert.equal(drv.remove('wtest0'), true);
  assert.equal(drv.remove('wtest0'), false, 'already gone');
  assert.equal((await drv.open(CFG)).name, 'wtest0');
});

test('failOpen fails the next open only', async () => {
  const drv = new FakeTunDriver();
  drv.failOpen = new Error('no TUN here');
  await assert.rejects(drv.open(CFG), /no TUN here/);
  assert.equal(drv.exists('wtest0'), false);
  await drv.open(CFG);
  assert.equal(drv.exists('wtest0'), true);
});

test('the adapter hands injected packets to the reader and collects what is written', async () => {
  const tun = (await new FakeTunDriver().open(CFG)) as FakeTun;
  const got: Buffer[] = [];
  const reader = tun.startReader((b) => {
    for (let i = 0; i < b.count; i++)
      got.push(Buffer.from(b.buf.subarray(b.offsets[i]!, b.offsets[i]! + b.lengths[i]!)));
  });
  tun.inject(Buffer.from('one'), Buffer.from('two'));
  assert.deepEqual(got.map(String), ['one', 'two']);
  const buf = Buffer.from('xxhello');
  assert.equal(tun.writeBatch(buf, Uint32Array.of(2), Uint32Array.of(5), 1), 1);
  assert.deepEqual(tun.written.map(String), ['hello']);
  reader.stop();
  assert.equal(tun.reading, false);
  assert.throws(() => tun.inject(Buffer.from('late')), /reader not started/);
});
