// Relay tokens and punch requests over HTTP against a real coordinator, and the embedded relay
// on the coordinator's UDP port and relay TCP port using those tokens.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, sign } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { connect } from 'node:net';
import { CONTROL_PATHS, type NetworkMap, type WatchEvent } from '../../../src-shared/wire/control.js';
import { NatKind, peerId, signedBytes, withSignature } from '../../../src-shared/wire/nat-wire.js';
import {
  parseRelayFrame,
  parseRelayRegistered,
  relayFrame,
  relayRegisterBody,
  relayRegisterContext,
} from '../../../src-shared/wire/nat-relay.js';
import { TcpFrameReader, tcpFrame } from '../../../src-shared/wire/nat-tcp.js';
import { AgentError, parseWatchEvent, SimAgent } from '../testing/agent-sim.js';
import { relayTokenMacOk, verifyRelayToken, RELAY_TOKEN_LIFETIME_MS } from '../../../src-shared/lib/relay-token.js';
import { EMBEDDED_RELAY_NAME } from './config.js';
import { DEV_TO_SERVER_POLICY, enrolledAgent, startTestCoordinator } from '../testing/testing.js';

const POLICY = DEV_TO_SERVER_POLICY;
const enrolled = enrolledAgent;

async function until<T>(pick: () => T | undefined, ms = 2000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = pick();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what} not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** register builds a relayRegister for agent with its token, signed for the embedded relay. */
function register(
  agent: SimAgent,
  token: Buffer,
  nonce = randomBytes(16),
  relayName = EMBEDDED_RELAY_NAME,
): Uint8Array {
  const body = relayRegisterBody(token, Date.now(), nonce);
  return withSignature(
    body,
    sign(null, signedBytes(relayRegisterContext(relayName), body), agent.keys.machinePrivateKey),
  );
}

async function udpClient(): Promise<{ sock: Socket; got: Buffer[] }> {
  const sock = createSocket('udp4');
  const got: Buffer[] = [];
  sock.on('message', (m) => got.push(m));
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  return { sock, got };
}

test(
  "relay tokens: signed by the coordinator for the caller's keys, MACed for the one relay named; refused to pending systems",
  { timeout: 20_000 },
  async () => {
    const c = await startTestCoordinator({ externalRelays: [{ name: 'eu', udp: '203.0.113.7:3478' }] });
    try {
      const dev = await enrolled(c, ['dev'], 'dev');
      const t0 = Date.now();
      const res = await dev.relayToken();
      const bytes = Buffer.from(res.token, 'base64');
      const keys = c.services.nat.keys;
      assert.ok(relayTokenMacOk(bytes, keys.relayKey('coordinator')), "the embedded relay's MAC checks");
      assert.ok(!relayTokenMacOk(bytes, keys.relayKey('eu')), "another relay's key does not");
      const eu = Buffer.from((await dev.relayToken('eu')).token, 'base64');
      assert.ok(relayTokenMacOk(eu, keys.relayKey('eu')), 'a token for an external relay carries its MAC');
      assert.ok(!relayTokenMacOk(eu, keys.relayKey('coordinator')));
      const v = verifyRelayToken(bytes, Buffer.from(c.publicKey, 'base64'), Date.now());
      assert.ok(v.ok, v.ok ? '' : v.reason);
      assert.equal(v.token.systemId, dev.systemId);
      assert.deepEqual(Buffer.from(v.token.wireguardKey), Buffer.from(dev.keys.wireguardPublicKey, 'base64'));
      assert.deepEqual(Buffer.from(v.token.machineKey), Buffer.from(dev.keys.machinePublicKey, 'base64'));
      assert.equal(v.token.expires, res.expires);
      assert.ok(res.expires >= t0 + RELAY_TOKEN_LIFETIME_MS && res.expires <= Date.now() + RELAY_TOKEN_LIFETIME_MS);
      // The relay must be named, and be one the maps list.
      assert.equal((await dev.signed('POST', CONTROL_PATHS.relayToken, '')).status, 400);
      assert.equal((await dev.signed('POST', CONTROL_PATHS.relayToken, '{}')).status, 400);
      await assert.rejects(dev.relayToken('us'), (e: AgentError) => e.status === 404 && e.code === 'not-found');

      const waiting = await enrolled(c, ['dev'], 'waiting', 'gated');
      await assert.rejects(waiting.relayToken(), (e: AgentError) => e.status === 409 && e.code === 'pending-approval');
      await c.admin('POST', `/v1/admin/systems/${dev.identity}/revoke`);
      await assert.rejects(dev.relayToken(), (e: AgentError) => e.status === 403 && e.code === 'revoked');
    } finally {
      await c.dispose();
    }
  },
);

