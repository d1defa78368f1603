import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import dnsPacket from 'dns-packet';
import { createLogger } from '../../../src-shared/lib/log.js';
import { rcodeOf } from './respond.js';
import { startDnsServer, type DnsServer } from './server.js';
import { buildZone, type Zone } from './zone.js';

const self = { identity: 'G982V', address: '100.64.0.1', names: ['a'], tags: ['dev'] };
const peerB = { identity: 'B1234', address: '100.64.0.2', names: ['b'], tags: ['dev'] };

function query(name: string, id = 7, type = 'A'): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: type as 'A', name }],
  });
}

function udpAsk(port: number, msg: Buffer, timeoutMs = 2000, host = '127.0.0.1'): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    const timer = setTimeout(() => {
      s.close();
      reject(new Error('no UDP answer'));
    }, timeoutMs);
    s.on('message', (m) => {
      clearTimeout(timer);
      s.close();
      resolve(m);
    });
    s.send(msg, port, host);
  });
}

const frame = (m: Buffer): Buffer => Buffer.concat([Buffer.from([m.length >> 8, m.length & 0xff]), m]);

// tcpSession connects and collects framed answers; until() waits for a condition on them.
function tcpSession(
  port: number,
  host = '127.0.0.1',
): {
  socket: Socket;
  answers: Buffer[];
  until(cond: (a: Buffer[]) => boolean): Promise<void>;
} {
  const socket = connect(port, host);
  const answers: Buffer[] = [];
  let closed = false;
  let buf = Buffer.alloc(0);
  const waiters = new Set<() => void>();
  socket.on('error', () => undefined);
  socket.on('data', (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
      answers.push(buf.subarray(2, 2 + buf.readUInt16BE(0)));
      buf = buf.subarray(2 + buf.readUInt16BE(0));
    }
    for (const w of waiters) w();
  });
  socket.on('close', () => {
    closed = true;
    for (const w of waiters) w();
  });
  const until = (cond: (a: Buffer[]) => boolean): Promise<void> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`TCP: condition not met with ${answers.length} answers`)), 3000);
      const check = (): void => {
        if (cond(answers)) {
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        } else if (closed) {
          clearTimeout(timer);
          reject(new Error(`TCP closed with ${answers.length} answers`));
        }
      };
      waiters.add(check);
      check();
    });
  return { socket, answers, until };
}

async function tcpCollect(
  port: number,
  data: Buffer,
  n: number,
  host = '127.0.0.1',
): Promise<{ answers: Buffer[]; socket: Socket }> {
  const t = tcpSession(port, host);
  t.socket.write(data);
  await t.until((a) => a.length >= n);
  return t;
}

const aRecords = (m: Buffer): string[] => (dnsPacket.decode(m).answers ?? []).map((a) => (a as { data: string }).data);

async function withServer(
  fn: (s: DnsServer, setZone: (z: Zone) => void, lines: string[]) => Promise<void>,
  extra: { tcpIdleMs?: number; logQueries?: boolean; address6?: string; tcpMaxConnections?: number } = {},
): Promise<void> {
  let zone = buildZone({ self, reachable: [peerB] });
  const lines: string[] = [];
  const log = createLogger(5, { write: (l: string) => lines.push(l) });
  const server = await startDnsServer({ address: '127.0.0.1', port: 0, log, zone: () => zone, ...extra });
  try {
    await fn(server, (z) => (zone = z), lines);
  } finally {
    await server.close();
  }
}

