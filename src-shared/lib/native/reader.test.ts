// Reader lifecycle, in both modes: no callbacks after stop(), back-pressure that never
// overwrites a batch JS holds, reuse of the same Batch objects, process exit after stop(),
// teardown of a running reader (process.exit, worker termination), exceptions from onBatch,
// async context, and option checking.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AsyncLocalStorage } from 'node:async_hooks';
import { spawn } from 'node:child_process';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  closeFd,
  startReader,
  udpOpen,
  udpSend,
  udpSendBatch,
  type Batch,
  type Reader,
  type ReaderOptions,
} from './index.js';
import { findAddon } from './load.js';
import { copyBatch, LOOPBACK, MODES, sleep, waitFor, wordsOf } from './testing.js';

/** flood queues n numbered 64-byte datagrams from a fresh socket to `port`. */
function flood(port: number, n: number): void {
  const tx = udpOpen('127.0.0.1', 0);
  try {
    const buf = Buffer.alloc(n * 64);
    for (let i = 0; i < n; i++) buf.fill(i & 0xff, i * 64, i * 64 + 64).writeUInt32BE(i, i * 64);
    const offsets = Uint32Array.from({ length: n }, (_, i) => i * 64);
    const sent = udpSendBatch(
      tx.fd,
      buf,
      offsets,
      new Uint32Array(n).fill(64),
      wordsOf('127.0.0.1', n),
      new Uint16Array(n).fill(port),
      n,
    );
    assert.equal(sent, n);
  } finally {
    closeFd(tx.fd);
  }
}

function spin(ms: number, until: () => boolean = () => false): void {
  const end = Date.now() + ms;
  while (Date.now() < end && !until()) {
    /* hold the event loop on purpose */
  }
}

for (const mode of MODES)
  test(`${mode}: no callback runs after stop(), not even for batches already read`, async () => {
    const rx = udpOpen('127.0.0.1', 0);
    try {
      flood(rx.port, 20);
      let calls = 0;
      const reader: Reader = startReader(
        rx.fd,
        'udp',
        { maxBatch: 1, slotSize: 128, headroom: 0, pool: 8, mode },
        () => {
          calls++;
          // Let the thread queue more batches behind this one before stopping from inside onBatch.
          if (mode === 'thread') spin(2000, () => reader.stats().batches >= 4);
          reader.stop();
        },
      );
      await waitFor(() => calls > 0, 5000, 'the first batch');
      if (mode === 'thread') assert.ok(reader.stats().batches >= 4, 'batches were queued when stop() ran');
      // The poller would read up to 8 batches in this wake-up; stop() inside the first ends it.
      else assert.equal(reader.stats().batches, 1, 'nothing more was read in the same wake-up');
      flood(rx.port, 5);
      await sleep(200);
      assert.equal(calls, 1);
      reader.stop(); // idempotent, also outside the callback
      assert.ok(reader.stats().packets >= (mode === 'thread' ? 4 : 1), 'stats stay readable after stop');
    } finally {
      closeFd(rx.fd);
    }
  });

for (const mode of MODES)
  test(`${mode}: a batch JS holds is never overwritten, and the pool hands out the same objects`, async () => {
    const rx = udpOpen('127.0.0.1', 0);
    let reader: Reader | undefined;
    try {
      flood(rx.port, 200);
      const objects = new Set<Batch>();
      const bufs = new Set<Buffer>();
      const seen: number[] = [];
      let overwritten = 0;
      reader = startReader(rx.fd, 'udp', { maxBatch: 4, slotSize: 128, headroom: 8, pool: 2, mode }, (b) => {
        objects.add(b);
        bufs.add(b.buf);
        const before = copyBatch(b);
        spin(3); // the thread is busy refilling the other entry meanwhile
        const after = copyBatch(b);
        if (!before.every((p, i) => p.data.equals(after[i]!.data))) overwritten++;
        for (const p of before) seen.push(p.data.readUInt32BE(0));
      });
      await waitFor(() => seen.length >= 200, 5000, '200 datagrams');
      assert.equal(overwritten, 0);
      assert.deepEqual(
        seen,
        Array.from({ length: 200 }, (_, i) => i),
        'back-pressure loses nothing the socket buffer holds',
      );
      // 'poll' mode hands a batch over synchronously, so one entry is all it uses.
      const entries = mode === 'poll' ? 1 : 2;
      assert.equal(objects.size, entries, 'one Batch object per pool entry');
      assert.equal(bufs.size, entries, 'one Buffer per pool entry');
    } finally {
      reader?.stop();
      closeFd(rx.fd);
    }
  });

