// Round-trip probes (nat-relay.ts relayProbe): a relay answers them without a token, so their
// bounds are what keeps them harmless: never more bytes out than in, only exact-size probes,
// a few a second per source address, and nothing but a parse and a bucket lookup each.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { NatKind } from '../../src-shared/wire/nat-wire.js';
import {
  parseRelayProbe,
  parseRelayProbeReply,
  RELAY_PROBE_BYTES,
  RELAY_REGION_MAX,
  relayProbe,
  relayProbeReply,
} from '../../src-shared/wire/nat-relay.js';
import { Relay } from './server.js';
import { startRelay } from './sockets.js';
import { testCoordinator, testLog, UdpClient } from './test-support.js';

const coord = testCoordinator();

function engine(region: string | undefined, now: () => number): { relay: Relay; out: Uint8Array[] } {
  const out: Uint8Array[] = [];
  const relay = new Relay({
    coordinatorKey: coord.publicKey,
    relayKey: coord.relayKey,
    log: testLog(0).log,
    now,
    ...(region !== undefined ? { region } : {}),
    limits: { probePerIpPerSecond: 5, probeBurstPerIp: 10, probePerSecond: 1000 },
  });
  return { relay, out };
}

test('a probe is answered with its nonce and the region, in fewer bytes than it took', () => {
  const longest = 'r'.repeat(RELAY_REGION_MAX);
  const { relay, out } = engine(longest, () => 1000);
  const reply = (b: Uint8Array): void => void out.push(b);
  try {
    const nonce = randomBytes(16);
    const probe = relayProbe(nonce);
    assert.equal(probe.length, RELAY_PROBE_BYTES);
    relay.handleDatagram(Buffer.from(probe), '192.0.2.1', 4000, reply);
    assert.equal(out.length, 1);
    assert.ok(out[0]!.length < probe.length, `reply ${out[0]!.length} bytes, probe ${probe.length}`);
    const r = parseRelayProbeReply(out[0]!);
    assert.equal(r?.region, longest);
    assert.ok(Buffer.from(r.nonce).equals(nonce), 'the nonce is echoed');
  } finally {
    relay.close();
  }
});

test('probes of any other size or version get no answer and are counted', () => {
  const { relay, out } = engine('eu', () => 1000);
  const reply = (b: Uint8Array): void => void out.push(b);
  try {
    const good = Buffer.from(relayProbe(randomBytes(16)));
    const short = good.subarray(0, RELAY_PROBE_BYTES - 1);
    const long = Buffer.concat([good, Buffer.alloc(1400)]);
    const version = Buffer.from(good);
    version[4] = 9;
    for (const b of [short, long, version, good.subarray(0, 4)]) relay.handleDatagram(b, '192.0.2.1', 4000, reply);
    assert.equal(out.length, 0, 'nothing answered');
    assert.equal(relay.stats().dropped['malformed-probe'], 4);
    assert.equal(parseRelayProbe(long), null);
  } finally {
    relay.close();
  }
});

test('probes are rate-limited per source address; another address is answered meanwhile', () => {
  let now = 1000;
  const { relay, out } = engine('eu', () => now);
  const reply = (b: Uint8Array): void => void out.push(b);
  try {
    const probe = Buffer.from(relayProbe(randomBytes(16)));
    for (let i = 0; i < 100; i++) relay.handleDatagram(probe, '198.51.100.7', 4000, reply);
    assert.equal(out.length, 10, 'the burst, then silence');
    assert.equal(relay.stats().dropped['probe-rate-limited'], 90);
    relay.handleDatagram(probe, '198.51.100.8', 4000, reply);
    assert.equal(out.length, 11, 'a neighbour is not starved');
    now += 1000;
    for (let i = 0; i < 100; i++) relay.handleDatagram(probe, '198.51.100.7', 4000, reply);
    assert.equal(out.length, 16, 'five a second after that');
  } finally {
    relay.close();
  }
});

test('the reply of a relay without a region says so; a reply with a bad region reads as none', () => {
  const nonce = randomBytes(16);
  assert.equal(parseRelayProbeReply(relayProbeReply(nonce, ''))?.region, '');
  const bad = Buffer.from(relayProbeReply(nonce, 'abc'));
  bad[bad.length - 1] = 0x0a;
  assert.equal(parseRelayProbeReply(bad)?.region, '');
  assert.throws(() => relayProbeReply(nonce, 'a b'), /region/);
  const overlong = Buffer.concat([Buffer.from(relayProbeReply(nonce, '')), Buffer.alloc(40, 0x61)]);
  overlong[21] = 40;
  assert.equal(parseRelayProbeReply(overlong), null, 'a region longer than 32 is refused');
});

test('a standalone relay answers probes on its UDP socket (the batched path) with its region', async () => {
  const r = await startRelay({
    coordinatorKey: coord.publicKey,
    relayKey: coord.relayKey,
    log: testLog(0).log,
    udp: '127.0.0.1:0',
    region: 'lab-1',
  });
  const c = await UdpClient.open(r.udpPort!);
  try {
    const nonce = randomBytes(16);
    const got = await c.request(relayProbe(nonce), NatKind.relayProbeReply);
    const p = parseRelayProbeReply(got);
    assert.equal(p?.region, 'lab-1');
    assert.ok(Buffer.from(p.nonce).equals(nonce), 'the nonce is echoed');
  } finally {
    await c.close();
    await r.close();
  }
});
