import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CoordinatorSummary, PeerStatus, Status } from '../../../src-shared/wire/status.js';
import { sampleCoordinator } from '../api/testing.js';
import { clockTime, formatAgo, formatBytes, formatDrops, formatStatus } from './status-format.js';

const NOW = Date.UTC(2026, 10, 24, 12, 0, 0);
const OWN = 'HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=';
const BETA = 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=';

function status(over: Partial<Status> = {}): Status {
  return {
    version: '0.1.0',
    identity: 'G982V',
    publicKey: OWN,
    virtualAddress: '100.64.0.1',
    virtualNetwork: '100.64.0.0/10',
    adapter: 'warren0',
    listenPort: 51820,
    state: 'connected',
    mode: 'static',
    peers: [],
    drops: {},
    startedAt: NOW - 60_000,
    ...over,
  };
}

function peer(over: Partial<PeerStatus> = {}): PeerStatus {
  return {
    identity: 'Q8QW8',
    name: 'beta',
    publicKey: BETA,
    endpoint: '192.0.2.2:51820',
    allowedIps: ['100.64.0.2/32'],
    lastHandshake: NOW - 12_000,
    rxBytes: 1.2 * 1024 * 1024,
    txBytes: 3.4 * 1024 * 1024,
    persistentKeepalive: 25,
    exitNodeFor: [],
    ...over,
  };
}

/** withOffloads is the text for a connected helper without peers whose Offloads line reads words. */
function withOffloads(words: string): string {
  return `Local identity:  G982V
Public key:      ${OWN}
Virtual address: 100.64.0.1 (network 100.64.0.0/10) on warren0
Listen port:     51820
Offloads:        ${words}
Tunnel:          connected
Peers:           0
`;
}