/** loaderArgs keeps the module loader flags (tsx when run from source) for child processes. */
function loaderArgs(): string[] {
  const out: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (/^--(import|require|loader|experimental-loader)=/.test(a)) out.push(a);
    else if (/^--(import|require|loader|experimental-loader)$/.test(a) && i + 1 < argv.length) out.push(a, argv[++i]!);
  }
  return out;
}

/** runChild runs an ES module snippet in a fresh node; `exited` is false if it outlived `ms`. */
function runChild(
  code: string,
  ms: number,
): Promise<{ exited: boolean; status: number | null; out: string; err: string }> {
  const index = new URL('./index.js', import.meta.url).href;
  const child = spawn(
    process.execPath,
    [...loaderArgs(), '--input-type=module', '-e', `const n = await import(${JSON.stringify(index)});\n${code}`],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    err += d;
  });
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve({ exited: false, status: null, out, err });
    }, ms);
    child.on('exit', (status) => {
      clearTimeout(timer);
      resolve({ exited: true, status, out, err });
    });
  });
}

const start = (mode: string) => `const s = n.udpOpen('127.0.0.1', 0);
const r = n.startReader(s.fd, 'udp', { maxBatch: 8, slotSize: 2048, headroom: 0, pool: 2, mode: '${mode}' }, () => {});
console.log('started');`;

for (const mode of MODES) {
  test(`${mode}: a stopped reader lets the process exit`, async () => {
    const t0 = Date.now();
    const { err, ...res } = await runChild(`${start(mode)}\nr.stop(); r.stop(); n.closeFd(s.fd);`, 5000);
    assert.deepEqual(res, { exited: true, status: 0, out: 'started\n' }, err);
    assert.ok(Date.now() - t0 < 4000, 'promptly');
  });

  test(`${mode}: a reader stopped inside onBatch lets the process exit`, async () => {
    const { err, ...res } = await runChild(
      `const s = n.udpOpen('127.0.0.1', 0);
const r = n.startReader(s.fd, 'udp', { maxBatch: 8, slotSize: 2048, headroom: 0, pool: 2, mode: '${mode}' }, (b) => {
  console.log('batch ' + b.count); r.stop(); n.closeFd(s.fd);
});
n.udpSend(s.fd, Buffer.from('x'), 0, 1, Uint32Array.of(0, 0, 0xffff, 0x7f000001), 0, s.port);`,
      5000,
    );
    assert.deepEqual(res, { exited: true, status: 0, out: 'batch 1\n' }, err);
  });

  test(`${mode}: a running reader keeps the process alive (control for the tests above)`, async () => {
    const res = await runChild(start(mode), 1500);
    assert.equal(res.out, 'started\n', res.err);
    assert.equal(res.exited, false);
  });

  test(`${mode}: process.exit() with a reader running exits cleanly`, async () => {
    const { err, ...res } = await runChild(
      `${start(mode)}
setInterval(() => n.udpSend(s.fd, Buffer.from('x'), 0, 1, Uint32Array.of(0, 0, 0xffff, 0x7f000001), 0, s.port), 1);
setTimeout(() => process.exit(7), 100);`,
      5000,
    );
    assert.deepEqual(res, { exited: true, status: 7, out: 'started\n' }, err);
  });

  test(`${mode}: terminating a worker with a busy reader, or letting one that stopped end, does not crash`, async () => {
    // Module hooks (tsx) do not reach workers, so the worker loads the addon itself. It floods
    // its own reader, so that batches are in flight when it is terminated. The exit listener goes
    // on before the wait for 'stopped': a worker that ends at once can deliver its last message
    // and its exit in one turn, and a listener added after the message would miss the exit.
    const addon = findAddon(dirname(fileURLToPath(import.meta.url)));
    const body = (stopAfter: number) => `{
  const n = require(${JSON.stringify(addon)});
  const { parentPort } = require('node:worker_threads');
  const s = n.udpOpen('127.0.0.1', 0);
  let got = 0;
  const r = n.startReader(s.fd, 'udp', { maxBatch: 8, slotSize: 2048, headroom: 0, pool: 2, mode: '${mode}' }, (b, count) => {
    got += count;
    if (got >= ${stopAfter}) { r.stop(); n.closeFd(s.fd); clearInterval(t); parentPort.postMessage('stopped'); }
    else if (got >= 20) parentPort.postMessage('busy');
  });
  const t = setInterval(() => { for (let i = 0; i < 8; i++) n.udpSend(s.fd, Buffer.from('x'), 0, 1, Uint32Array.of(0, 0, 0xffff, 0x7f000001), 0, s.port); }, 1);
}`;
    const { err, ...res } = await runChild(
      `const { Worker } = await import('node:worker_threads');
const { once } = await import('node:events');
const busy = new Worker(${JSON.stringify(body(1e12))}, { eval: true, execArgv: [] });
await once(busy, 'message');
console.log('exit code ' + await busy.terminate());
const ending = new Worker(${JSON.stringify(body(50))}, { eval: true, execArgv: [] });
const exited = once(ending, 'exit');
await new Promise((resolve) => ending.on('message', (m) => { if (m === 'stopped') resolve(); }));
const [code] = await exited;
console.log('ended with ' + code);`,
      10000,
    );
    assert.deepEqual(res, { exited: true, status: 0, out: 'exit code 1\nended with 0\n' }, err);
  });

  test(`${mode}: an exception thrown by onBatch surfaces as an uncaught exception`, async () => {
    const res = await runChild(
      `const s = n.udpOpen('127.0.0.1', 0);
let r;
process.on('uncaughtException', (e) => { console.log('uncaught: ' + e.message); r.stop(); n.closeFd(s.fd); });
r = n.startReader(s.fd, 'udp', { maxBatch: 8, slotSize: 2048, headroom: 0, pool: 2, mode: '${mode}' }, () => { throw new Error('boom'); });
n.udpSend(s.fd, Buffer.from('x'), 0, 1, Uint32Array.of(0, 0, 0xffff, 0x7f000001), 0, s.port);`,
      5000,
    );
    const { err, ...rest } = res;
    assert.deepEqual(rest, { exited: true, status: 0, out: 'uncaught: boom\n' }, err);
  });

  test(`${mode}: onBatch runs in the async context of startReader`, async () => {
    const rx = udpOpen('127.0.0.1', 0);
    const als = new AsyncLocalStorage<string>();
    const stores: Array<string | undefined> = [];
    const reader = als.run('started here', () =>
      startReader(rx.fd, 'udp', { maxBatch: 8, slotSize: 128, headroom: 0, pool: 2, mode }, () => {
        stores.push(als.getStore());
      }),
    );
    try {
      udpSend(rx.fd, Buffer.from('x'), 0, 1, LOOPBACK, 0, rx.port);
      await waitFor(() => stores.length > 0, 5000, 'a batch');
      assert.deepEqual(stores, ['started here']);
    } finally {
      reader.stop();
      closeFd(rx.fd);
    }
  });
}

