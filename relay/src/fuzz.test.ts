// Hostile input for the relay: random bytes, every truncation and extension of each valid
// message, flipped bits, wrong versions, tokens without this relay's MAC (forged, for another
// relay, of the old layout), bad signatures, over UDP and TCP. Each case must be dropped (and
// counted) without an answer, and a registered pair must still be served after.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { MAC_BYTES, NAT_LIMITS, NAT_MAGIC, NatKind } from '../../src-shared/wire/nat-wire.js';
import { relayRefused, relayRegistered } from '../../src-shared/wire/nat-relay.js';
import { issueRelayToken, RELAY_TOKEN_LIFETIME_MS } from '../../src-shared/lib/relay-token.js';
import { tcpFrame } from '../../src-shared/wire/nat-tcp.js';
import { Relay } from './server.js';
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
  UNLIMITED_REGISTRATIONS,
  type TestSystem,
} from './test-support.js';

const coord = testCoordinator();
// Fuzzing sends thousands of registrations from one address and one system; the rate limits
// have their own tests.
const open = UNLIMITED_REGISTRATIONS;

type Out = { buf: Uint8Array; ip: string; port: number };

/** inProcess drives Relay.handleDatagram directly: exact accounting, no socket loss. from
 * resolves once the relay has also verified what it queued. */
function inProcess(): {
  relay: Relay;
  sent: Out[];
  from: (msg: Uint8Array, port: number) => Promise<void>;
  log: string[];
} {
  const { log, lines } = testLog(1);
  const relay = new Relay({ coordinatorKey: coord.publicKey, relayKey: coord.relayKey, log, limits: open });
  const sent: Out[] = [];
  const reply = (buf: Uint8Array, ip: string, port: number): void => {
    sent.push({ buf, ip, port });
  };
  return {
    relay,
    sent,
    from: async (msg, port) => {
      relay.handleDatagram(Buffer.from(msg), '10.0.0.1', port, reply);
      await drained(relay);
    },
    log: lines,
  };
}

function totalDrops(r: Relay): number {
  return Object.values(r.stats().dropped).reduce((a, b) => a + b, 0);
}

/** mutants are broken versions of a valid message: truncations, extensions, flips, versions. */
function mutants(valid: Buffer, flips: number): Buffer[] {
  const out: Buffer[] = [];
  for (let n = 0; n < valid.length; n++) out.push(valid.subarray(0, n));
  out.push(Buffer.concat([valid, Buffer.from([0])]), Buffer.concat([valid, randomBytes(3000)]));
  const wrongVersion = Buffer.from(valid);
  wrongVersion[4] = 2;
  out.push(wrongVersion);
  for (let i = 0; i < flips; i++) {
    const m = Buffer.from(valid);
    // Bytes 0-3 pick the kind; flipping them is covered by random kinds below.
    const at = 4 + randomInt(valid.length - 4);
    m[at]! ^= 1 << randomInt(8);
    out.push(m);
  }
  return out;
}

/** tokenMutants are registers of s, correctly signed, around tokens that lack this relay's MAC. */
function tokenMutants(s: TestSystem): Buffer[] {
  const claims = {
    systemId: s.systemId,
    wireguardKey: s.wireguardKey,
    machineKey: s.machinePublic,
    expires: Date.now() + RELAY_TOKEN_LIFETIME_MS,
  };
  const tokens = [
    // For another relay of the same coordinator, and for this relay's name by another coordinator.
    issueRelayToken(coord.signer, coord.keys.relayKey('elsewhere'), claims),
    testSystem(testCoordinator(), s.systemId).token,
    // The old layout (version 1, no MAC), and the right layout without its MAC or with a zero one.
    Buffer.concat([Buffer.from([1]), s.token.subarray(1, s.token.length - MAC_BYTES)]),
    s.token.subarray(0, s.token.length - MAC_BYTES),
    Buffer.concat([s.token.subarray(0, s.token.length - MAC_BYTES), Buffer.alloc(MAC_BYTES)]),
  ];
  return tokens.map((token) => registerMessage(s, { token }));
}