const cases: { name: string; status: Status; want: string }[] = [
  {
    name: 'the documented example',
    status: status({ peers: [peer()] }),
    want: `Local identity:  G982V
Public key:      ${OWN}
Virtual address: 100.64.0.1 (network 100.64.0.0/10) on warren0
Listen port:     51820
Tunnel:          connected
Peers:           1 (1 of 1 online)

Peer: Q8QW8 (beta)
   Public key:     ${BETA}
   Endpoint:       192.0.2.2:51820
   Allowed IPs:    100.64.0.2/32
   Online:         yes (recent handshake)
   Last handshake: 12 seconds ago
   Transfer:       1.20 MiB received, 3.40 MiB sent
   Keepalive:      every 25 s
   Exit node for:  -
`,
  },
  {
    name: 'dual-stack: the system and each peer show their IPv6 addresses',
    status: status({
      virtualAddress6: 'fd12:3456:789a::6440:1',
      virtualNetwork6: 'fd12:3456:789a::/48',
      peers: [
        peer({
          allowedIps: ['100.64.0.2/32', 'fd12:3456:789a::6440:2/128'],
          virtualAddress6: 'fd12:3456:789a::6440:2',
        }),
      ],
    }),
    want: `Local identity:  G982V
Public key:      ${OWN}
Virtual address: 100.64.0.1 (network 100.64.0.0/10) on warren0
IPv6 address:    fd12:3456:789a::6440:1 (network fd12:3456:789a::/48)
Listen port:     51820
Tunnel:          connected
Peers:           1 (1 of 1 online)

Peer: Q8QW8 (beta)
   Public key:     ${BETA}
   Endpoint:       192.0.2.2:51820
   IPv6 address:   fd12:3456:789a::6440:2
   Allowed IPs:    100.64.0.2/32, fd12:3456:789a::6440:2/128
   Online:         yes (recent handshake)
   Last handshake: 12 seconds ago
   Transfer:       1.20 MiB received, 3.40 MiB sent
   Keepalive:      every 25 s
   Exit node for:  -
`,
  },
  {
    name: 'no peers, disconnected',
    status: status({ state: 'disconnected', listenPort: 0 }),
    want: `Local identity:  G982V
Public key:      ${OWN}
Virtual address: 100.64.0.1 (network 100.64.0.0/10) on warren0
Listen port:     0
Tunnel:          disconnected
Peers:           0
`,
  },
  {
    name: 'the offloads the socket uses',
    status: status({ offloads: { udpGso: true, udpGro: false } }),
    want: withOffloads('udp-gso on, udp-gro off'),
  },
  {
    name: 'the offloads the socket and the adapter use',
    status: status({ offloads: { udpGso: true, udpGro: true, tunTso: true, tunGro: false } }),
    want: withOffloads('udp-gso on, udp-gro on, tun-tso on, tun-gro off'),
  },
  {
    name: 'the crypto threads, on and off (a count outside 1..64 is not shown)',
    status: status({
      offloads: { udpGso: true, udpGro: true, tunTso: true, tunGro: true, cryptoThreads: 2, cryptoWorkerPackets: 7 },
    }),
    want: withOffloads('udp-gso on, udp-gro on, tun-tso on, tun-gro on, threads 2'),
  },
  {
    name: 'the wake ticker, on and off, after the threads',
    status: status({ offloads: { udpGso: true, udpGro: true, cryptoThreads: 1, wakeTicker: true } }),
    want: withOffloads('udp-gso on, udp-gro on, threads off, wake-ticker on'),
  },
  {
    name: 'the JS thread’s granted slice, in µs, after the wake ticker',
    status: status({ offloads: { udpGso: true, udpGro: true, wakeTicker: true, jsSliceUs: 100 } }),
    want: withOffloads('udp-gso on, udp-gro on, wake-ticker on, js-slice 100us'),
  },
  {
    name: 'the JS thread’s default slice',
    status: status({ offloads: { udpGso: true, udpGro: true, jsSliceUs: 0 } }),
    want: withOffloads('udp-gso on, udp-gro on, js-slice default'),
  },
  {
    name: 'a slice that is not a whole number of µs is not shown',
    status: status({ offloads: { udpGso: true, udpGro: true, jsSliceUs: 1.5 } }),
    want: withOffloads('udp-gso on, udp-gro on'),
  },
  {
    name: 'the warm-up’s time, in ms, after the slice',
    status: status({ offloads: { udpGso: true, udpGro: true, jsSliceUs: 100, warmUpMs: 142, warmUpRoundTrips: 1000 } }),
    want: withOffloads('udp-gso on, udp-gro on, js-slice 100us, warm-up 142ms'),
  },
  {
    name: 'a warm-up time that is not a whole number of ms is not shown',
    status: status({ offloads: { udpGso: true, udpGro: true, warmUpMs: -3 } }),
    want: withOffloads('udp-gso on, udp-gro on'),
  },
  {
    name: 'the wake ticker off',
    status: status({ offloads: { udpGso: false, udpGro: false, wakeTicker: false } }),
    want: withOffloads('udp-gso off, udp-gro off, wake-ticker off'),
  },
  {
    name: 'crypto threads off',
    status: status({ offloads: { udpGso: true, udpGro: false, cryptoThreads: 1 } }),
    want: withOffloads('udp-gso on, udp-gro off, threads off'),
  },
  {
    name: 'a crypto thread count out of range is left out',
    status: status({ offloads: { udpGso: true, udpGro: false, cryptoThreads: 1e9 } }),
    want: withOffloads('udp-gso on, udp-gro off'),
  },
  {
    name: 'helper still starting',
    status: status({ state: 'connecting', starting: true }),
    want: `Local identity:  G982V
Public key:      ${OWN}
Virtual address: 100.64.0.1 (network 100.64.0.0/10) on warren0
Listen port:     51820
Tunnel:          connecting (helper still starting)
Peers:           0
`,
  },
  {
    name: 'unnamed peer that never shook hands, two peers',
    status: status({
      peers: [
        peer({
          name: null,
          endpoint: null,
          lastHandshake: null,
          rxBytes: 0,
          txBytes: 148,
          persistentKeepalive: 0,
          allowedIps: ['100.64.0.3/32', '10.9.0.0/16'],
          exitNodeFor: ['0.0.0.0/0', '10.0.0.0/8'],
        }),
        peer({ identity: 'ZZZZZ', name: 'gamma', lastHandshake: NOW - 3_725_000 }),
      ],
    }),
    want: `Local identity:  G982V
Public key:      ${OWN}
Virtual address: 100.64.0.1 (network 100.64.0.0/10) on warren0
Listen port:     51820
Tunnel:          connected
Peers:           2 (0 of 2 online)

Peer: Q8QW8
   Public key:     ${BETA}
   Endpoint:       (none)
   Allowed IPs:    100.64.0.3/32, 10.9.0.0/16
   Online:         no (nothing heard recently)
   Last handshake: never
   Transfer:       0 B received, 148 B sent
   Keepalive:      off
   Exit node for:  0.0.0.0/0, 10.0.0.0/8

Peer: ZZZZZ (gamma)
   Public key:     ${BETA}
   Endpoint:       192.0.2.2:51820
   Allowed IPs:    100.64.0.2/32
   Online:         no (nothing heard recently)
   Last handshake: 1 hour, 2 minutes, 5 seconds ago
   Transfer:       1.20 MiB received, 3.40 MiB sent
   Keepalive:      every 25 s
   Exit node for:  -
`,
  },
  {
    name: 'drops, inactive profile keys and coordinated mode',
    status: status({
      mode: 'coordinated',
      drops: { 'no-route': 3, 'bad-mac': 7, replay: 0 },
      inactiveProfileKeys: ['Dns', 'ExitNode'],
    }),
    want: `Local identity:  G982V
Public key:      ${OWN}
Virtual address: 100.64.0.1 (network 100.64.0.0/10) on warren0
Listen port:     51820
Tunnel:          connected
Mode:            coordinated
Dropped packets: bad-mac 7, no-route 3
Not active yet:  Dns, ExitNode (profile keys for later versions)
Peers:           0
`,
  },
  {
    name: 'several relays: region, smoothed round trip, the one in use, one that stopped answering',
    status: status({
      mode: 'coordinated',
      nat: {
        mapping: null,
        relays: [
          { name: 'near', transport: 'udp', error: null, region: 'eu-west', rttMs: 10.4, live: true, inUse: true },
          { name: 'far', transport: 'udp', error: null, region: 'us-east', rttMs: 41, live: true, inUse: false },
          { name: 'gone', transport: 'udp', error: null, region: null, rttMs: 5, live: false, inUse: false },
        ],
      },
    }),
    want: `Local identity:  G982V
Public key:      ${OWN}
Virtual address: 100.64.0.1 (network 100.64.0.0/10) on warren0
Listen port:     51820
Tunnel:          connected
Mode:            coordinated
Public mapping:  unknown; relays: near [eu-west] (udp, 10.4 ms, in use), far [us-east] (udp, 41 ms), gone (udp, 5 ms, not answering)
Peers:           0
`,
  },
  {
    name: 'relays reached over TCP only: in use, and said not to be measured',
    status: status({
      mode: 'coordinated',
      nat: {
        mapping: null,
        relays: [
          { name: 'a', transport: 'tcp', error: null, region: 'eu-west', rttMs: null, live: true, inUse: true },
          { name: 'b', transport: 'tcp', error: null, region: null, rttMs: null, live: true, inUse: false },
          { name: 'c', transport: null, error: 'connection refused', region: null, rttMs: null, live: false },
        ],
      },
    }),
    want: `Local identity:  G982V
Public key:      ${OWN}
Virtual address: 100.64.0.1 (network 100.64.0.0/10) on warren0
Listen port:     51820
Tunnel:          connected
Mode:            coordinated
Public mapping:  unknown; relays: a [eu-west] (tcp, not measured, in use), b (tcp, not measured), c (connection refused)
Peers:           0
`,
  },
  {
    name: "NAT traversal: the public mapping, relays and each peer's path",
    status: status({
      mode: 'coordinated',
      nat: {
        mapping: '203.0.113.1:51820',
        relays: [
          { name: 'coordinator', transport: 'tcp', error: null },
          { name: 'eu', transport: null, error: 'refused: token expired' },
        ],
      },
      peers: [
        peer({
          persistentKeepalive: 0,
          path: { type: 'direct', endpoint: '192.0.2.2:51820', relay: null, rttMs: 0.6, candidates: 3 },
        }),
        peer({
          identity: 'ZZZZZ',
          name: 'gamma',
          endpoint: null,
          persistentKeepalive: 0,
          path: { type: 'relay', endpoint: null, relay: 'coordinator', rttMs: 2.4, candidates: 2 },
        }),
      ],
    }),
    want: `Local identity:  G982V
Public key:      ${OWN}
Virtual address: 100.64.0.1 (network 100.64.0.0/10) on warren0
Listen port:     51820
Tunnel:          connected
Mode:            coordinated
Public mapping:  203.0.113.1:51820; relays: coordinator (tcp), eu (refused: token expired)
Peers:           2 (2 of 2 online)

Peer: Q8QW8 (beta)
   Public key:     ${BETA}
   Endpoint:       192.0.2.2:51820
   Allowed IPs:    100.64.0.2/32
   Online:         yes (recent handshake)
   Last handshake: 12 seconds ago
   Transfer:       1.20 MiB received, 3.40 MiB sent
   Keepalive:      off
   Exit node for:  -
   Path:           direct to 192.0.2.2:51820, round trip 1 ms

Peer: ZZZZZ (gamma)
   Public key:     ${BETA}
   Endpoint:       (none)
   Allowed IPs:    100.64.0.2/32
   Online:         yes (recent handshake)
   Last handshake: 12 seconds ago
   Transfer:       1.20 MiB received, 3.40 MiB sent
   Keepalive:      off
   Exit node for:  -
   Path:           relayed through coordinator, round trip 2 ms
`,
  },
];