test(
  "punch: the peer's stream gets the caller's endpoints, once a second per pair; non-peers get 404",
  { timeout: 20_000 },
  async () => {
    const c = await startTestCoordinator();
    let closeWatch = (): void => {};
    try {
      await c.admin('PUT', '/v1/admin/policy', JSON.stringify(POLICY));
      const dev = await enrolled(c, ['dev'], 'dev');
      const server = await enrolled(c, ['server'], 'server');
      const loner = await enrolled(c, [], 'loner');
      await dev.reportEndpoints({ listenPort: 51820, addresses: ['10.0.0.5', '192.168.7.2'] });
      const events: WatchEvent[] = [];
      const h = await server.watch((_e, data) => events.push(parseWatchEvent(data)));
      closeWatch = h.close;
      const punches = (): Extract<WatchEvent, { type: 'punch' }>[] =>
        events.filter((e): e is Extract<WatchEvent, { type: 'punch' }> => e.type === 'punch');

      await dev.punch(server.identity);
      const p = await until(() => punches()[0], 2000, 'a punch event');
      const devInMap = (await server.getMap()).peers.find((x) => x.identity === dev.identity)!;
      assert.deepEqual(p, { type: 'punch', from: dev.identity, endpoints: devInMap.endpoints });
      assert.deepEqual(p.endpoints, ['10.0.0.5:51820', '192.168.7.2:51820']);

      // More within the second are answered but not forwarded; the receiver may punch back.
      await dev.punch(server.identity);
      await dev.punch(server.identity.toLowerCase());
      await server.punch(dev.identity);
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(punches().length, 1);
      await new Promise((r) => setTimeout(r, 900));
      await dev.punch(server.identity);
      await until(() => (punches().length === 2 ? true : undefined), 2000, 'a second punch after a second');

      for (const [who, peer, why] of [
        [loner, server.identity, 'not a peer'],
        [server, loner.identity, 'not a peer, the other way'],
        [dev, dev.identity, 'itself'],
        [dev, 'ZZZZZ', 'no such system'],
      ] as const) {
        await assert.rejects(who.punch(peer), (e: AgentError) => e.status === 404 && e.code === 'not-found', why);
      }
      // A revoked peer is no peer.
      const other = await enrolled(c, ['server'], 'server-2');
      const m: NetworkMap = await dev.getMap();
      assert.ok(m.peers.some((x) => x.identity === other.identity));
      await c.admin('POST', `/v1/admin/systems/${other.identity}/revoke`);
      await assert.rejects(dev.punch(other.identity), (e: AgentError) => e.status === 404);
      assert.equal(punches().length, 2);
    } finally {
      closeWatch();
      await c.dispose();
    }
  },
);