test('server answers over UDP and TCP on an ephemeral port and applies zone reloads at once', async () => {
  await withServer(async (server, setZone, lines) => {
    assert.ok(server.port > 0);
    const udp = await udpAsk(server.port, query('b.warren.internal'));
    assert.deepEqual(aRecords(udp), ['100.64.0.2']);
    const { answers, socket } = await tcpCollect(server.port, frame(query('dev.tag.warren.internal')), 1);
    socket.destroy();
    assert.deepEqual(aRecords(answers[0]!).sort(), ['100.64.0.1', '100.64.0.2']);

    setZone(buildZone({ self, reachable: [] })); // policy no longer lets us reach B
    assert.equal(rcodeOf(await udpAsk(server.port, query('b.warren.internal'))), 'NXDOMAIN');
    assert.equal(rcodeOf(await udpAsk(server.port, query('example.com'))), 'SERVFAIL');
    assert.equal(server.stats().outcomes.answer, 2);
    assert.equal(server.stats().outcomes.nxdomain, 1);
    assert.ok(!lines.some((l) => l.includes('b.warren.internal')), 'no query names logged by default');
  });
});

test('server logs query names at trace level only when asked', async () => {
  await withServer(
    async (server, _setZone, lines) => {
      await udpAsk(server.port, query('b.warren.internal'));
      assert.ok(lines.some((l) => l.includes('TRACE') && l.includes('b.warren.internal')));
    },
    { logQueries: true },
  );
});

test('server answers pipelined TCP queries in order, also when split across writes', async () => {
  await withServer(async (server) => {
    const data = Buffer.concat([
      frame(query('b.warren.internal', 1)),
      frame(query('nope.warren.internal', 2)),
      frame(query('a.warren.internal', 3)),
    ]);
    const { socket, answers, until } = tcpSession(server.port);
    socket.write(data.subarray(0, 5));
    await new Promise((r) => setTimeout(r, 20));
    socket.write(data.subarray(5, 40));
    await new Promise((r) => setTimeout(r, 20));
    socket.write(data.subarray(40));
    await until((a) => a.length === 3);
    socket.destroy();
    assert.deepEqual(
      answers.map((a) => dnsPacket.decode(a).id),
      [1, 2, 3],
    );
    assert.deepEqual(
      answers.map((a) => rcodeOf(a)),
      ['NOERROR', 'NXDOMAIN', 'NOERROR'],
    );
  });
});

test('server answers three 64 KiB queries sent one byte per write, in order', async () => {
  await withServer(async (server) => {
    const padded = (id: number): Buffer => {
      const build = (pad: number): Buffer =>
        dnsPacket.encode({
          type: 'query',
          id,
          flags: dnsPacket.RECURSION_DESIRED,
          questions: [{ type: 'A', name: 'b.warren.internal' }],
          // RFC 7830 padding makes a valid query of the largest size a TCP frame can carry.
          additionals: [
            {
              type: 'OPT',
              name: '.',
              udpPayloadSize: 1232,
              extendedRcode: 0,
              ednsVersion: 0,
              flags: 0,
              flag_do: false,
              options: [{ code: 12, data: Buffer.alloc(pad) }],
            },
          ],
        });
      return build(0xffff - build(0).length);
    };
    const data = Buffer.concat([1, 2, 3].map((id) => frame(padded(id))));
    assert.equal(data.length, 3 * (2 + 0xffff));
    const { socket, answers, until } = tcpSession(server.port);
    socket.setNoDelay(true);
    await new Promise((r) => socket.once('connect', r));
    for (let i = 0; i < data.length; i++) {
      if (!socket.write(data.subarray(i, i + 1))) await new Promise((r) => socket.once('drain', r));
    }
    await until((a) => a.length === 3);
    socket.destroy();
    assert.deepEqual(
      answers.map((a) => [dnsPacket.decode(a).id, rcodeOf(a), aRecords(a)]),
      [
        [1, 'NOERROR', ['100.64.0.2']],
        [2, 'NOERROR', ['100.64.0.2']],
        [3, 'NOERROR', ['100.64.0.2']],
      ],
    );
    assert.equal(server.stats().tcpReceived, 3);
  });
});

test('server closes idle TCP connections', async () => {
  await withServer(
    async (server) => {
      const socket = connect(server.port, '127.0.0.1');
      const t0 = Date.now();
      await new Promise<void>((resolve) => socket.on('close', () => resolve()));
      assert.ok(Date.now() - t0 < 2000);
      assert.equal(server.stats().tcpIdleClosed, 1);
    },
    { tcpIdleMs: 150 },
  );
});