for (const c of cases) {
  test(`formatStatus: ${c.name}`, () => {
    assert.equal(formatStatus(c.status, NOW), c.want);
  });
}

test('formatStatus escapes control characters from the helper', () => {
  const out = formatStatus(status({ peers: [peer({ name: 'evil\u001b[2J\nTunnel: hacked' })] }), NOW);
  assert.ok(!out.includes('\u001b'));
  assert.ok(out.includes('Peer: Q8QW8 (evil\\x1b[2J\\nTunnel: hacked)'));
  assert.equal(out.split('\n').filter((l) => l.startsWith('Tunnel:')).length, 1);
});

test('formatBytes', () => {
  const cases: [number, string][] = [
    [0, '0 B'],
    [1023, '1023 B'],
    [1024, '1.00 KiB'],
    [1536, '1.50 KiB'],
    [1.2 * 1024 ** 2, '1.20 MiB'],
    [5 * 1024 ** 3, '5.00 GiB'],
    [2 * 1024 ** 4, '2.00 TiB'],
    [-1, '?'],
    [NaN, '?'],
  ];
  for (const [n, want] of cases) assert.equal(formatBytes(n), want, String(n));
});

test('formatAgo', () => {
  const cases: [number | null, string][] = [
    [null, 'never'],
    [0, 'never'],
    [NOW, 'just now'],
    [NOW + 5000, 'just now'],
    [NOW - 1000, '1 second ago'],
    [NOW - 12_000, '12 seconds ago'],
    [NOW - 60_000, '1 minute ago'],
    [NOW - 61_000, '1 minute, 1 second ago'],
    [NOW - 2 * 86_400_000 - 3_600_000, '2 days, 1 hour ago'],
  ];
  for (const [then, want] of cases) assert.equal(formatAgo(then, NOW), want, String(then));
});