test('in process: garbage UDP input is dropped, counted and never answered', async () => {
  const { relay, sent, from, log } = inProcess();
  try {
    const [sa, sb] = [testSystem(coord, 'alpha'), testSystem(coord, 'beta')];
    await from(registerMessage(sa), 1);
    await from(registerMessage(sb), 2);
    assert.equal(sent.length, 2);
    sent.length = 0;

    let cases = 0;
    const garbage = async (msg: Uint8Array, port = 9): Promise<void> => {
      const before = totalDrops(relay);
      await from(msg, port);
      cases++;
      assert.equal(totalDrops(relay), before + 1, `one drop for ${Buffer.from(msg).subarray(0, 24).toString('hex')}`);
    };
    for (let i = 0; i < 3_000; i++) await garbage(randomBytes(randomInt(0, 3000)));
    for (let i = 0; i < 3_000; i++)
      await garbage(
        Buffer.concat([Buffer.from(NAT_MAGIC), Buffer.from([randomInt(256)]), randomBytes(randomInt(0, 800))]),
      );
    // Registers: every truncation, extension and bit flip, a wrong version; none is valid.
    for (const m of mutants(registerMessage(testSystem(coord, 'gamma')), 2_000)) await garbage(m);
    // Registers signed as they should be, around tokens without this relay's MAC.
    const before = relay.stats().dropped['bad-mac'] ?? 0;
    for (const m of tokenMutants(testSystem(coord, 'delta'))) await garbage(m);
    assert.equal(relay.stats().dropped['bad-mac'], before + 5, 'each token without a valid MAC is bad-mac');
    // Sends from the registered address: truncations below the header, and oversized.
    const send = sendMessage(sb.id, randomBytes(100));
    for (let n = 0; n <= 12; n++) await garbage(send.subarray(0, n), 1);
    await garbage(sendMessage(sb.id, randomBytes(NAT_LIMITS.relayPayloadBytes + 1)), 1);
    // Valid sends from an address that never registered.
    for (let i = 0; i < 100; i++) await garbage(sendMessage(sb.id, randomBytes(50)), 10_000 + i);
    // Messages a relay sends but never receives.
    await garbage(relayRegistered(randomBytes(16), 25));
    await garbage(relayRefused(randomBytes(16), 'no'));
    await garbage(Buffer.from(sendMessage(sa.id, randomBytes(10)).fill(NatKind.relayRecv, 3, 4)), 1);

    assert.equal(sent.length, 0, 'nothing was answered');
    const d = relay.stats().dropped;
    for (const reason of [
      'not-relay',
      'unexpected-kind',
      'malformed-register',
      'malformed-send',
      'bad-mac',
      'bad-signature',
      'unknown-source',
    ]) {
      assert.ok((d[reason] ?? 0) > 0, `${reason} was counted: ${JSON.stringify(d)}`);
    }
    assert.equal(d['internal-error'], undefined);
    assert.ok(cases > 8_000);

    // The pair is still served.
    await from(sendMessage(sb.id, Buffer.from('still here')), 1);
    assert.equal(sent.length, 1);
    assert.equal(sent[0]!.port, 2);
    assert.equal(recvOf(sent[0]!.buf)?.payload.toString(), 'still here');
    assert.equal(relay.stats().sessions, 2);
    assert.deepEqual(
      log.filter((l) => / ERROR /.test(l)),
      [],
    );
  } finally {
    relay.close();
  }
});

test('in process: sends mutated in their payload or destination are forwarded or dropped, never thrown', async () => {
  const { relay, sent, from } = inProcess();
  try {
    const [sa, sb] = [testSystem(coord, 'alpha'), testSystem(coord, 'beta')];
    await from(registerMessage(sa), 1);
    await from(registerMessage(sb), 2);
    sent.length = 0;
    const valid = sendMessage(sb.id, randomBytes(300));
    let handled = 0;
    for (const m of mutants(valid, 3_000)) {
      const before = totalDrops(relay) + relay.stats().forwarded;
      await from(m, 1);
      assert.equal(totalDrops(relay) + relay.stats().forwarded, before + 1);
      handled++;
    }
    assert.ok(handled > 3_000);
    // Everything forwarded went to b, as relayRecv from a (flips in the payload keep a send valid,
    // so some were forwarded and the loop below has something to check).
    assert.ok(sent.length > 0, 'no mutated send was forwarded');
    for (const o of sent) {
      assert.equal(o.port, 2);
      assert.equal(recvOf(o.buf)?.from, sa.id.toString('hex'));
    }
  } finally {
    relay.close();
  }
});

async function pairServes(a: UdpClient, sa: TestSystem, b: TcpClient, sb: TestSystem): Promise<void> {
  const p = randomBytes(64);
  a.send(sendMessage(sb.id, p));
  assert.deepEqual(recvOf(await b.inbox.next((m) => m[3] === NatKind.relayRecv))?.payload, p);
  b.send(sendMessage(sa.id, p));
  assert.deepEqual(recvOf(await a.inbox.next((m) => m[3] === NatKind.relayRecv))?.payload, p);
}

