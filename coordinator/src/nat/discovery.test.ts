// Endpoint discovery against a real coordinator over real UDP on 127.0.0.1: signed answers
// carrying the client's socket address, the mapping reaching peers' maps first, and bad input
// that gets no answer, is counted by reason and leaves the port answering good requests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import type { NetworkMap } from '../../../src-shared/wire/control.js';
import { NAT_CONTEXT, NatKind, signedBytes, withMac, withSignature } from '../../../src-shared/wire/nat-wire.js';
import { discoveryRequestBody, parseDiscoveryReply } from '../../../src-shared/wire/nat-discovery.js';
import type { AdminSystem, CoordinatorStats } from '../api/admin-types.js';
import { generateAgentKeys, parseWatchEvent, SimAgent } from '../testing/agent-sim.js';
import { verifyEd25519 } from '../../../src-shared/lib/ed25519.js';
import { DEV_TO_SERVER_POLICY, enrolledAgent, startTestCoordinator, type TestCoordinator } from '../testing/testing.js';

const POLICY = DEV_TO_SERVER_POLICY;
const enrolled = enrolledAgent;

/** Client is a UDP socket on 127.0.0.1 that collects what comes back. */
class Client {
  readonly received: Buffer[] = [];
  private constructor(
    readonly sock: Socket,
    readonly to: number,
  ) {}
  static async open(to: number): Promise<Client> {
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
    const c = new Client(sock, to);
    sock.on('message', (m) => c.received.push(m));
    return c;
  }
  get port(): number {
    return this.sock.address().port;
  }
  send(buf: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) =>
      this.sock.send(buf, this.to, '127.0.0.1', (e) => (e ? reject(e) : resolve())),
    );
  }
  /** ask sends buf and returns the first datagram back within ms, or null. */
  async ask(buf: Uint8Array, ms = 250): Promise<Buffer | null> {
    const before = this.received.length;
    await this.send(buf);
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (this.received.length > before) return this.received[before]!;
      await new Promise((r) => setTimeout(r, 5));
    }
    return this.received.length > before ? this.received[before]! : null;
  }
  close(): void {
    this.sock.close();
  }
}

async function natStats(c: TestCoordinator): Promise<CoordinatorStats['nat']> {
  const r = await c.admin<CoordinatorStats>('GET', '/v1/admin/stats');
  assert.equal(r.status, 200);
  return r.body.nat;
}