test('poll: one wake-up reads at most 8 full batches, then lets other events run', async () => {
  const rx = udpOpen('127.0.0.1', 0);
  let batches = 0;
  let atImmediate = -1;
  try {
    flood(rx.port, 20);
    const reader = startReader(rx.fd, 'udp', { maxBatch: 1, slotSize: 128, headroom: 0, pool: 1, mode: 'poll' }, () => {
      if (batches++ === 0)
        setImmediate(() => {
          atImmediate = batches;
        });
    });
    try {
      await waitFor(() => batches === 20, 5000, 'twenty batches');
      assert.equal(atImmediate, 8);
    } finally {
      reader.stop();
    }
  } finally {
    closeFd(rx.fd);
  }
});

test('poll: promise jobs and nextTicks queued by onBatch run before the next batch', async () => {
  const rx = udpOpen('127.0.0.1', 0);
  const order: string[] = [];
  try {
    flood(rx.port, 3); // three batches of one, read in one wake-up
    const reader = startReader(
      rx.fd,
      'udp',
      { maxBatch: 1, slotSize: 128, headroom: 0, pool: 1, mode: 'poll' },
      (b) => {
        const i = b.buf.readUInt32BE(b.offsets[0]!);
        order.push(`batch ${i}`);
        void Promise.resolve().then(() => order.push(`promise ${i}`));
        process.nextTick(() => order.push(`tick ${i}`));
      },
    );
    try {
      await waitFor(() => order.length >= 9, 5000, 'three batches');
      assert.equal(reader.stats().batches, 3);
      assert.deepEqual(
        order,
        [0, 1, 2].flatMap((i) => [`batch ${i}`, `tick ${i}`, `promise ${i}`]),
      );
    } finally {
      reader.stop();
    }
  } finally {
    closeFd(rx.fd);
  }
});

