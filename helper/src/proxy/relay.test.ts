// The proxies' byte pump (relay.ts, splice-native.ts) on real loopback sockets: every byte
// arrives in order both ways through the JS relay and through the native splice pump, half-close
// passes through, a slow reader stalls a fast sender instead of making the proxy buffer, and
// idleness or destroying one side ends a spliced pair.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { RELAY_MAX_PENDING, SPLICE_AFTER_BYTES, splice } from './relay.js';
import { nativeSpliceAvailable, splicedPairs } from './splice-native.js';
import { spliceCount } from '../../../src-shared/lib/native/index.js';

const MiB = 1024 * 1024;
const native = nativeSpliceAvailable();

/** Proxied is a client connected through splice() to a server-side socket. */
interface Proxied {
  client: net.Socket;
  server: net.Socket;
  /** proxyToServer is the proxy's socket towards the server (the one a slow server backs up). */
  proxyToServer: net.Socket;
  close(): void;
}

/** proxied builds client → proxy → server on loopback and splices at the proxy. */
async function proxied(spliceAfter: number, idleMs = 60_000): Promise<Proxied> {
  const listen = (s: net.Server): Promise<number> =>
    new Promise((r) => s.listen(0, '127.0.0.1', () => r((s.address() as net.AddressInfo).port)));
  let server!: net.Socket;
  const backend = net.createServer({ allowHalfOpen: true, pauseOnConnect: true });
  const gotServer = new Promise<void>((r) => {
    backend.once('connection', (s: net.Socket) => {
      server = s;
      r();
    });
  });
  const backendPort = await listen(backend);
  let proxyToServer!: net.Socket;
  const front = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (c) => {
    proxyToServer = net.connect({ port: backendPort, host: '127.0.0.1', allowHalfOpen: true }, () =>
      splice(c, proxyToServer, idleMs, spliceAfter),
    );
  });
  const frontPort = await listen(front);
  const client = net.connect({ port: frontPort, host: '127.0.0.1', allowHalfOpen: true });
  await gotServer;
  return {
    client,
    server,
    proxyToServer,
    close: () => {
      client.destroy();
      server.destroy();
      front.close();
      backend.close();
    },
  };
}

/** pattern fills b with the stream's bytes from offset `at` on: byte i is i mod 251. */
function pattern(b: Buffer, at: number): Buffer {
  for (let i = 0; i < b.length; i++) b[i] = (at + i) % 251;
  return b;
}

/** receive reads s to its end, checking the pattern, and resolves with the byte count. */
function receive(s: net.Socket): Promise<number> {
  return new Promise((resolve, reject) => {
    let n = 0;
    s.on('data', (d: Buffer) => {
      for (let i = 0; i < d.length; i += 4099) {
        if (d[i] !== (n + i) % 251) reject(new Error(`byte ${n + i} is ${d[i]}, expected ${(n + i) % 251}`));
      }
      n += d.length;
    });
    s.once('end', () => resolve(n));
    s.once('error', reject);
    s.resume();
  });
}

/** send writes total pattern bytes, waiting for drain; sent() says how many the kernel took. */
function send(s: net.Socket, total: number, chunk = MiB): { done: Promise<void>; sent: () => number } {
  let sent = 0;
  const bufs = [0, 1].map(() => Buffer.alloc(chunk));
  const done = (async () => {
    for (let at = 0; at < total; at += chunk) {
      const b = pattern(bufs[(at / chunk) % 2]!, at).subarray(0, Math.min(chunk, total - at));
      const ok = s.write(b, (e) => {
        if (!e) sent += b.length;
      });
      if (!ok) await new Promise((r) => s.once('drain', r));
    }
    await new Promise<void>((r) => s.end(r));
  })();
  return { done, sent: () => sent };
}

function ended(s: net.Socket): Promise<unknown> {
  return new Promise((r) => s.once('end', r).resume());
}

const modes = [
  { name: 'JS relay', spliceAfter: Infinity, skip: false },
  { name: 'native splice pump', spliceAfter: 0, skip: !native },
  // The proxies' own setting: the hand-over happens mid-stream, with bytes in flight.
  { name: 'JS, then the pump after SPLICE_AFTER_BYTES', spliceAfter: SPLICE_AFTER_BYTES, skip: !native },
] as const;

for (const m of modes) {
  test(
    `${m.name}: 16 MiB each way arrive whole and in order, and half-close passes through`,
    { skip: m.skip },
    async () => {
      const p = await proxied(m.spliceAfter);
      try {
        const up = receive(p.server);
        const down = receive(p.client);
        const a = send(p.client, 16 * MiB);
        await a.done;
        // The client's FIN reached the server while the server can still answer.
        assert.equal(await up, 16 * MiB);
        if (m.spliceAfter < 16 * MiB) assert.equal(splicedPairs(), 1, 'the pair is with the pump');
        await send(p.server, 16 * MiB).done;
        assert.equal(await down, 16 * MiB);
        if (!p.proxyToServer.closed) await new Promise((r) => p.proxyToServer.once('close', r));
        assert.equal(splicedPairs(), 0);
      } finally {
        p.close();
      }
    },
  );

  test(
    `${m.name}: a paused receiver stalls a 100 MiB sender; the proxy holds a bounded amount`,
    { skip: m.skip },
    async () => {
      const p = await proxied(m.spliceAfter);
      try {
        const a = send(p.client, 100 * MiB);
        let maxQueued = 0;
        let last = -1;
        // The server never reads: wait until the sender makes no more progress.
        for (let still = 0; still < 5;) {
          await new Promise((r) => setTimeout(r, 100));
          maxQueued = Math.max(maxQueued, p.proxyToServer.writableLength);
          still = a.sent() === last ? still + 1 : 0;
          last = a.sent();
        }
        // What the sender got rid of sits in kernel socket buffers (each can autotune to several
        // MiB; 8-12 MiB in all, measured) and, in the proxy, in at most RELAY_MAX_PENDING plus a
        // read, or one pipe.
        assert.ok(last < 32 * MiB, `the sender was not held back: ${last} bytes accepted`);
        assert.ok(maxQueued <= RELAY_MAX_PENDING + 256 * 1024, `the proxy queued ${maxQueued} bytes in JS`);
        const got = receive(p.server);
        await a.done;
        assert.equal(await got, 100 * MiB);
      } finally {
        p.close();
      }
    },
  );
}

test('native splice pump: a silent pair is closed after idleMs', { skip: !native }, async () => {
  const p = await proxied(0, 300);
  try {
    const t0 = Date.now();
    // The proxy's close() is a FIN to each end.
    await Promise.all([ended(p.client), ended(p.server)]);
    const took = Date.now() - t0;
    // The pump sweeps once a second.
    assert.ok(took >= 250 && took < 2500, `closed after ${took} ms`);
    assert.equal(splicedPairs(), 0);
  } finally {
    p.close();
  }
});

test('native splice pump: destroying one side ends the pair and closes the other', { skip: !native }, async () => {
  const p = await proxied(0);
  try {
    p.client.write('x');
    const first = await new Promise<Buffer>((r) => p.server.once('data', r).resume());
    assert.equal(first.toString(), 'x');
    const pumped = spliceCount();
    assert.ok(pumped >= 1);
    p.proxyToServer.destroy();
    await ended(p.client);
    assert.equal(spliceCount(), pumped - 1);
    assert.equal(splicedPairs(), 0);
  } finally {
    p.close();
  }
});