test(
  "a valid request is answered with the client's address, signed, and peers get the mapping first",
  { timeout: 20_000 },
  async () => {
    const c = await startTestCoordinator();
    const clients: Client[] = [];
    let closeWatch = (): void => {};
    try {
      await c.admin('PUT', '/v1/admin/policy', JSON.stringify(POLICY));
      const dev = await enrolled(c, ['dev'], 'dev');
      const server = await enrolled(c, ['server'], 'server');
      await dev.reportEndpoints({ listenPort: 51820, addresses: ['10.0.0.5'] });
      const maps: NetworkMap[] = [];
      const h = await server.watch((_e, data) => {
        const ev = parseWatchEvent(data);
        if (ev.type === 'map') maps.push(server.verify(ev.map));
      });
      closeWatch = h.close;

      const a = await Client.open(c.udpPort);
      clients.push(a);
      await dev.fetchDiscoveryKey();
      const nonce = randomBytes(16);
      const raw = await a.ask(dev.discoveryRequest(Date.now(), nonce), 2000);
      assert.ok(raw, 'no reply');
      const reply = parseDiscoveryReply(raw);
      assert.ok(reply, 'the reply does not parse');
      assert.deepEqual(Buffer.from(reply.nonce), nonce);
      assert.deepEqual([[...reply.addr], reply.port], [[127, 0, 0, 1], a.port]);
      assert.ok(
        verifyEd25519(
          Buffer.from(c.publicKey, 'base64'),
          signedBytes(NAT_CONTEXT.discoveryReply, reply.signed),
          reply.signature,
        ),
      );
      assert.ok(raw.length < dev.discoveryRequest().length, 'the reply is smaller than the request');

      // The server (dev's peer) gets a map listing the mapping first, then the reported endpoint.
      const mapping = `127.0.0.1:${a.port}`;
      const deadline = Date.now() + 2000;
      let seen: string[] | undefined;
      while (Date.now() < deadline) {
        seen = maps.at(-1)?.peers.find((p) => p.identity === dev.identity)?.endpoints;
        if (seen?.[0] === mapping) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.deepEqual(seen, [mapping, '10.0.0.5:51820']);
      const view = await c.admin<AdminSystem>('GET', `/v1/admin/systems/${dev.identity}`);
      assert.equal(view.body.observedUdp, mapping);

      // Asking again from the same socket changes nothing; from another socket it moves.
      const mapsBefore = maps.length;
      assert.ok(await a.ask(dev.discoveryRequest(), 1000));
      let st = await natStats(c);
      assert.deepEqual([st.discovery.answered, st.discovery.recorded], [2, 1]);
      const b = await Client.open(c.udpPort);
      clients.push(b);
      assert.ok(await b.ask(dev.discoveryRequest(), 1000));
      st = await natStats(c);
      assert.deepEqual([st.discovery.answered, st.discovery.recorded], [3, 2]);
      const moved = await server.getMap();
      assert.equal(moved.peers[0]!.endpoints[0], `127.0.0.1:${b.port}`);
      // The server's watch stream hears of the move too, as a new map.
      const movedBy = Date.now() + 2000;
      const streamed = (): string | undefined =>
        maps.at(-1)?.peers.find((p) => p.identity === dev.identity)?.endpoints[0];
      while (Date.now() < movedBy && streamed() !== `127.0.0.1:${b.port}`) await new Promise((r) => setTimeout(r, 10));
      assert.ok(maps.length > mapsBefore, `${maps.length} maps streamed, ${mapsBefore} before the move`);
      assert.equal(streamed(), `127.0.0.1:${b.port}`);
    } finally {
      closeWatch();
      for (const x of clients) x.close();
      await c.dispose();
    }
  },
);

test(
  'bad requests get no answer, are counted by reason, and the port keeps answering',
  { timeout: 30_000 },
  async (t) => {
    let offset = 0;
    const c = await startTestCoordinator({ now: () => Date.now() + offset });
    const cl = await Client.open(c.udpPort);
    try {
      const dev = await enrolled(c, ['dev'], 'dev');
      await dev.fetchDiscoveryKey();
      const revoked = await enrolled(c, ['dev'], 'gone');
      await revoked.fetchDiscoveryKey();
      await c.admin('POST', `/v1/admin/systems/${revoked.identity}/revoke`);
      const pending = await enrolled(c, ['dev'], 'waiting', 'gated');
      await assert.rejects(pending.fetchDiscoveryKey(), /pending-approval/);
      pending.discoveryKey = randomBytes(32);
      const stranger = new SimAgent(c.url);
      stranger.systemId = 'sys-0123456789abcdef01234567';
      stranger.discoveryKey = randomBytes(32);
      // The impostor has dev's discovery key (leaked) but not its machine key.
      const impostor = new SimAgent(c.url, { keys: generateAgentKeys() });
      impostor.systemId = dev.systemId;
      impostor.discoveryKey = dev.discoveryKey;
      // The guesser has dev's machine key but not its discovery key.
      const guesser = new SimAgent(c.url, { keys: dev.keys });
      guesser.systemId = dev.systemId;
      guesser.discoveryKey = randomBytes(32);
      const replayed = dev.discoveryRequest();
      assert.ok(await cl.ask(replayed, 1000), 'the first copy is answered');
      const flipped = Buffer.from(dev.discoveryRequest());
      flipped[flipped.length - 1]! ^= 1;
      const macFlipped = Buffer.from(dev.discoveryRequest());
      macFlipped[macFlipped.length - 65]! ^= 1;
      const badVersion = Buffer.from(dev.discoveryRequest());
      badVersion[4] = 9;
      const header = Buffer.from([0x57, 0x52, 0x4e, NatKind.discoveryRequest]);

      const cases: { name: string; msg: () => Uint8Array; counter: string }[] = [
        { name: 'unknown system', msg: () => stranger.discoveryRequest(), counter: 'discovery.unknown-system' },
        { name: 'revoked system', msg: () => revoked.discoveryRequest(), counter: 'discovery.not-active' },
        { name: 'pending system', msg: () => pending.discoveryRequest(), counter: 'discovery.not-active' },
        { name: 'signed by another key', msg: () => impostor.discoveryRequest(), counter: 'discovery.bad-signature' },
        { name: 'signature altered', msg: () => flipped, counter: 'discovery.bad-signature' },
        { name: 'MAC under another key', msg: () => guesser.discoveryRequest(), counter: 'discovery.bad-mac' },
        { name: 'MAC altered', msg: () => macFlipped, counter: 'discovery.bad-mac' },
        { name: 'replayed nonce', msg: () => replayed, counter: 'discovery.replay' },
        {
          name: 'timestamp two minutes old',
          msg: () => dev.discoveryRequest(Date.now() - 120_000),
          counter: 'discovery.clock-skew',
        },
        {
          name: 'timestamp two minutes ahead',
          msg: () => dev.discoveryRequest(Date.now() + 120_000),
          counter: 'discovery.clock-skew',
        },
        { name: 'truncated', msg: () => dev.discoveryRequest().subarray(0, 100), counter: 'discovery.malformed' },
        {
          name: 'one byte too long',
          msg: () => Buffer.concat([dev.discoveryRequest(), Buffer.from([0])]),
          counter: 'discovery.malformed',
        },
        { name: 'oversized', msg: () => Buffer.concat([header, randomBytes(1400)]), counter: 'discovery.malformed' },
        { name: 'header only', msg: () => header, counter: 'discovery.malformed' },
        { name: 'other version', msg: () => badVersion, counter: 'discovery.malformed' },
        {
          name: 'random bytes after the header',
          msg: () => Buffer.concat([header, randomBytes(150)]),
          counter: 'discovery.malformed',
        },
        {
          name: 'random bytes',
          msg: () => Buffer.concat([Buffer.from([0x01]), randomBytes(120)]),
          counter: 'udp.not-warren',
        },
        { name: 'empty datagram', msg: () => Buffer.alloc(0), counter: 'udp.not-warren' },
        {
          name: 'a disco pong',
          msg: () => Buffer.concat([Buffer.from([0x57, 0x52, 0x4e, NatKind.pong]), randomBytes(40)]),
          counter: 'udp.unexpected-kind',
        },
        {
          name: 'a discovery reply',
          msg: () => Buffer.from([0x57, 0x52, 0x4e, NatKind.discoveryReply, 1]),
          counter: 'udp.unexpected-kind',
        },
        {
          name: 'id with a character outside the alphabet',
          msg: () => {
            const body = discoveryRequestBody('sys-x', Date.now(), randomBytes(16));
            body[6] = 0x20;
            return withSignature(withMac(body, Buffer.alloc(16)), Buffer.alloc(64));
          },
          counter: 'discovery.malformed',
        },
      ];
      const count = (st: CoordinatorStats['nat'], key: string): number => {
        const [part, reason] = key.split('.') as ['discovery' | 'udp', string];
        return (st[part].dropped as Record<string, number>)[reason] ?? -1;
      };
      for (const tc of cases) {
        await t.test(tc.name, async () => {
          const before = await natStats(c);
          assert.equal(await cl.ask(tc.msg(), 200), null, 'it was answered');
          const after = await natStats(c);
          assert.equal(count(after, tc.counter), count(before, tc.counter) + 1, `${tc.counter} did not count it`);
          assert.equal(after.discovery.answered, before.discovery.answered);
          assert.equal(after.discovery.recorded, before.discovery.recorded);
        });
      }

      await t.test('a skewed coordinator clock refuses otherwise valid requests', async () => {
        offset = 90_000;
        assert.equal(await cl.ask(dev.discoveryRequest(), 200), null);
        offset = 0;
        assert.ok(await cl.ask(dev.discoveryRequest(), 1000));
      });

      await t.test(
        'forged requests (no valid MAC) do not spend the rate limit of the address they come from',
        async () => {
          const before = await natStats(c);
          for (let i = 0; i < 200; i++) await cl.send(guesser.discoveryRequest());
          await new Promise((r) => setTimeout(r, 300));
          const mid = await natStats(c);
          assert.equal(mid.discovery.dropped['bad-mac'] - before.discovery.dropped['bad-mac'], 200);
          assert.equal(mid.discovery.dropped['rate-limited'], before.discovery.dropped['rate-limited']);
          const r = parseDiscoveryReply((await cl.ask(dev.discoveryRequest(), 1000))!);
          assert.ok(r, 'the real request from the same address is answered');
          assert.equal(r.port, cl.port);
        },
      );

      await t.test('a flood from one address is rate-limited; the port answers again after it', async () => {
        const before = await natStats(c);
        const flood = Array.from({ length: 150 }, () => dev.discoveryRequest());
        const got = cl.received.length;
        for (const m of flood) await cl.send(m);
        await new Promise((r) => setTimeout(r, 300));
        const answered = cl.received.length - got;
        const after = await natStats(c);
        const limited = after.discovery.dropped['rate-limited'] - before.discovery.dropped['rate-limited'];
        assert.ok(answered < 60, `${answered} of 150 flooded requests were answered`);
        assert.equal(limited + (after.discovery.answered - before.discovery.answered), 150);
        assert.ok(limited >= 90, `only ${limited} rate-limited`);
        // Its bucket refills: within a second the same address is answered again.
        await new Promise((r) => setTimeout(r, 1000));
        const r = parseDiscoveryReply((await cl.ask(dev.discoveryRequest(), 1000))!);
        assert.ok(r);
        assert.equal(r.port, cl.port);
      });
    } finally {
      cl.close();
      await c.dispose();
    }
  },
);