for (const mode of MODES)
  test(`${mode}: the reader reads its own duplicate: closing fd early is safe, and stop() closes the socket`, async () => {
    const rx = udpOpen('127.0.0.1', 0);
    const seen: number[] = [];
    const reader = startReader(rx.fd, 'udp', { maxBatch: 8, slotSize: 128, headroom: 0, pool: 2, mode }, (b) => {
      for (const p of copyBatch(b)) seen.push(p.data.readUInt32BE(0));
    });
    try {
      closeFd(rx.fd);
      flood(rx.port, 3);
      await waitFor(() => seen.length === 3, 5000, 'datagrams after closeFd');
      assert.throws(() => udpOpen('127.0.0.1', rx.port), { code: 'EADDRINUSE' }, 'the reader still holds the socket');
    } finally {
      reader.stop();
    }
    const again = udpOpen('127.0.0.1', rx.port); // the port is free once the reader has stopped
    closeFd(again.fd);
  });

for (const mode of MODES)
  test(`${mode}: startReader on a descriptor that is not open throws EBADF`, () => {
    // A number far above any descriptor limit: a just-closed number may already be reused.
    const fd = 2 ** 30;
    assert.throws(
      () => startReader(fd, 'udp', { maxBatch: 8, slotSize: 128, headroom: 0, pool: 2, mode }, () => {}).stop(),
      (e: NodeJS.ErrnoException) => e.code === 'EBADF' && e.message === `startReader: fd ${fd}: Bad file descriptor`,
    );
  });

test('startReader rejects bad arguments without starting a reader', () => {
  const rx = udpOpen('127.0.0.1', 0);
  try {
    const ok: ReaderOptions = { maxBatch: 8, slotSize: 256, headroom: 16, pool: 2 };
    const noop = () => {};
    const cases: Array<[string, () => unknown, typeof TypeError | typeof RangeError]> = [
      ['unknown kind', () => startReader(rx.fd, 'tcp' as 'udp', ok, noop), RangeError],
      ['opts not an object', () => startReader(rx.fd, 'udp', 5 as unknown as ReaderOptions, noop), TypeError],
      ['maxBatch 0', () => startReader(rx.fd, 'udp', { ...ok, maxBatch: 0 }, noop), RangeError],
      ['maxBatch 1025', () => startReader(rx.fd, 'udp', { ...ok, maxBatch: 1025 }, noop), RangeError],
      [
        'slot without room for tailroom',
        () => startReader(rx.fd, 'udp', { ...ok, slotSize: 16 + 32 }, noop),
        RangeError,
      ],
      ['pool 0', () => startReader(rx.fd, 'udp', { ...ok, pool: 0 }, noop), RangeError],
      [
        'missing maxBatch',
        () => startReader(rx.fd, 'udp', { ...ok, maxBatch: undefined as unknown as number }, noop),
        TypeError,
      ],
      [
        'more than 256 MiB of pool',
        () => startReader(rx.fd, 'udp', { maxBatch: 1024, slotSize: 65535, headroom: 0, pool: 8 }, noop),
        RangeError,
      ],
      [
        'onError not a function',
        () => startReader(rx.fd, 'udp', { ...ok, onError: 1 as unknown as () => void }, noop),
        TypeError,
      ],
      ['onBatch not a function', () => startReader(rx.fd, 'udp', ok, null as unknown as () => void), TypeError],
      ['negative fd', () => startReader(-1, 'udp', ok, noop), RangeError],
      ['unknown mode', () => startReader(rx.fd, 'udp', { ...ok, mode: 'select' as 'poll' }, noop), RangeError],
      ['mode too long', () => startReader(rx.fd, 'udp', { ...ok, mode: 'polling-mode' as 'poll' }, noop), RangeError],
      ['mode not a string', () => startReader(rx.fd, 'udp', { ...ok, mode: 1 as unknown as 'poll' }, noop), TypeError],
      [
        'poll mode with a bad option',
        () => startReader(rx.fd, 'udp', { ...ok, pool: 0, mode: 'poll' }, noop),
        RangeError,
      ],
    ];
    // Stop a reader that should not have started, so that a failure cannot hang the file.
    for (const [name, call, type] of cases) assert.throws(() => (call() as Reader | undefined)?.stop(), type, name);
  } finally {
    closeFd(rx.fd);
  }
});

for (const mode of MODES)
  test(`${mode}: reader methods refuse an object that is not a reader`, () => {
    const rx = udpOpen('127.0.0.1', 0);
    const reader = startReader(rx.fd, 'udp', { maxBatch: 1, slotSize: 128, headroom: 0, pool: 1, mode }, () => {});
    try {
      assert.throws(() => Reflect.apply(reader.stop, {}, []), TypeError);
      assert.throws(() => Reflect.apply(reader.stats, undefined, []), TypeError);
    } finally {
      reader.stop();
      closeFd(rx.fd);
    }
  });