test('formatDrops lists the largest counters and bounds the line', () => {
  assert.equal(formatDrops({}), null);
  assert.equal(formatDrops({ a: 0 }), null);
  const many = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`r${i}`, i + 1]));
  assert.equal(formatDrops(many, 3), 'r9 10, r8 9, r7 8, and 7 more');
});

test('status shows the policy mode and the DNS integration', () => {
  const base = status();
  const allowAll = formatStatus({ ...base, policy: { mode: 'allow-all', active: 0, total: 0 } }, base.startedAt);
  assert.match(allowAll, /Policy: +allow all between configured peers/);
  const deny = formatStatus(
    {
      ...base,
      policy: { mode: 'policy', active: 2, total: 3 },
      dns: { zone: 'warren.internal', address: '100.64.0.1', integration: 'resolv.conf' },
    },
    base.startedAt,
  );
  assert.match(deny, /Policy: +default deny; 2 of 3 policies active/);
  assert.doesNotMatch(deny, /Flows:/, 'no flows line from a helper that does not report them');
  const tracked = formatStatus(
    { ...base, policy: { mode: 'policy', active: 1, total: 1, flows: 7, evictions: {} } },
    0,
  );
  assert.match(tracked, /Flows: +7 tracked\n/);
  const evicted = formatStatus(
    {
      ...base,
      policy: { mode: 'policy', active: 1, total: 1, flows: 4096, evictions: { 'peer-share': 12, 'table-full': 0 } },
    },
    0,
  );
  assert.match(evicted, /Flows: +4096 tracked; evicted to make room: peer-share 12\n/);
  assert.match(deny, /DNS: +warren.internal at 100.64.0.1 \(via resolv.conf\)/);
});

function coordinated(c: Partial<CoordinatorSummary>): Status {
  return status({ mode: 'coordinated', coordinator: sampleCoordinator(NOW, c) });
}

const lineOf = (out: string, label: string): string | undefined =>
  out.split('\n').find((l) => l.startsWith(`${label}:`));

test('a connected coordinator shows its map version and age, and the tunnel connected', () => {
  const out = formatStatus(coordinated({}), NOW);
  assert.equal(lineOf(out, 'Coordinator'), 'Coordinator:     https://c.example:8443 connected, map v42 (12 s old)');
  assert.equal(lineOf(out, 'Tunnel'), 'Tunnel:          connected');
});

test('a pending system says pending approval since when, and its tunnel is up but waiting', () => {
  const since = NOW - 5 * 60_000;
  const out = formatStatus(
    coordinated({ condition: 'pending-approval', state: 'pending', mapVersion: 0, lastMapAt: null, since }),
    NOW,
  );
  assert.equal(
    lineOf(out, 'Coordinator'),
    `Coordinator:     https://c.example:8443 pending approval since ${clockTime(since)}, no map yet`,
  );
  assert.equal(lineOf(out, 'Tunnel'), 'Tunnel:          up, waiting for the coordinator (pending approval)');
});

