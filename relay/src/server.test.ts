// The relay over real sockets on 127.0.0.1: registration, forwarding between UDP and TCP
// clients, refusals, replays, roaming, expiry and the per-connection bounds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { NAT_LIMITS, NatKind } from '../../src-shared/wire/nat-wire.js';
import {
  parseRelayRefused,
  parseRelayRegistered,
  RELAY_HEADER_BYTES,
  UDP_MAX_PAYLOAD,
} from '../../src-shared/wire/nat-relay.js';
import type { RelayLimits } from './server.js';
import { startRelay, type RunningRelay } from './sockets.js';
import {
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

/** withRelay runs fn against a relay on 127.0.0.1 and closes relay and clients afterwards. */
async function withRelay(
  o: { limits?: Partial<RelayLimits>; now?: () => number },
  fn: (r: RunningRelay, udp: () => Promise<UdpClient>, tcp: () => Promise<TcpClient>) => Promise<void>,
): Promise<void> {
  const r = await startRelay({
    coordinatorKey: coord.publicKey,
    relayKey: coord.relayKey,
    log: testLog().log,
    udp: '127.0.0.1:0',
    tcp: '127.0.0.1:0',
    ...(o.now ? { now: o.now } : {}),
    ...(o.limits ? { limits: o.limits } : {}),
  });
  const udps: UdpClient[] = [];
  const tcps: TcpClient[] = [];
  try {
    await fn(
      r,
      async () => {
        const c = await UdpClient.open(r.udpPort!);
        udps.push(c);
        return c;
      },
      async () => {
        const c = await TcpClient.connect(r.tcpPort!);
        tcps.push(c);
        return c;
      },
    );
  } finally {
    for (const c of tcps) c.close();
    await Promise.all(udps.map((c) => c.close()));
    await r.close();
  }
}

async function registerUdp(c: UdpClient, s: TestSystem, ts?: number): Promise<void> {
  const nonce = randomBytes(16);
  const reply = parseRelayRegistered(
    await c.request(registerMessage(s, { nonce, ...(ts !== undefined ? { ts } : {}) }), NatKind.relayRegistered),
  );
  assert.ok(reply, 'relayRegistered parses');
  assert.deepEqual(Buffer.from(reply.nonce), nonce);
  assert.equal(reply.refreshSeconds, 25);
}

async function registerTcp(c: TcpClient, s: TestSystem): Promise<void> {
  const reply = parseRelayRegistered(await c.request(registerMessage(s), NatKind.relayRegistered));
  assert.ok(reply);
}

/** exchange checks one payload each way between a and b (each a UDP or TCP client). */
async function exchange(
  a: UdpClient | TcpClient,
  sa: TestSystem,
  b: UdpClient | TcpClient,
  sb: TestSystem,
): Promise<void> {
  for (const [from, sfrom, to, sto] of [
    [a, sa, b, sb],
    [b, sb, a, sa],
  ] as const) {
    const payload = randomBytes(200);
    from.send(sendMessage(sto.id, payload));
    const got = recvOf(await to.inbox.next((m) => m[3] === NatKind.relayRecv, 2_000, 'a relayed payload'));
    assert.ok(got);
    assert.equal(got.from, sfrom.id.toString('hex'));
    assert.deepEqual(got.payload, payload);
  }
}

test('two UDP clients register and exchange relayed payloads both ways', async () => {
  await withRelay({}, async (r, udp) => {
    const [a, b] = [await udp(), await udp()];
    const [sa, sb] = [testSystem(coord, 'alpha'), testSystem(coord, 'beta')];
    await registerUdp(a, sa);
    await registerUdp(b, sb);
    await exchange(a, sa, b, sb);
    // The largest payload the wire allows goes through unchanged.
    const big = randomBytes(2048);
    a.send(sendMessage(sb.id, big));
    assert.deepEqual(recvOf(await b.inbox.next())?.payload, big);
    const s = r.relay.stats();
    assert.equal(s.sessions, 2);
    assert.equal(s.forwarded, 3);
    assert.deepEqual(s.dropped, {});
  });
});

test('the largest frames relay intact: UDP at the IPv4 datagram limit, TCP at the u16 frame limit; one byte more to a UDP client is dropped and counted', async () => {
  await withRelay({}, async (r, udp, tcp) => {
    const [a, b] = [await udp(), await udp()];
    const [c, d] = [await tcp(), await tcp()];
    const [sa, sb, sc, sd] = ['ua', 'ub', 'tc', 'td'].map((n) => testSystem(coord, n)) as [
      TestSystem,
      TestSystem,
      TestSystem,
      TestSystem,
    ];
    await registerUdp(a, sa);
    await registerUdp(b, sb);
    await registerTcp(c, sc);
    await registerTcp(d, sd);
    const udpMax = UDP_MAX_PAYLOAD.v4 - RELAY_HEADER_BYTES; // 65,495 over IPv4
    const cases: Array<[UdpClient | TcpClient, UdpClient | TcpClient, TestSystem, number]> = [
      [a, b, sb, udpMax], // UDP to UDP, the batched in-place path
      [a, c, sc, udpMax], // UDP to TCP
      [c, d, sd, NAT_LIMITS.relayPayloadBytes], // TCP to TCP: a 65,535-byte frame
      [c, a, sa, udpMax], // TCP to UDP, as large as the datagram can be
    ];
    for (const [from, to, sto, size] of cases) {
      const payload = randomBytes(size);
      from.send(sendMessage(sto.id, payload));
      const got = recvOf(await to.inbox.next((m) => m[3] === NatKind.relayRecv, 3_000, `a ${size}-byte payload`));
      assert.equal(got?.payload.length, size);
      assert.ok(got.payload.equals(payload), `the ${size}-byte payload is intact`);
    }
    assert.equal(r.relay.stats().forwarded, 4);
    // From TCP, one byte more than a UDP datagram to its destination can hold.
    c.send(sendMessage(sa.id, randomBytes(udpMax + 1)));
    assert.deepEqual(await a.quiet(), []);
    assert.deepEqual(r.relay.stats().dropped, { 'udp-too-big': 1 });
    assert.equal(r.relay.stats().forwarded, 4);
  });
});

test('a UDP client and a TCP client exchange payloads', async () => {
  await withRelay({}, async (r, udp, tcp) => {
    const a = await udp();
    const b = await tcp();
    const [sa, sb] = [testSystem(coord, 'udp-one'), testSystem(coord, 'tcp-one')];
    await registerUdp(a, sa);
    await registerTcp(b, sb);
    await exchange(a, sa, b, sb);
    // Two TCP clients too.
    const c = await tcp();
    const sc = testSystem(coord, 'tcp-two');
    await registerTcp(c, sc);
    await exchange(b, sb, c, sc);
    assert.equal(r.relay.stats().tcpConnections, 2);
    // A refresh on the same connection keeps it working.
    await registerTcp(b, sb);
    await exchange(a, sa, b, sb);
  });
});

test('an expired token is refused with a reason, over UDP and over TCP', async () => {
  await withRelay({}, async (r, udp, tcp) => {
    const s = testSystem(coord, 'late', { expires: Date.now() - 1_000 });
    const a = await udp();
    const nonce = randomBytes(16);
    const refused = parseRelayRefused(await a.request(registerMessage(s, { nonce }), NatKind.relayRefused));
    assert.ok(refused);
    assert.equal(refused.reason, 'token expired');
    assert.deepEqual(Buffer.from(refused.nonce), nonce);
    const t = await tcp();
    assert.equal(parseRelayRefused(await t.request(registerMessage(s), NatKind.relayRefused))?.reason, 'token expired');
    assert.ok(await t.isClosedWithin(2_000), 'the relay closes a refused connection');
    assert.equal(r.relay.stats().sessions, 0);
    assert.equal(r.relay.stats().dropped['refused-token-expired'], 2);
  });
});

test('a replayed register is ignored, even from another address', async () => {
  await withRelay({}, async (r, udp) => {
    const [a, b, evil] = [await udp(), await udp(), await udp()];
    const [sa, sb] = [testSystem(coord, 'alpha'), testSystem(coord, 'beta')];
    const reg = registerMessage(sa);
    await a.request(reg, NatKind.relayRegistered);
    await registerUdp(b, sb);
    a.send(reg);
    evil.send(reg);
    assert.deepEqual(await a.quiet(), []);
    assert.deepEqual(await evil.quiet(0), []);
    assert.equal(r.relay.stats().dropped.replay, 2);
    // The session stayed where it was.
    await exchange(a, sa, b, sb);
    // A register signed by someone else's machine key is silent too.
    const other = testSystem(coord, 'other');
    evil.send(registerMessage(sa, { signWith: other.machineKey }));
    assert.deepEqual(await evil.quiet(), []);
    assert.equal(r.relay.stats().dropped['bad-signature'], 1);
    // A token from another coordinator: its MAC is not this relay's.
    evil.send(registerMessage(testSystem(testCoordinator(), 'stranger')));
    assert.deepEqual(await evil.quiet(), []);
    assert.equal(r.relay.stats().dropped['bad-mac'], 1);
    // A token MACed with this relay's key (a key that leaked) but signed by another coordinator.
    evil.send(registerMessage(testSystem({ ...testCoordinator(), keys: coord.keys }, 'forger')));
    assert.deepEqual(await evil.quiet(), []);
    assert.equal(r.relay.stats().dropped['bad-token'], 1);
    // And a register outside the clock skew.
    evil.send(registerMessage(other, { ts: Date.now() - 61_000 }));
    assert.deepEqual(await evil.quiet(), []);
    assert.equal(r.relay.stats().dropped['stale-register'], 1);
  });
});

test('a send from an unregistered address is dropped and counted', async () => {
  await withRelay({}, async (r, udp) => {
    const [a, b, stranger] = [await udp(), await udp(), await udp()];
    const [sa, sb] = [testSystem(coord, 'alpha'), testSystem(coord, 'beta')];
    await registerUdp(a, sa);
    await registerUdp(b, sb);
    stranger.send(sendMessage(sb.id, Buffer.from('let me in')));
    // To an id nobody registered.
    a.send(sendMessage(randomBytes(8), Buffer.from('anyone?')));
    // To itself.
    a.send(sendMessage(sa.id, Buffer.from('echo')));
    assert.deepEqual(await b.quiet(), []);
    assert.deepEqual(await a.quiet(0), []);
    const d = r.relay.stats().dropped;
    assert.equal(d['unknown-source'], 1);
    assert.equal(d['unknown-destination'], 1);
    assert.equal(d['to-self'], 1);
    assert.equal(r.relay.stats().forwarded, 0);
  });
});

test('the same id with another key is refused', async () => {
  await withRelay({}, async (r, udp, tcp) => {
    const [a, b] = [await udp(), await udp()];
    const sa = testSystem(coord, 'alpha');
    // Same first 8 bytes (the peer id), different key.
    const twinKey = Buffer.concat([sa.id, randomBytes(24)]);
    const twin = testSystem(coord, 'twin', { wireguardKey: twinKey });
    await registerUdp(a, sa);
    const refused = parseRelayRefused(await b.request(registerMessage(twin), NatKind.relayRefused));
    assert.equal(refused?.reason, 'peer id is registered with another key');
    const t = await tcp();
    assert.equal(
      parseRelayRefused(await t.request(registerMessage(twin), NatKind.relayRefused))?.reason,
      'peer id is registered with another key',
    );
    assert.equal(r.relay.stats().sessions, 1);
    assert.equal(r.relay.stats().dropped['refused-id-held'], 2);
  });
});

test('re-registering from a new address or transport moves the session', async () => {
  await withRelay({}, async (r, udp, tcp) => {
    const [a1, a2, b] = [await udp(), await udp(), await udp()];
    const [sa, sb] = [testSystem(coord, 'roamer'), testSystem(coord, 'beta')];
    await registerUdp(a1, sa);
    await registerUdp(b, sb);
    await registerUdp(a2, sa);
    await exchange(a2, sa, b, sb);
    assert.deepEqual(await a1.quiet(), []);
    a1.send(sendMessage(sb.id, Buffer.from('stale')));
    assert.deepEqual(await b.quiet(), []);
    assert.equal(r.relay.stats().dropped['unknown-source'], 1);
    // To TCP, and back to UDP: the old connection is closed, the session follows.
    const t = await tcp();
    await registerTcp(t, sa);
    await exchange(t, sa, b, sb);
    await registerUdp(a1, sa);
    assert.ok(await t.isClosedWithin(2_000), 'the superseded connection is closed');
    await exchange(a1, sa, b, sb);
    assert.equal(r.relay.stats().sessions, 2);
  });
});

test('sessions expire 90 s after their last register or send, and with their token', async () => {
  let clock = Date.now();
  await withRelay({ now: () => clock }, async (r, udp) => {
    const [a, b, c] = [await udp(), await udp(), await udp()];
    const sa = testSystem(coord, 'alpha', { now: clock });
    const sb = testSystem(coord, 'beta', { now: clock });
    const sc = testSystem(coord, 'brief', { expires: clock + 30_000 });
    await registerUdp(a, sa, clock);
    await registerUdp(b, sb, clock);
    await registerUdp(c, sc, clock);
    clock += 31_000;
    // c's token has run out: it cannot send and cannot be reached.
    c.send(sendMessage(sa.id, Buffer.from('x')));
    b.send(sendMessage(sc.id, Buffer.from('y')));
    assert.deepEqual(await a.quiet(), []);
    // a keeps itself alive by sending; after this exchange b stays silent.
    clock += 50_000;
    await exchange(a, sa, b, sb);
    clock += 89_000;
    a.send(sendMessage(sb.id, Buffer.from('still there?')));
    assert.equal(recvOf(await b.inbox.next())?.payload.toString(), 'still there?');
    clock += 2_000;
    // b's last send was its half of the exchange, 91 s ago.
    a.send(sendMessage(sb.id, Buffer.from('gone')));
    assert.deepEqual(await b.quiet(), []);
    const d = r.relay.stats().dropped;
    assert.equal(d['unknown-source'], 1);
    assert.equal(d['unknown-destination'], 2);
    assert.equal(r.relay.stats().sessions, 1);
    // b registers again (with a current ts) and is back.
    await registerUdp(b, sb, clock);
    await exchange(a, sa, b, sb);
  });
});

test('TCP: the first frame must be a registration, silence is closed, the backlog is bounded', async () => {
  await withRelay({ limits: { tcpHandshakeMs: 300, tcpMaxBacklogBytes: 64 * 1024 } }, async (r, udp, tcp) => {
    const early = await tcp();
    early.send(sendMessage(randomBytes(8), Buffer.from('no register first')));
    assert.ok(await early.isClosedWithin(2_000));
    const silent = await tcp();
    assert.ok(await silent.isClosedWithin(2_000), 'an unregistered connection is closed after the handshake time');
    const unsigned = await tcp();
    unsigned.send(registerMessage(testSystem(coord, 'x'), { signWith: testSystem(coord, 'y').machineKey }));
    assert.ok(await unsigned.isClosedWithin(2_000));
    const d = r.relay.stats().dropped;
    assert.equal(d['tcp-not-registered'], 1);
    assert.equal(d['tcp-handshake-timeout'], 1);
    assert.equal(d['bad-signature'], 1);

    // A reader that never reads: frames for it are dropped once its backlog passes the limit,
    // and everyone else is still served.
    const [sa, sb, sc] = [testSystem(coord, 'fast'), testSystem(coord, 'stuck'), testSystem(coord, 'other')];
    const a = await tcp();
    const b = await tcp();
    const c = await udp();
    await registerTcp(a, sa);
    await registerTcp(b, sb);
    await registerUdp(c, sc);
    b.socket.pause();
    const payload = randomBytes(2000);
    const frame = sendMessage(sb.id, payload);
    for (let i = 0; i < 8_000 && (r.relay.stats().dropped['tcp-backlog'] ?? 0) === 0; i++) {
      a.send(frame);
      if (i % 200 === 199) await new Promise((res) => setTimeout(res, 5));
    }
    for (let i = 0; i < 100 && (r.relay.stats().dropped['tcp-backlog'] ?? 0) === 0; i++)
      await new Promise((res) => setTimeout(res, 20));
    assert.ok((r.relay.stats().dropped['tcp-backlog'] ?? 0) > 0, 'frames to a stuck reader are dropped');
    await exchange(a, sa, c, sc);
  });
});

test('registrations are rate-limited per source address, and the session table is bounded', async () => {
  await withRelay({ limits: { registerPerIpPerSecond: 1, registerBurstPerIp: 3, maxSessions: 2 } }, async (r, udp) => {
    const a = await udp();
    const [s1, s2, s3] = [testSystem(coord, 'one'), testSystem(coord, 'two'), testSystem(coord, 'three')];
    await registerUdp(a, s1);
    const b = await udp();
    await registerUdp(b, s2);
    const c = await udp();
    // The third system: the table is full.
    assert.equal(parseRelayRefused(await c.request(registerMessage(s3), NatKind.relayRefused))?.reason, 'relay full');
    // All from 127.0.0.1: the bucket (3) is empty now.
    for (let i = 0; i < 5; i++) c.send(registerMessage(s3));
    assert.deepEqual(await c.quiet(), []);
    assert.equal(r.relay.stats().dropped['rate-limited'], 5);
    assert.equal(r.relay.stats().dropped['refused-full'], 1);
  });
});

test('stats counts TCP connections and close() ends them', async () => {
  await withRelay({}, async (r, _udp, tcp) => {
    const t = await tcp();
    await registerTcp(t, testSystem(coord, 'closer'));
    assert.equal(r.relay.stats().tcpConnections, 1);
    r.relay.close();
    assert.ok(await t.isClosedWithin(2_000));
    assert.equal(r.relay.stats().sessions, 0);
  });
});

test('the periodic sweep removes idle sessions and closes idle TCP connections', async () => {
  let clock = Date.now();
  await withRelay({ now: () => clock, limits: { sweepIntervalMs: 50 } }, async (r, udp, tcp) => {
    const a = await udp();
    const t = await tcp();
    await registerUdp(a, testSystem(coord, 'sleepy', { now: clock }), clock);
    await registerTcp(t, testSystem(coord, 'quiet', { now: clock }));
    assert.equal(r.relay.stats().sessions, 2);
    clock += 91_000;
    assert.ok(await t.isClosedWithin(2_000), 'an idle registered connection is closed');
    for (let i = 0; i < 40 && r.relay.stats().sessions + r.relay.stats().tcpConnections > 0; i++)
      await new Promise((res) => setTimeout(res, 25));
    const s = r.relay.stats();
    assert.equal(s.sessions, 0);
    assert.equal(s.tcpConnections, 0);
    assert.equal(s.dropped['tcp-idle'], 1);
  });
});

test('registrations are limited per source /24 across its addresses, and another /24 is not affected', async () => {
  await withRelay({ limits: { registerPerPrefixPerSecond: 0.01, registerBurstPerPrefix: 3 } }, async (r) => {
    const clients = await Promise.all(
      ['127.0.9.1', '127.0.9.2', '127.0.9.3', '127.0.9.4', '127.0.10.1'].map((ip) => UdpClient.open(r.udpPort!, ip)),
    );
    try {
      const systems = clients.map((_, i) => testSystem(coord, `prefix-${i}`));
      for (let i = 0; i < 3; i++) await registerUdp(clients[i]!, systems[i]!);
      // The fourth address of 127.0.9.0/24 is refused before any signature check.
      clients[3]!.send(registerMessage(systems[3]!));
      assert.deepEqual(await clients[3]!.quiet(), []);
      assert.equal(r.relay.stats().dropped['rate-limited'], 1);
      await registerUdp(clients[4]!, systems[4]!);
      assert.equal(r.relay.stats().sessions, 4);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });
});

test("a genuine token replayed with forged signatures from many addresses costs at most its peer id's burst of checks", async () => {
  await withRelay({ limits: { registerPerIdPerSecond: 0.01, registerBurstPerId: 4 } }, async (r) => {
    const victim = testSystem(coord, 'victim');
    const forger = testSystem(coord, 'forger');
    const clients = await Promise.all(
      Array.from({ length: 8 }, (_, i) => UdpClient.open(r.udpPort!, `127.0.${20 + i}.1`)),
    );
    try {
      for (let i = 0; i < 40; i++) clients[i % 8]!.send(registerMessage(victim, { signWith: forger.machineKey }));
      for (const c of clients) assert.deepEqual(await c.quiet(50), []);
      for (let i = 0; i < 40 && totalOf(r) < 40; i++) await new Promise((res) => setTimeout(res, 25));
      const d = r.relay.stats().dropped;
      assert.equal(d['bad-signature'], 4, 'only the burst reached a signature check');
      assert.equal(d['rate-limited'], 36);
      // Another system registers from the same addresses as before: their buckets were not spent.
      await registerUdp(clients[0]!, forger);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });
});

function totalOf(r: RunningRelay): number {
  return Object.values(r.relay.stats().dropped).reduce((a, b) => a + b, 0);
}