test(
  'the embedded relay on the UDP port and the relay TCP port accepts coordinator tokens and forwards',
  { timeout: 20_000 },
  async () => {
    const c = await startTestCoordinator({ relay: { tcp: { host: '127.0.0.1', port: 0 } } });
    const a = await udpClient();
    const b = await udpClient();
    const tcp = connect(c.relayTcpPort!, '127.0.0.1');
    const connected = new Promise<void>((resolve, reject) => {
      tcp.once('connect', resolve);
      tcp.once('error', reject);
    });
    try {
      assert.ok(c.relayTcpPort);
      const dev = await enrolled(c, ['dev'], 'dev');
      const server = await enrolled(c, ['server'], 'server');
      const map = await dev.getMap();
      assert.deepEqual(map.relays, [
        {
          name: 'coordinator',
          udp: `127.0.0.1:${c.udpPort}`,
          region: 'default',
          tcp: `127.0.0.1:${c.relayTcpPort}`,
        },
      ]);
      const devToken = Buffer.from((await dev.relayToken()).token, 'base64');
      const serverToken = Buffer.from((await server.relayToken()).token, 'base64');

      // A registration signed for another relay (captured there, say) gets nothing here.
      a.sock.send(register(dev, devToken, randomBytes(16), 'eu'), c.udpPort, '127.0.0.1');
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(a.got.length, 0, 'a registration for relay "eu" is not accepted by "coordinator"');
      const n1 = randomBytes(16);
      a.sock.send(register(dev, devToken, n1), c.udpPort, '127.0.0.1');
      const r1 = parseRelayRegistered(await until(() => a.got[0], 2000, 'relayRegistered over UDP'));
      assert.ok(r1);
      assert.deepEqual(Buffer.from(r1.nonce), n1);
      b.sock.send(register(server, serverToken), c.udpPort, '127.0.0.1');
      await until(() => b.got[0], 2000, 'relayRegistered for the second system');

      const payload = randomBytes(148);
      a.sock.send(
        relayFrame(NatKind.relaySend, peerId(Buffer.from(server.keys.wireguardPublicKey, 'base64')), payload),
        c.udpPort,
        '127.0.0.1',
      );
      const got = await until(() => b.got[1], 2000, 'the relayed packet');
      const f = parseRelayFrame(got);
      assert.ok(f && f.kind === 'recv');
      assert.deepEqual(Buffer.from(f.id), Buffer.from(peerId(Buffer.from(dev.keys.wireguardPublicKey, 'base64'))));
      assert.deepEqual(got.subarray(f.payloadOffset), payload);

      // The same system registers over TCP instead (moving off UDP).
      const reader = new TcpFrameReader();
      const frames: Uint8Array[] = [];
      tcp.on('data', (d: Buffer) => frames.push(...(reader.push(d) ?? [])));
      await connected;
      const n2 = randomBytes(16);
      tcp.write(tcpFrame(register(server, serverToken, n2)));
      const r2 = parseRelayRegistered(await until(() => frames[0], 2000, 'relayRegistered over TCP'));
      assert.ok(r2);
      assert.deepEqual(Buffer.from(r2.nonce), n2);

      const st = c.services.nat.stats();
      assert.ok(st.relay);
      assert.ok(st.relay.forwarded >= 1);
      assert.equal(st.udp.dropped['relay-disabled'], 0);
    } finally {
      tcp.destroy();
      a.sock.close();
      b.sock.close();
      await c.dispose();
    }
  },
);

test(
  'with the embedded relay off, relay frames are dropped and counted, and maps list no relay',
  { timeout: 20_000 },
  async () => {
    const c = await startTestCoordinator({ relay: null });
    const a = await udpClient();
    try {
      const dev = await enrolled(c, ['dev'], 'dev');
      // No relay is listed, so there is no token to ask for; the port drops relay frames unread.
      await assert.rejects(dev.relayToken(), (e: AgentError) => e.status === 404);
      a.sock.send(register(dev, randomBytes(200)), c.udpPort, '127.0.0.1');
      await until(
        () => (c.services.nat.stats().udp.dropped['relay-disabled'] === 1 ? true : undefined),
        2000,
        'the drop to be counted',
      );
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(a.got.length, 0);
      const map = await dev.getMap();
      assert.equal(map.relays, undefined);
      assert.equal(map.discovery, `127.0.0.1:${c.udpPort}`);
      assert.equal(c.relayTcpPort, null);
    } finally {
      a.sock.close();
      await c.dispose();
    }
  },
);
