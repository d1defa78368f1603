// Scale: 1,000 simulated systems, each with its own UDP socket on 127.0.0.1, register with one
// relay and each sends a packet to another; then 300 TCP systems do the same. Everything must
// arrive. UDP may lose datagrams when a thousand arrive at once, as it may on a real network,
// so clients retry like real ones do (a registration every 500 ms until answered, a send
// until it arrived); the retries are reported with the timings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NatKind } from '../../src-shared/wire/nat-wire.js';
import { Relay, type RelayLimits } from './server.js';
import { startRelay } from './sockets.js';
import {
  drained,
  recvOf,
  registerMessage,
  sendMessage,
  TcpClient,
  testCoordinator,
  testLog,
  testSystem,
  UdpClient,
  type TestSystem,
} from './test-support.js';

const coord = testCoordinator();
// Every simulated system shares 127.0.0.1; in the field they have addresses of their own.
const limits: Partial<RelayLimits> = {
  registerPerIpPerSecond: 1e6,
  registerBurstPerIp: 1e6,
  registerPerPrefixPerSecond: 1e6,
  registerBurstPerPrefix: 1e6,
  maxPendingTcp: 1_000,
};

/** inBatches runs fn over items, at most `size` at a time, to keep the kernel queues short. */
async function inBatches<T>(items: T[], size: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  for (let at = 0; at < items.length; at += size) {
    await Promise.all(items.slice(at, at + size).map((item, j) => fn(item, at + j)));
  }
}

async function withRetry<T>(attempt: () => Promise<T>, retries: { n: number }, tries = 10): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (e) {
      if (i >= tries) throw e;
      retries.n++;
    }
  }
}

test('1,000 UDP systems register and each reaches another through the relay', async (t) => {
  const N = 1_000;
  const r = await startRelay({
    coordinatorKey: coord.publicKey,
    relayKey: coord.relayKey,
    log: testLog(1).log,
    udp: '127.0.0.1:0',
    limits,
  });
  const clients: UdpClient[] = [];
  try {
    const t0 = performance.now();
    for (let i = 0; i < N; i++) clients.push(await UdpClient.open(r.udpPort!));
    const systems: TestSystem[] = clients.map((_, i) => testSystem(coord, `sys-${i}`));
    const t1 = performance.now();

    const retries = { n: 0 };
    await inBatches(clients, 100, async (c, i) => {
      await withRetry(() => c.request(registerMessage(systems[i]!), NatKind.relayRegistered, 500), retries);
    });
    const t2 = performance.now();
    assert.equal(r.relay.stats().sessions, N);

    // i sends to (i + 7) mod N, so each system receives exactly one packet, from i - 7.
    await inBatches(clients, 100, async (c, i) => {
      const j = (i + 7) % N;
      const payload = Buffer.from(`from ${i} to ${j}`);
      await withRetry(async () => {
        c.send(sendMessage(systems[j]!.id, payload));
        const got = recvOf(await clients[j]!.inbox.next((m) => m[3] === NatKind.relayRecv, 500, `the packet for ${j}`));
        assert.equal(got?.from, systems[i]!.id.toString('hex'));
        assert.deepEqual(got?.payload, payload);
      }, retries);
    });
    const t3 = performance.now();
    const s = r.relay.stats();
    assert.ok(s.forwarded >= N);
    assert.equal(s.sessions, N);
    assert.deepEqual(s.dropped, {});

    // And the relay still serves the first pair afterwards.
    clients[0]!.send(sendMessage(systems[1]!.id, Buffer.from('after')));
    assert.equal(recvOf(await clients[1]!.inbox.next((m) => m[3] === NatKind.relayRecv))?.payload.toString(), 'after');

    t.diagnostic(`${N} sockets and identities ready in ${(t1 - t0).toFixed(0)} ms`);
    t.diagnostic(
      `${N} registrations in ${(t2 - t1).toFixed(0)} ms (${(((t2 - t1) * 1000) / N).toFixed(0)} µs each, signing included)`,
    );
    t.diagnostic(
      `${N} relayed packets delivered in ${(t3 - t2).toFixed(0)} ms; ${retries.n} retries (UDP loss on loopback)`,
    );
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await r.close();
  }
});

test('300 TCP systems register and each reaches another through the relay', async (t) => {
  const N = 300;
  const r = await startRelay({
    coordinatorKey: coord.publicKey,
    relayKey: coord.relayKey,
    log: testLog(1).log,
    tcp: '127.0.0.1:0',
    limits,
  });
  const clients: TcpClient[] = [];
  try {
    const t0 = performance.now();
    const systems = Array.from({ length: N }, (_, i) => testSystem(coord, `tcp-${i}`));
    const conns = new Array<TcpClient>(N);
    await inBatches(systems, 50, async (s, i) => {
      const c = await TcpClient.connect(r.tcpPort!);
      clients.push(c);
      conns[i] = c;
      await c.request(registerMessage(s), NatKind.relayRegistered);
    });
    const t1 = performance.now();
    assert.equal(r.relay.stats().tcpConnections, N);
    // TCP does not lose frames: send everything at once.
    for (let i = 0; i < N; i++) conns[i]!.send(sendMessage(systems[(i + 1) % N]!.id, Buffer.from(`tcp ${i}`)));
    await Promise.all(
      conns.map(async (c, j) => {
        const got = recvOf(await c.inbox.next((m) => m[3] === NatKind.relayRecv, 5_000));
        assert.equal(got?.from, systems[(j + N - 1) % N]!.id.toString('hex'));
        assert.equal(got?.payload.toString(), `tcp ${(j + N - 1) % N}`);
      }),
    );
    const t2 = performance.now();
    assert.deepEqual(r.relay.stats().dropped, {});
    t.diagnostic(
      `${N} TCP connections registered in ${(t1 - t0).toFixed(0)} ms; ${N} frames delivered in ${(t2 - t1).toFixed(0)} ms`,
    );
  } finally {
    for (const c of clients) c.close();
    await r.close();
  }
});

test('forwarding cost in process: 200,000 relayed packets between 1,000 sessions', async (t) => {
  const relay = new Relay({ coordinatorKey: coord.publicKey, relayKey: coord.relayKey, log: testLog(1).log, limits });
  try {
    const N = 1_000;
    const systems = Array.from({ length: N }, (_, i) => testSystem(coord, `mem-${i}`));
    let delivered = 0;
    const reply = (buf: Uint8Array): void => {
      if (buf[3] === NatKind.relayRecv) delivered++;
    };
    systems.forEach((s, i) => relay.handleDatagram(registerMessage(s), '10.1.0.1', 10_000 + i, reply));
    await drained(relay);
    assert.equal(relay.stats().sessions, N);
    const packets = systems.map((_, i) => sendMessage(systems[(i + 1) % N]!.id, Buffer.alloc(1400, i)));
    const M = 200_000;
    const t0 = performance.now();
    for (let k = 0; k < M; k++) {
      const i = k % N;
      relay.handleDatagram(packets[i]!, '10.1.0.1', 10_000 + i, reply);
    }
    const ms = performance.now() - t0;
    assert.equal(delivered, M);
    assert.deepEqual(relay.stats().dropped, {});
    t.diagnostic(
      `${M} packets of 1400 bytes forwarded in ${ms.toFixed(0)} ms: ${((ms * 1000) / M).toFixed(2)} µs each, without the socket I/O`,
    );
  } finally {
    relay.close();
  }
});