test('over sockets: UDP and TCP garbage, then the good pair is still served', async () => {
  const r = await startRelay({
    coordinatorKey: coord.publicKey,
    relayKey: coord.relayKey,
    log: testLog(1).log,
    udp: '127.0.0.1:0',
    tcp: '127.0.0.1:0',
    limits: { ...open, tcpHandshakeMs: 500 },
  });
  const clients: (UdpClient | TcpClient)[] = [];
  try {
    const a = await UdpClient.open(r.udpPort!);
    const b = await TcpClient.connect(r.tcpPort!);
    clients.push(a, b);
    const [sa, sb] = [testSystem(coord, 'good-udp'), testSystem(coord, 'good-tcp')];
    await a.request(registerMessage(sa), NatKind.relayRegistered);
    await b.request(registerMessage(sb), NatKind.relayRegistered);

    // UDP garbage from another socket, paced so the kernel keeps it all.
    const evil = await UdpClient.open(r.udpPort!);
    clients.push(evil);
    const reg = registerMessage(testSystem(coord, 'noise'));
    const junk = [...mutants(reg, 300), ...Array.from({ length: 300 }, () => randomBytes(randomInt(0, 2100)))];
    for (let i = 0; i < junk.length; i++) {
      evil.send(junk[i]!);
      if (i % 50 === 49) await new Promise((res) => setTimeout(res, 2));
    }
    assert.deepEqual(await evil.quiet(300), [], 'no answer to garbage');
    await pairServes(a, sa, b, sb);

    // TCP: before its registration, a connection's frames are bounded by the largest
    // registration, so a length prefix beyond it closes the connection at once.
    const huge = await TcpClient.connect(r.tcpPort!);
    clients.push(huge);
    const hugeDropsBefore = r.relay.stats().dropped['tcp-bad-length'] ?? 0;
    huge.socket.write(Buffer.from([0xff, 0xff, ...NAT_MAGIC, NatKind.relaySend]));
    assert.ok(
      await huge.isClosedWithin(2_000),
      'a 65535-byte length prefix before registration closes the connection without waiting for the frame',
    );
    assert.equal(r.relay.stats().dropped['tcp-bad-length'], hugeDropsBefore + 1, 'counted as a bad length');
    const early = await TcpClient.connect(r.tcpPort!);
    clients.push(early);
    early.send(sendMessage(sa.id, randomBytes(100)));
    assert.ok(await early.isClosedWithin(2_000), 'a first frame that is not a registration closes the connection');
    const zero = await TcpClient.connect(r.tcpPort!);
    clients.push(zero);
    zero.socket.write(Buffer.from([0, 0]));
    assert.ok(await zero.isClosedWithin(2_000), 'a zero length prefix closes the connection');
    // Random streams and broken first frames: closed without an answer.
    const firstFrames = mutants(reg, 20).filter((m) => m.length > 0);
    for (let i = 0; i < 30; i++) {
      const t = await TcpClient.connect(r.tcpPort!);
      clients.push(t);
      if (i % 2 === 0) t.socket.write(randomBytes(randomInt(1, 5000)));
      else t.send(firstFrames[randomInt(firstFrames.length)]!);
      assert.ok(await t.isClosedWithin(2_000), `garbage connection ${i} is closed`);
      assert.equal(t.inbox.length, 0);
    }
    // A registered connection that sends garbage frames keeps working; a bad length ends it.
    for (let i = 0; i < 200; i++) b.send(randomBytes(randomInt(1, 2060)));
    b.send(sendMessage(sa.id, randomBytes(1)).subarray(0, 12));
    b.send(registerMessage(testSystem(coord, 'noise2'), { signWith: sb.machineKey }));
    await pairServes(a, sa, b, sb);
    b.socket.write(Buffer.from([0, 0]));
    assert.ok(await b.isClosedWithin(2_000));

    const s = r.relay.stats();
    assert.ok((s.dropped['tcp-bad-length'] ?? 0) >= 2, JSON.stringify(s.dropped));
    assert.ok((s.dropped['tcp-not-registered'] ?? 0) >= 1, JSON.stringify(s.dropped));
    assert.ok((s.dropped['malformed-register'] ?? 0) > 0);
    assert.equal(s.dropped['internal-error'], undefined);
    // b's connection closed, so its session went; a remains.
    assert.equal(s.sessions, 1);
    const c = await TcpClient.connect(r.tcpPort!);
    clients.push(c);
    await c.request(registerMessage(sb), NatKind.relayRegistered);
    await pairServes(a, sa, c, sb);
    // A well-formed frame that is not a WRN message on a fresh connection: closed.
    const d = await TcpClient.connect(r.tcpPort!);
    clients.push(d);
    d.socket.write(tcpFrame(Buffer.from('GET / HTTP/1.1\r\n\r\n')));
    assert.ok(await d.isClosedWithin(2_000));
  } finally {
    for (const c of clients) {
      if (c instanceof TcpClient) c.close();
      else await c.close();
    }
    await r.close();
  }
});