test('server answers FORMERR over UDP and TCP and keeps the TCP connection', async () => {
  await withServer(async (server) => {
    const bad = Buffer.from([0xab, 0xcd, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1]);
    const udp = await udpAsk(server.port, bad);
    assert.equal(rcodeOf(udp), 'FORMERR');
    assert.equal(udp.readUInt16BE(0), 0xabcd);
    const oversize = Buffer.concat([query('b.warren.internal', 9), Buffer.alloc(600)]);
    assert.equal(rcodeOf(await udpAsk(server.port, oversize)), 'FORMERR');
    const { answers, socket } = await tcpCollect(
      server.port,
      Buffer.concat([frame(bad), frame(query('b.warren.internal'))]),
      2,
    );
    socket.destroy();
    assert.deepEqual(
      answers.map((a) => rcodeOf(a)),
      ['FORMERR', 'NOERROR'],
    );
    assert.equal(server.stats().outcomes.formerr, 3);
  });
});

// xorshift32: a seeded generator so that a failing fuzz run can be repeated.
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

function mutant(next: () => number, i: number): Buffer {
  const seeds = [
    query('b.warren.internal', i & 0xffff),
    query('dev.tag.warren.internal', i & 0xffff, 'AAAA'),
    query('example.com', 1),
  ];
  const base = Buffer.from(seeds[next() % seeds.length]!);
  switch (i % 5) {
    case 0: {
      // random bytes
      const b = Buffer.alloc(next() % 600);
      for (let j = 0; j < b.length; j++) b[j] = next() & 0xff;
      return b;
    }
    case 1: // bit flips
      for (let k = 1 + (next() % 8); k > 0; k--) base[next() % base.length]! ^= 1 << (next() % 8);
      return base;
    case 2: // truncation
      return base.subarray(0, next() % base.length);
    case 3: {
      // compression pointers anywhere, often loops
      const at = 12 + (next() % (base.length - 12));
      base[at] = 0xc0 | (next() & 0x3f);
      if (at + 1 < base.length) base[at + 1] = next() & 0xff;
      return base;
    }
    default: {
      // a header claiming many records, then garbage
      base.writeUInt16BE(next() & 0xffff, 4 + 2 * (next() % 4));
      return Buffer.concat([base, Buffer.alloc(next() % 64, next() & 0xff)]);
    }
  }
}

test('10,000 random and mutated packets over UDP and some over TCP leave the server answering', async () => {
  await withServer(async (server) => {
    const next = rng(0x5eed);
    const client = createSocket('udp4');
    try {
      for (let i = 0; i < 10_000; i++) {
        client.send(mutant(next, i), server.port, '127.0.0.1');
        if (i % 200 === 199) {
          // Pace the flood so the kernel does not drop it, and check the server in between.
          const ok = await udpAsk(server.port, query('b.warren.internal', i & 0xffff));
          assert.deepEqual(aRecords(ok), ['100.64.0.2']);
        }
      }
    } finally {
      client.close();
    }
    for (let c = 0; c < 5; c++) {
      const frames: Buffer[] = [];
      for (let i = 0; i < 100; i++) frames.push(frame(mutant(next, i)));
      frames.push(frame(query('b.warren.internal', 4242)));
      const t = tcpSession(server.port);
      t.socket.write(Buffer.concat(frames));
      // The bad ones are answered with FORMERR or dropped; the valid one after them must be answered.
      await t.until((a) => a.some((m) => m.readUInt16BE(0) === 4242 && rcodeOf(m) === 'NOERROR'));
      t.socket.destroy();
    }
    const stats = server.stats();
    assert.equal(stats.internalErrors, 0);
    assert.ok(stats.udpReceived > 9_000, `received ${stats.udpReceived}`);
    assert.ok(stats.outcomes.formerr > 1000 && stats.outcomes.dropped > 100, JSON.stringify(stats.outcomes));
    assert.deepEqual(aRecords(await udpAsk(server.port, query('b.warren.internal'))), ['100.64.0.2']);
  });
});