test('an unreachable coordinator shows since when and the last error; a tunnel with a map stays connected', () => {
  const since = NOW - 90_000;
  const out = formatStatus(
    coordinated({ condition: 'unreachable', reachable: false, since, detail: 'connect ECONNREFUSED 10.0.0.1:8443' }),
    NOW,
  );
  assert.equal(
    lineOf(out, 'Coordinator'),
    `Coordinator:     https://c.example:8443 unreachable since ${clockTime(since)} (last error: connect ECONNREFUSED 10.0.0.1:8443), map v42 (12 s old)`,
  );
  assert.equal(lineOf(out, 'Tunnel'), 'Tunnel:          connected');
});

test('a tunnel with no usable map never says connected: bad signature, rejected, revoked, key mismatch', () => {
  const cases: [Partial<import('../../../src-shared/wire/status.js').CoordinatorSummary>, RegExp][] = [
    [{ condition: 'bad-signature', mapVersion: 0 }, /^up, waiting for the coordinator \(no map yet\)$/],
    [{ condition: 'rejected' }, /^up, but the coordinator refuses this system: no peers$/],
    [{ condition: 'revoked', state: 'revoked' }, /^up, but revoked by the coordinator: no peers$/],
    [{ condition: 'key-mismatch' }, /^up, but peers expect another key: nobody is reachable$/],
    [{ condition: 'unreachable', mapVersion: 0 }, /^up, waiting for the coordinator \(no map yet\)$/],
  ];
  for (const [c, want] of cases) {
    const tunnel = lineOf(formatStatus(coordinated(c), NOW), 'Tunnel')
      ?.slice('Tunnel:'.length)
      .trim();
    assert.match(tunnel ?? '', want, String(c.condition));
  }
});

test('a helper from before the condition field still gets a truthful Coordinator line', () => {
  const s = coordinated({ state: 'pending', reachable: true, mapVersion: 0 });
  const c = s.coordinator as unknown as Record<string, unknown>;
  for (const k of ['condition', 'since', 'lastMapAt', 'detail']) delete c[k];
  const out = formatStatus(s, NOW);
  assert.equal(lineOf(out, 'Coordinator'), 'Coordinator:     https://c.example:8443 pending approval, no map yet');
  assert.match(lineOf(out, 'Tunnel') ?? '', /up, waiting for the coordinator/);
});

test('formatStatus: an idle peer whose direct path answers is online, as in the window', () => {
  const idle = peer({
    lastHandshake: NOW - 3_600_000,
    path: { type: 'direct', endpoint: '192.0.2.2:51820', relay: null, rttMs: 4, candidates: 1 },
  });
  const gone = peer({ identity: 'ZZZZZ', name: 'gamma', lastHandshake: NOW - 3_600_000 });
  const relayed = peer({
    identity: 'YYYYY',
    name: 'delta',
    lastHandshake: null,
    path: { type: 'relay', endpoint: null, relay: 'coordinator', rttMs: 3, candidates: 0 },
  });
  const out = formatStatus(status({ peers: [idle, gone, relayed] }), NOW);
  assert.match(out, /^Peers: {11}3 \(1 of 3 online\)$/m);
  assert.match(
    out,
    /Peer: Q8QW8 \(beta\)\n(.*\n){3} {3}Online: {9}yes \(direct path answers; idle, no recent handshake\)\n/,
  );
  assert.match(out, /Peer: ZZZZZ \(gamma\)\n(.*\n){3} {3}Online: {9}no \(nothing heard recently\)\n/);
  // A relay's round trip is the relay's and stays after the peer goes quiet: not proof.
  assert.match(out, /Peer: YYYYY \(delta\)\n(.*\n){3} {3}Online: {9}no /);
  const down = formatStatus(status({ state: 'disconnected', peers: [idle] }), NOW);
  assert.match(down, /^Peers: {11}1 \(0 of 1 online\)$/m);
});

test('formatStatus: an adapter that is not warren0 because another program had it says so', () => {
  const out = formatStatus(status({ adapter: 'warren2', adapterTaken: ['warren0', 'warren1'] }), NOW);
  assert.match(
    out,
    /^Virtual address: 100\.64\.0\.1 \(network 100\.64\.0\.0\/10\) on warren2 \(warren0, warren1 are taken by another program\)$/m,
  );
  assert.doesNotMatch(formatStatus(status(), NOW), /taken/);
});
