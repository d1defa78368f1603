// The watch hub's choice between a delta and a full map on a real socket: a stream that asked
// for deltas and holds the base gets the delta; a backed-up stream (a reader that stopped
// reading) queues deltas as a chain that applies in order, until they would outweigh the full
// map, which then replaces them; a stream without deltas gets full maps only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WatchHub, type MapFrames } from './watch-hub.js';

/** frames are version v's frames: its delta `dV` (against base) and its full map `vV`. */
function frames(base: number | null, v: number, fullBytes = 1 << 30): MapFrames {
  return {
    base,
    fullBytes,
    full: () => Buffer.from(`event: map\ndata: v${v}\n\n`),
    delta: () => Buffer.from(`event: delta\ndata: d${v}\n\n`),
  };
}

/** open serves one stream through a hub and returns the client's response, paused. */
async function open(
  hub: WatchHub,
  deltas: boolean,
  batch = false,
): Promise<{ res: IncomingMessage; server: ReturnType<typeof createServer>; sres: Promise<ServerResponse> }> {
  let got: (r: ServerResponse) => void = () => {};
  const sres = new Promise<ServerResponse>((r) => (got = r));
  const server = createServer((_req, r) => {
    hub.open('sys1', r, () => {}, deltas, batch);
    r.write(': open\n\n'); // the headers go out with the first bytes
    got(r);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const res = await new Promise<IncomingMessage>((r) => request({ port, host: '127.0.0.1', path: '/' }, r).end());
  res.pause();
  return { res, server, sres };
}

async function readAll(res: IncomingMessage, until: string): Promise<string> {
  res.setEncoding('latin1');
  let text = '';
  res.resume();
  await new Promise<void>((resolve) => {
    res.on('data', (c: string) => {
      text += c;
      if (text.includes(until)) resolve();
    });
  });
  return text;
}

function events(text: string): string[] {
  return [...text.matchAll(/^data: ([a-z0-9-]+)$/gm)].map((m) => m[1]!);
}

/** backUp fills a stream's socket with SSE comment lines until it must drain. */
function backUp(s: ServerResponse): void {
  const pad = Buffer.alloc(1 << 20, 'x');
  pad.write(': ', 0);
  pad[pad.length - 1] = 0x0a;
  for (let i = 0; i < 64 && !s.writableNeedDrain; i++) s.write(pad);
  assert.ok(s.writableNeedDrain, 'the stream is backed up');
}

/** backlogTaken waits (up to a second) until the hub counts no backlog: a frame written sits in
 * the socket's buffer until the kernel has it. */
async function backlogTaken(hub: WatchHub): Promise<void> {
  for (let i = 0; i < 100 && hub.pushFigures().backlog.streams > 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(hub.pushFigures().backlog, { streams: 0, bytes: 0 }, 'all taken');
}

test('deltas go to a stream that holds their base; a backed-up one chains them, then takes the full map', async () => {
  const hub = new WatchHub(10);
  const { res, server, sres } = await open(hub, true);
  try {
    const s = await sres;
    assert.equal(hub.sendMap('sys1', 5, frames(null, 5)), 'full', 'no base: the full map');
    assert.equal(hub.sendMap('sys1', 6, frames(5, 6)), 'delta');
    assert.equal(hub.sendMap('sys1', 8, frames(7, 8)), 'full', 'another base: the full map');
    // Back the stream up: the client reads nothing while 64 MiB of SSE comments go out.
    backUp(s);
    assert.equal(hub.sendMap('sys1', 9, frames(8, 9)), 'delta');
    assert.equal(hub.sendMap('sys1', 10, frames(9, 10)), 'delta');
    const text = await readAll(res, 'data: d10\n');
    assert.deepEqual(events(text), ['v5', 'd6', 'v8', 'd9', 'd10'], 'the chain arrives whole, in order');
  } finally {
    hub.closeAll();
    server.close();
  }
});

test('a backed-up chain that would outweigh the full map is replaced by it; no deltas for a stream that did not ask', async () => {
  const hub = new WatchHub(10);
  const { res, server, sres } = await open(hub, true);
  try {
    const s = await sres;
    hub.sendMap('sys1', 5, frames(null, 5));
    backUp(s);
    assert.equal(hub.sendMap('sys1', 6, frames(5, 6, 40)), 'delta');
    assert.equal(hub.sendMap('sys1', 7, frames(6, 7, 40)), 'full', 'two deltas would outweigh the full map');
    const text = await readAll(res, 'v7');
    assert.deepEqual(events(text), ['v5', 'v7']);
  } finally {
    hub.closeAll();
    server.close();
  }
  const old = new WatchHub(10);
  const o = await open(old, false);
  try {
    old.sendMap('sys1', 5, frames(null, 5));
    assert.equal(old.sendMap('sys1', 6, frames(5, 6)), 'full');
    assert.deepEqual(events(await readAll(o.res, 'v6')), ['v5', 'v6']);
  } finally {
    old.closeAll();
    o.server.close();
  }
});

test('a stream that takes batches gets its delta when the pass seals the batch, and the next delta against it', async () => {
  const hub = new WatchHub(10);
  const { res, server } = await open(hub, true, true);
  try {
    const queued: ((f: Buffer) => void)[] = [];
    const batched = (base: number | null, v: number): MapFrames => ({
      ...frames(base, v),
      delta: () => assert.fail('a batch stream is not sent a delta signed alone'),
      batched: (done) => {
        queued.push(() => done(Buffer.from(`event: delta\ndata: b${v}\n\n`)));
        return true;
      },
    });
    assert.equal(hub.sendMap('sys1', 5, batched(null, 5)), 'full', 'no base: the full map');
    assert.equal(hub.sendMap('sys1', 6, batched(5, 6)), 'delta');
    assert.equal(queued.length, 1, 'queued for the batch, not written');
    for (const q of queued.splice(0)) q(Buffer.alloc(0));
    assert.equal(hub.sendMap('sys1', 7, batched(6, 7)), 'delta', 'the stream counts as holding version 6');
    for (const q of queued.splice(0)) q(Buffer.alloc(0));
    const none: MapFrames = { ...frames(7, 8), batched: () => false };
    assert.equal(hub.sendMap('sys1', 8, none), 'full', 'no delta to batch: the full map');
    assert.deepEqual(events(await readAll(res, 'v8')), ['v5', 'b6', 'b7', 'v8']);
  } finally {
    hub.closeAll();
    server.close();
  }
});

test('push figures time the last change to the last map frame written, counting held-back frames when they go out and no pings; the backlog counts what the reader has not taken', async () => {
  const hub = new WatchHub(10);
  const { res, server, sres } = await open(hub, true);
  try {
    const s = await sres;
    hub.sendMap('sys1', 5, frames(null, 5));
    await backlogTaken(hub);
    hub.noteChange();
    assert.deepEqual(
      hub.pushFigures(),
      { lastWriteMs: null, frames: 0, backlog: { streams: 0, bytes: 0 } },
      'nothing written since the change, nothing held',
    );
    hub.pingAll();
    assert.equal(hub.pushFigures().frames, 0, 'a ping is no map');
    await new Promise((r) => setTimeout(r, 20));
    hub.sendMap('sys1', 6, frames(5, 6));
    const first = hub.pushFigures();
    assert.equal(first.frames, 1);
    assert.ok(first.lastWriteMs !== null && first.lastWriteMs >= 19, `written ${first.lastWriteMs} ms after`);
    // A backed-up stream holds the delta: it counts when the socket drains and it is written.
    backUp(s);
    hub.sendMap('sys1', 7, frames(6, 7));
    const held = hub.pushFigures();
    assert.equal(held.frames, 1, 'held back, not written yet');
    assert.equal(held.backlog.streams, 1, 'the backed-up stream is in the backlog');
    assert.ok(
      held.backlog.bytes >= s.writableLength + 'event: delta\ndata: d7\n\n'.length,
      `${held.backlog.bytes} bytes`,
    );
    await readAll(res, 'data: d7\n');
    const after = hub.pushFigures();
    assert.equal(after.frames, 2, 'written on drain');
    assert.ok(after.lastWriteMs! >= first.lastWriteMs!);
    await backlogTaken(hub);
  } finally {
    hub.closeAll();
    server.close();
  }
});

test('a backed-up stream due a full map holds nothing: the map current when it drains is rendered then', async () => {
  const hub = new WatchHub(10);
  let current = 5;
  let rendered = 0;
  hub.renderFull = (id) => {
    assert.equal(id, 'sys1');
    rendered++;
    return { frame: Buffer.from(`event: map\ndata: v${current}\n\n`), version: current };
  };
  const { res, server, sres } = await open(hub, true);
  try {
    const s = await sres;
    hub.sendMap('sys1', 5, frames(null, 5));
    backUp(s);
    const unrendered = (base: number, v: number): MapFrames => ({
      ...frames(base, v, 40),
      full: () => assert.fail(`the full map of version ${v} is rendered while the stream is backed up`),
    });
    assert.equal(hub.sendMap('sys1', 6, unrendered(5, 6)), 'delta');
    assert.equal(hub.sendMap('sys1', 7, unrendered(6, 7)), 'full', 'two deltas would outweigh the full map');
    assert.equal(hub.sendMap('sys1', 8, unrendered(7, 8)), 'full', 'still due: nothing more is held');
    assert.equal(rendered, 0, 'nothing rendered before the socket drains');
    current = 8;
    const text = await readAll(res, 'v8');
    assert.deepEqual(events(text), ['v5', 'v8'], 'the held delta is dropped; the current map comes once');
    assert.equal(rendered, 1);
    assert.equal(hub.sendMap('sys1', 9, frames(8, 9)), 'delta', 'the next change is a delta against it');
    assert.deepEqual(events(await readAll(res, 'd9')).slice(-1), ['d9']);
  } finally {
    hub.closeAll();
    server.close();
  }
});
