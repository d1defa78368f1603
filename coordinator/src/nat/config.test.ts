// serve's NAT flags, and the discovery and relay fields maps carry as configured: in process,
// and as a real `warren-coordinator serve` with the flags on its command line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CreatedKey } from '../api/admin-types.js';
import { SimAgent } from '../testing/agent-sim.js';
import { UsageError } from '../../../src-shared/lib/cli-args.js';
import { parseRelayProbeReply, relayProbe } from '../../../src-shared/wire/nat-relay.js';
import { natMapFields, parseRelayFlag } from './config.js';
import { serveOptions } from '../cli/serve.js';
import { adminCall, startCoordinatorProcess, startTestCoordinator, type TestCoordinator } from '../testing/testing.js';

const io = { stdout: { write: () => true }, stderr: { write: () => true } };
const keyBody = { tags: ['dev'], approval: 'automatic', uses: 5, expiresInMs: 3_600_000, ephemeral: false };

async function agent(c: TestCoordinator): Promise<SimAgent> {
  const k = await c.admin<CreatedKey>('POST', '/v1/admin/keys', keyBody);
  const a = new SimAgent(c.url);
  await a.enrol(k.body.key, 'a');
  return a;
}

test('--relay NAME,udp=IP:PORT,tcp=IP:PORT', () => {
  const ok: [string, unknown][] = [
    [
      'eu,udp=198.51.100.9:3478,tcp=198.51.100.9:443',
      { name: 'eu', udp: '198.51.100.9:3478', tcp: '198.51.100.9:443' },
    ],
    ['us-1,tcp=192.0.2.1:443', { name: 'us-1', tcp: '192.0.2.1:443' }],
    ['r.2, udp = 203.0.113.4:9', { name: 'r.2', udp: '203.0.113.4:9' }],
    // a region, as warren-relay --region names it, goes into the map for people to read
    ['eu,udp=198.51.100.9:3478,region=eu-west.1', { name: 'eu', udp: '198.51.100.9:3478', region: 'eu-west.1' }],
    // IPv6 literals in brackets, written back in RFC 5952 canonical form
    [
      'v6,udp=[2001:DB8:0::9]:3478,tcp=[2001:db8::9]:443',
      { name: 'v6', udp: '[2001:db8::9]:3478', tcp: '[2001:db8::9]:443' },
    ],
  ];
  for (const [text, want] of ok) assert.deepEqual(parseRelayFlag(text), want, text);
  const bad: [string, RegExp][] = [
    ['eu', /neither udp= nor tcp=/],
    ['', /not a relay name/],
    ['e u,udp=1.2.3.4:5', /not a relay name/],
    ['coordinator,udp=1.2.3.4:5', /embedded relay's/],
    ['eu,udp=relay.example.com:3478', /not an address and port/],
    ['eu,udp=1.2.3.4', /not an address and port/],
    ['eu,udp=1.2.3.4:0', /not an address and port/],
    ['eu,udp=1.2.3.4:70000', /not an address and port/],
    ['eu,udp=0.0.0.0:5', /not an address and port/],
    ['eu,udp=[::]:5', /not an address and port/],
    ['eu,udp=[fe80::1]:5', /not an address and port/],
    ['eu,udp=2001:db8::9:5', /not an address and port/],
    ['eu,udp=1.2.3.4:5,udp=1.2.3.4:6', /given twice/],
    ['eu,quic=1.2.3.4:5', /none of udp=IP:PORT, tcp=IP:PORT and region=REGION/],
    ['eu,1.2.3.4:5', /none of udp=IP:PORT, tcp=IP:PORT and region=REGION/],
    ['eu,udp=1.2.3.4:5,region=', /not a region/],
    ['eu,udp=1.2.3.4:5,region=eu west', /not a region/],
    [`eu,udp=1.2.3.4:5,region=${'a'.repeat(33)}`, /not a region/],
    ['eu,udp=1.2.3.4:5,region=a,region=b', /given twice/],
    ['eu,region=eu', /neither udp= nor tcp=/],
  ];
  for (const [text, want] of bad) {
    const r = parseRelayFlag(text);
    assert.ok('problem' in r, text);
    assert.match(r.problem, want, text);
  }
});

test('serve flags become NAT options; conflicting or malformed ones are usage errors', () => {
  const base = ['--data', '/tmp/x', '--listen', '0.0.0.0:8443'];
  const o = serveOptions(
    [
      ...base,
      '--udp',
      '0.0.0.0:3478',
      '--public-ip',
      '203.0.113.7',
      '--relay-tcp',
      '0.0.0.0:443',
      '--relay',
      'eu,udp=198.51.100.9:3478,tcp=198.51.100.9:443',
      '--relay',
      'us,tcp=192.0.2.1:443',
    ],
    io,
  );
  assert.deepEqual(o.udp, { host: '0.0.0.0', port: 3478 });
  assert.equal(o.publicIp, '203.0.113.7');
  assert.deepEqual(o.relay, { tcp: { host: '0.0.0.0', port: 443 } });
  assert.deepEqual(o.externalRelays, [
    { name: 'eu', udp: '198.51.100.9:3478', tcp: '198.51.100.9:443' },
    { name: 'us', tcp: '192.0.2.1:443' },
  ]);
  const plain = serveOptions(base, io);
  assert.deepEqual([plain.udp, plain.publicIp, plain.relay, plain.externalRelays], [undefined, undefined, {}, []]);
  assert.equal(serveOptions([...base, '--no-relay'], io).relay, null);
  assert.deepEqual(serveOptions([...base, '--relay-region', 'eu-west'], io).relay, { region: 'eu-west' });
  // An IPv6 public address (canonicalised) for a coordinator systems reach over IPv6.
  assert.equal(serveOptions([...base, '--public-ip', '2001:DB8:0::7'], io).publicIp, '2001:db8::7');

  const bad: [string[], RegExp][] = [
    [['--no-relay', '--relay-tcp', '0.0.0.0:443'], /cannot go with --no-relay/],
    [['--no-relay', '--relay-region', 'eu-west'], /--relay-region .*cannot go with --no-relay/],
    [['--relay-region', 'eu west'], /--relay-region "eu west": a region is 1-32 letters/],
    [['--relay-region', 'x'.repeat(33)], /a region is 1-32/],
    [['--udp', '3478'], /--udp "3478" is not HOST:PORT/],
    [['--relay-tcp', 'x:y'], /--relay-tcp "x:y" is not HOST:PORT/],
    [['--public-ip', 'example.com'], /--public-ip "example.com" is not one IPv4 or IPv6 address/],
    [['--public-ip', '0.0.0.0'], /not one IPv4 or IPv6 address/],
    [['--public-ip', '1.2.3.04'], /not one IPv4 or IPv6 address/],
    [['--public-ip', '::'], /not one IPv4 or IPv6 address/],
    [['--public-ip', 'fe80::1'], /not one IPv4 or IPv6 address/],
    [['--public-ip', '[2001:db8::7]'], /not one IPv4 or IPv6 address/],
    [['--relay', 'eu'], /--relay "eu": relay eu has neither/],
    [['--relay', 'eu,udp=1.2.3.4:5', '--relay', 'eu,tcp=1.2.3.4:5'], /the name eu is given twice/],
    [Array.from({ length: 17 }, (_, i) => ['--relay', `r${i},udp=1.2.3.4:${i + 1}`]).flat(), /at most 16 relays/],
  ];
  for (const [args, want] of bad)
    assert.throws(
      () => serveOptions([...base, ...args], io),
      (e: Error) => e instanceof UsageError && want.test(e.message),
      args.join(' '),
    );
});

test('natMapFields: the embedded relay first, external ones after; nothing of ours without a public address', () => {
  const external = [{ name: 'eu', udp: '198.51.100.9:3478' }];
  assert.deepEqual(natMapFields({ publicIp: '203.0.113.7', udpPort: 8443, embedded: { tcpPort: 443 }, external }), {
    discovery: '203.0.113.7:8443',
    relays: [
      { name: 'coordinator', udp: '203.0.113.7:8443', tcp: '203.0.113.7:443' },
      { name: 'eu', udp: '198.51.100.9:3478' },
    ],
  });
  assert.deepEqual(
    natMapFields({ publicIp: '203.0.113.7', udpPort: 8443, embedded: { tcpPort: null }, external: [] }),
    {
      discovery: '203.0.113.7:8443',
      relays: [{ name: 'coordinator', udp: '203.0.113.7:8443' }],
    },
  );
  assert.deepEqual(natMapFields({ publicIp: '203.0.113.7', udpPort: 8443, embedded: null, external: [] }), {
    discovery: '203.0.113.7:8443',
  });
  assert.deepEqual(natMapFields({ publicIp: null, udpPort: 8443, embedded: { tcpPort: 443 }, external }), {
    relays: external,
  });
  assert.deepEqual(natMapFields({ publicIp: null, udpPort: 8443, embedded: { tcpPort: null }, external: [] }), {});
});

// probeRegion sends one relay probe to 127.0.0.1:port and returns the region of its answer.
async function probeRegion(port: number): Promise<string> {
  const s = createSocket('udp4');
  try {
    const nonce = randomBytes(16);
    const answer = new Promise<string>((resolve) =>
      s.on('message', (m) => {
        const r = parseRelayProbeReply(m);
        if (r !== null && Buffer.from(r.nonce).equals(nonce)) resolve(r.region);
      }),
    );
    s.send(relayProbe(nonce), port, '127.0.0.1');
    return await Promise.race([
      answer,
      new Promise<string>((_, reject) => setTimeout(() => reject(new Error('no probe answer in 3 s')), 3000)),
    ]);
  } finally {
    s.close();
  }
}

test('--public-ip twice (or "v4,v6") gives a dual-stack coordinator; two of one family are refused', () => {
  const base = ['--data', '/tmp/x', '--listen', '[::]:8080'];
  for (const args of [
    ['--public-ip', '203.0.113.7', '--public-ip', '2001:DB8::7'],
    ['--public-ip', '2001:db8::7', '--public-ip', '203.0.113.7'],
    ['--public-ip', '2001:db8::7,203.0.113.7'],
  ]) {
    const o = serveOptions([...base, ...args], io);
    assert.deepEqual([o.publicIp, o.publicIp6], ['203.0.113.7', '2001:db8::7'], args.join(' '));
  }
  const six = serveOptions([...base, '--public-ip', '2001:db8::7'], io);
  assert.deepEqual([six.publicIp, six.publicIp6], ['2001:db8::7', undefined]);
  for (const [args, want] of [
    [
      ['--public-ip', '203.0.113.7', '--public-ip', '198.51.100.1'],
      /two IPv4 addresses \(203\.0\.113\.7 and 198\.51\.100\.1\)/,
    ],
    [['--public-ip', '2001:db8::7,2001:db8::8'], /two IPv6 addresses/],
    [['--public-ip', '203.0.113.7,'], /"" is not one IPv4 or IPv6 address/],
  ] as const)
    assert.throws(
      () => serveOptions([...base, ...args], io),
      (e: Error) => e instanceof UsageError && want.test(e.message),
      args.join(' '),
    );
});

test('natMapFields of a dual-stack coordinator: IPv4 in the old fields, IPv6 in discovery6, udp6 and tcp6', () => {
  const i = { publicIp: '203.0.113.7', publicIp6: '2001:db8::7', udpPort: 3478, external: [] };
  assert.deepEqual(natMapFields({ ...i, embedded: { tcpPort: 443 } }), {
    discovery: '203.0.113.7:3478',
    discovery6: '[2001:db8::7]:3478',
    relays: [
      {
        name: 'coordinator',
        udp: '203.0.113.7:3478',
        tcp: '203.0.113.7:443',
        udp6: '[2001:db8::7]:3478',
        tcp6: '[2001:db8::7]:443',
      },
    ],
  });
  assert.deepEqual(natMapFields({ ...i, embedded: { tcpPort: null } }).relays, [
    { name: 'coordinator', udp: '203.0.113.7:3478', udp6: '[2001:db8::7]:3478' },
  ]);
  // An IPv6-only coordinator keeps using the old fields.
  assert.deepEqual(natMapFields({ ...i, publicIp: '2001:db8::7', publicIp6: null, embedded: null }), {
    discovery: '[2001:db8::7]:3478',
  });
});

test(
  'maps carry the configured discovery port and relays; the embedded relay has its region',
  { timeout: 20_000 },
  async () => {
    const c = await startTestCoordinator({
      publicIp: '198.51.100.1',
      relay: { tcp: { host: '127.0.0.1', port: 0 } },
      externalRelays: [{ name: 'eu', udp: '203.0.113.9:3478', tcp: '203.0.113.9:443' }],
    });
    try {
      const m = await (await agent(c)).getMap();
      assert.equal(m.discovery, `198.51.100.1:${c.udpPort}`);
      assert.deepEqual(m.relays, [
        {
          name: 'coordinator',
          udp: `198.51.100.1:${c.udpPort}`,
          region: 'default',
          tcp: `198.51.100.1:${c.relayTcpPort}`,
        },
        { name: 'eu', udp: '203.0.113.9:3478', tcp: '203.0.113.9:443' },
      ]);
      assert.equal(await probeRegion(c.udpPort), 'default', "probes are answered with the map's region");
    } finally {
      await c.dispose();
    }
  },
);

test(
  'on a wildcard address without --public-ip, maps carry no discovery and the log says which flag to set',
  { timeout: 20_000 },
  async () => {
    const c = await startTestCoordinator({
      host: '0.0.0.0',
      externalRelays: [{ name: 'eu', udp: '203.0.113.9:3478' }],
    });
    try {
      const m = await (await agent(c)).getMap();
      assert.equal(m.discovery, undefined);
      assert.deepEqual(m.relays, [{ name: 'eu', udp: '203.0.113.9:3478' }]);
      assert.ok(
        c.logLines.some((l) => / WARN .*maps carry no discovery port.*--public-ip IP/.test(l)),
        c.logLines.join(''),
      );
      // The port still answers (systems that know its address some other way can use it).
      assert.ok(c.udpPort > 0);
    } finally {
      await c.dispose();
    }
  },
);

test(
  'serve --udp --public-ip --relay-tcp --relay: the process reports its ports and maps name them',
  { timeout: 30_000 },
  async () => {
    const root = mkdtempSync(join(tmpdir(), 'warren-coordnat-'));
    try {
      const p = await startCoordinatorProcess({
        dataDir: join(root, 'data'),
        listen: '127.0.0.1:0',
        udp: '127.0.0.1:0',
        publicIp: '192.0.2.10',
        relayTcp: '127.0.0.1:0',
        relays: ['eu,tcp=203.0.113.9:443'],
        args: ['-v', '1', '--relay-region', 'eu-west'],
      });
      try {
        assert.ok(p.udpPort > 0);
        assert.ok(p.relayTcpPort !== null && p.relayTcpPort > 0);
        assert.match(
          p.output(),
          new RegExp(
            `UDP port 127\\.0\\.0\\.1:${p.udpPort} \\(endpoint discovery, relay\\); relay TCP 127\\.0\\.0\\.1:${p.relayTcpPort}`,
          ),
        );
        const k = await adminCall<CreatedKey>(p.url, p.adminToken, 'POST', '/v1/admin/keys', keyBody);
        const a = new SimAgent(p.url);
        await a.enrol(k.body.key, 'proc');
        const m = await a.getMap();
        assert.equal(m.discovery, `192.0.2.10:${p.udpPort}`);
        assert.deepEqual(m.relays, [
          {
            name: 'coordinator',
            udp: `192.0.2.10:${p.udpPort}`,
            region: 'eu-west',
            tcp: `192.0.2.10:${p.relayTcpPort}`,
          },
          { name: 'eu', tcp: '203.0.113.9:443' },
        ]);
      } finally {
        await p.stop();
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  },
);

test('serve --advertise-url: a base URL with --store; refused without it, or when not an http(s) URL', () => {
  const base = ['--data', '/tmp/x', '--listen', '127.0.0.1:0'];
  const store = ['--store', 'postgres://warren@db.example.com:5432/warren'];
  const url = 'https://coord-b.example.com:8443';
  assert.equal(serveOptions([...base, ...store, '--advertise-url', `${url}/`], io).advertiseUrl, url);
  assert.equal(serveOptions([...base, ...store], io).advertiseUrl, undefined);
  assert.throws(
    () => serveOptions([...base, '--advertise-url', url], io),
    /--advertise-url is for several coordinators on one PostgreSQL database \(--store postgres:\/\/\.\.\.\); SQLite/,
  );
  assert.throws(() => serveOptions([...base, ...store, '--advertise-url', 'ftp://x'], io), /must be an http/);
});