test('server rejects connections over the limit', async () => {
  let zone = buildZone({ self, reachable: [peerB] });
  const server = await startDnsServer({
    address: '127.0.0.1',
    port: 0,
    log: createLogger(0, { write: () => 0 }),
    zone: () => zone,
    tcpMaxConnections: 2,
  });
  const sockets: Socket[] = [];
  try {
    for (let i = 0; i < 4; i++) {
      const s = connect(server.port, '127.0.0.1');
      s.on('error', () => undefined);
      sockets.push(s);
      await new Promise((r) => s.once('connect', r));
    }
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(server.stats().tcpRejected, 2);
    assert.equal(server.stats().tcpConnections, 2);
    zone = buildZone({ self, reachable: [] });
  } finally {
    for (const s of sockets) s.destroy();
    await server.close();
  }
});

test('server answers the same over UDP and TCP on its IPv6 address, and close stops both addresses', async () => {
  const self6 = { ...self, address6: 'fd00:1::6440:1' };
  const peer6 = { ...peerB, address6: 'fd00:1::6440:2' };
  let port = 0;
  await withServer(
    async (server, setZone) => {
      setZone(buildZone({ self: self6, reachable: [peer6] }));
      assert.equal(server.address6, '::1');
      port = server.port;
      const aaaa6 = await udpAsk(server.port, query('b.warren.internal', 9, 'AAAA'), 2000, '::1');
      assert.deepEqual(aRecords(aaaa6), ['fd00:1::6440:2']);
      const { answers, socket } = await tcpCollect(server.port, frame(query('b.warren.internal')), 1, '::1');
      socket.destroy();
      assert.deepEqual(aRecords(answers[0]!), ['100.64.0.2']);
      assert.deepEqual(aRecords(await udpAsk(server.port, query('b.warren.internal'))), ['100.64.0.2']);
      assert.equal(server.stats().udpReceived, 2, 'one set of counters for both addresses');
      assert.equal(server.stats().tcpReceived, 1);
    },
    { address6: '::1' },
  );
  await assert.rejects(udpAsk(port, query('b.warren.internal'), 300, '::1'), /no UDP answer/);
  await assert.rejects(
    new Promise((resolve, reject) => {
      const s = connect(port, '::1');
      s.once('connect', () => resolve(s.destroy()));
      s.once('error', reject);
    }),
    /ECONNREFUSED/,
  );
});

test('server keeps answering on IPv4 and says why when its IPv6 address cannot be bound', async () => {
  await withServer(
    async (server, _setZone, lines) => {
      assert.equal(server.address6, null);
      assert.ok(lines.some((l) => l.includes('DNS: not listening on [fd00:dead::1]') && l.includes('IPv4 only')));
      assert.deepEqual(aRecords(await udpAsk(server.port, query('b.warren.internal'))), ['100.64.0.2']);
    },
    { address6: 'fd00:dead::1' },
  );
});

test('one TCP connection limit covers the IPv4 and IPv6 addresses together', async () => {
  await withServer(
    async (server) => {
      const sockets: Socket[] = [];
      try {
        for (const host of ['127.0.0.1', '::1', '127.0.0.1', '::1']) {
          const s = connect(server.port, host);
          s.on('error', () => undefined);
          sockets.push(s);
          await new Promise((r) => {
            s.once('connect', r);
            s.once('close', r);
          });
        }
        await new Promise((r) => setTimeout(r, 100));
        assert.equal(server.stats().tcpConnections, 2);
        assert.equal(server.stats().tcpRejected, 2);
      } finally {
        for (const s of sockets) s.destroy();
      }
    },
    { address6: '::1', tcpMaxConnections: 2 },
  );
});
