import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Status } from './status.js';
import { onlineReason } from './peer-online.js';
import {
  canChange,
  exitChoices,
  fromStatus,
  helperStoppedProblem,
  inCidr,
  initialAppState,
  noPeersText,
  tunnelHeadline,
  virtualIpOf,
} from './app-state.js';
import {
  helperDownMessage,
  leftoverEffects,
  NO_LEFTOVERS,
  type HelperDownReport,
  type Leftovers,
} from './leftovers.js';
import { formatAge, formatBytes, formatPath } from './format.js';

const NOW = 1_700_000_100_000;
const STATUS: Status = {
  version: '0.1.0',
  identity: 'G982V',
  publicKey: 'pk',
  virtualAddress: '100.64.0.1',
  virtualNetwork: '100.64.0.0/10',
  adapter: 'warren0',
  listenPort: 51820,
  state: 'connected',
  mode: 'coordinated',
  drops: {},
  startedAt: 1,
  dns: { zone: 'warren.internal', address: '100.64.0.1', integration: 'none' },
  policy: { mode: 'policy', active: 2, total: 3 },
  providesRoutes: [{ cidr: '198.51.100.0/24', via: 'eth0', snatTo: '198.51.100.1' }],
  coordinator: {
    url: 'https://c.example',
    systemId: 's1',
    reachable: true,
    state: 'active',
    mapVersion: 4,
    lastContact: NOW - 5000,
    lastError: null,
  },
  peers: [
    {
      identity: 'ZZZZZ',
      name: null,
      publicKey: 'k1',
      endpoint: null,
      allowedIps: ['10.0.0.0/8', '100.64.0.9/32'],
      lastHandshake: null,
      rxBytes: 0,
      txBytes: 0,
      persistentKeepalive: 0,
      exitNodeFor: [],
    },
    {
      identity: 'Q8QW8',
      name: 'exit',
      publicKey: 'k2',
      endpoint: '192.0.2.2:51820',
      allowedIps: ['198.51.100.0/24', '100.64.0.2/32'],
      lastHandshake: NOW - 10_000,
      rxBytes: 1536,
      txBytes: 20,
      persistentKeepalive: 25,
      exitNodeFor: ['198.51.100.0/24'],
      exitNodeInUse: true,
      ...({ tags: ['exit', 7], dnsName: 'exit.warren.internal' } as object),
    },
    {
      identity: 'AAAAA',
      name: 'alpha',
      publicKey: 'k3',
      endpoint: '192.0.2.3:51820',
      allowedIps: ['100.64.0.3/32'],
      lastHandshake: NOW - 200_000,
      rxBytes: 1,
      txBytes: 2,
      persistentKeepalive: 0,
      exitNodeFor: [],
    },
  ],
};

test('fromStatus: the tunnel view carries identity, address, coordinator, policy and DNS zone', () => {
  const { tunnel } = fromStatus(STATUS, NOW);
  assert.equal(tunnel.identity, 'G982V');
  assert.equal(tunnel.virtualAddress, '100.64.0.1');
  assert.deepEqual(tunnel.coordinator, {
    url: 'https://c.example',
    reachable: true,
    state: 'active',
    lastContact: NOW - 5000,
    lastError: null,
    condition: 'connected',
    since: null,
    detail: null,
  });
  assert.deepEqual(tunnel.policy, { mode: 'policy', active: 2, total: 3 });
  assert.equal(tunnel.dnsZone, 'warren.internal');
  assert.deepEqual(tunnel.providesRoutes, ['198.51.100.0/24']);
  assert.equal(tunnel.error, null);
  assert.equal(
    fromStatus({ ...STATUS, coordinator: undefined, dns: null, state: 'error', error: 'adapter gone' }, NOW).tunnel
      .coordinator,
    null,
  );
  assert.equal(fromStatus({ ...STATUS, state: 'error', error: 'adapter gone' }, NOW).tunnel.error, 'adapter gone');
});

test('fromStatus: peers sorted by label, with virtual IP, online, tags and exit routes', () => {
  const { peers } = fromStatus(STATUS, NOW);
  assert.deepEqual(
    peers.map((p) => p.label),
    ['alpha', 'exit', 'ZZZZZ'],
  );
  const [alpha, exit, anon] = peers;
  assert.equal(alpha?.online, false, 'a handshake older than 180 s is not online');
  assert.equal(exit?.online, true);
  assert.equal(anon?.online, false);
  assert.equal(exit?.virtualIp, '100.64.0.2', 'the /32 inside the virtual network, not the exit subnet');
  assert.equal(anon?.virtualIp, '100.64.0.9');
  assert.deepEqual(exit?.tags, ['exit'], 'only text tags survive');
  assert.equal(exit?.dnsName, 'exit.warren.internal');
  assert.equal(alpha?.dnsName, null);
  assert.deepEqual(exit?.exitRoutes, ['198.51.100.0/24']);
  assert.equal(exit?.exitInUse, true);
  assert.equal(anon?.label, 'ZZZZZ', 'a peer without a name is labelled by identity');
  const down = fromStatus({ ...STATUS, state: 'disconnected' }, NOW).peers;
  assert.equal(
    down.some((p) => p.online),
    false,
    'nobody is online through a disconnected tunnel',
  );
});

test('fromStatus: an idle peer with a fresh direct path is online, by the same rule as warren status', () => {
  const old = NOW - 3_600_000;
  const direct = { type: 'direct' as const, endpoint: '192.0.2.2:51820', relay: null, rttMs: 4, candidates: 1 };
  const relay = { type: 'relay' as const, endpoint: null, relay: 'coordinator', rttMs: 3, candidates: 0 };
  const base = STATUS.peers[0]!;
  const s = {
    ...STATUS,
    peers: [
      { ...base, identity: 'AAAAA', name: 'idle', lastHandshake: old, path: direct },
      { ...base, identity: 'BBBBB', name: 'quiet', lastHandshake: old, path: relay },
      { ...base, identity: 'CCCCC', name: 'none', lastHandshake: null },
    ],
  };
  const byName = new Map(fromStatus(s, NOW).peers.map((p) => [p.label, p.online]));
  assert.deepEqual(Object.fromEntries(byName), { idle: true, none: false, quiet: false });
  for (const p of s.peers) {
    const cli = onlineReason(p, true, NOW) !== 'none';
    assert.equal(byName.get(p.name!), cli, `${p.name}: window and CLI agree`);
  }
});

test('inCidr and virtualIpOf', () => {
  const cases: [string, string, boolean][] = [
    ['100.64.0.2', '100.64.0.0/10', true],
    ['100.128.0.1', '100.64.0.0/10', false],
    ['1.2.3.4', '0.0.0.0/0', true],
    ['10.0.0.1', '10.0.0.1/32', true],
    ['10.0.0.2', '10.0.0.1/32', false],
    ['300.0.0.1', '0.0.0.0/0', false],
    ['x', '10.0.0.0/8', false],
    ['10.0.0.1', '10.0.0.0/33', false],
  ];
  for (const [a, c, want] of cases) assert.equal(inCidr(a, c), want, `${a} in ${c}`);
  assert.equal(virtualIpOf(['192.168.1.5/32', '100.64.0.7/32'], '100.64.0.0/10'), '100.64.0.7');
  assert.equal(virtualIpOf(['192.168.1.0/24'], '100.64.0.0/10'), null);
});

test('exitChoices and canChange', () => {
  const { tunnel, peers } = fromStatus(STATUS, NOW);
  const s = { ...initialAppState(), link: 'up' as const, tunnel, peers };
  assert.deepEqual(exitChoices(s), [{ identity: 'Q8QW8', label: 'exit', routes: ['198.51.100.0/24'], inUse: true }]);
  const cases: [string, object, boolean][] = [
    ['unknown access', {}, true],
    ['privileged', { access: { privileged: true, operatorGroup: 'warren', operatorGroupExists: true } }, true],
    ['read-only', { access: { privileged: false, operatorGroup: 'warren', operatorGroupExists: true } }, false],
    ['helper down', { link: 'down' }, false],
    ['no tunnel yet', { tunnel: null }, false],
  ];
  for (const [label, patch, want] of cases) assert.equal(canChange({ ...s, ...patch }), want, label);
});

test('peer paths: copied field by field, malformed ones dropped, and worded for people', () => {
  const withPaths = (path: unknown): Status => ({
    ...STATUS,
    peers: [{ ...STATUS.peers[0]!, path } as Status['peers'][number]],
  });
  const direct = { type: 'direct', endpoint: '203.0.113.2:51820', relay: null, rttMs: 1.4, candidates: 3 };
  assert.deepEqual(fromStatus(withPaths(direct), NOW).peers[0]?.path, direct);
  assert.equal(fromStatus(withPaths({ type: 'teleport' }), NOW).peers[0]?.path, null);
  assert.equal(fromStatus(withPaths('direct'), NOW).peers[0]?.path, null);
  assert.equal(fromStatus(withPaths(undefined), NOW).peers[0]?.path, null);
  assert.deepEqual(
    fromStatus(withPaths({ type: 'relay', relay: 'coordinator', rttMs: 'slow', candidates: -1 / 0 }), NOW).peers[0]
      ?.path,
    { type: 'relay', endpoint: null, relay: 'coordinator', rttMs: null, candidates: 0 },
  );
  assert.equal(formatPath(direct as never), 'direct to 203.0.113.2:51820, round trip 1 ms');
  assert.equal(
    formatPath({ type: 'relay', endpoint: null, relay: 'coordinator', rttMs: null, candidates: 2 }),
    'relayed through coordinator',
  );
  assert.equal(
    formatPath({ type: 'none', endpoint: null, relay: null, rttMs: null, candidates: 1 }),
    'no working path yet (trying 1 address)',
  );
});

test('formatBytes and formatAge', () => {
  const bytes: [number, string][] = [
    [0, '0 B'],
    [1023, '1023 B'],
    [1024, '1.00 KiB'],
    [1536, '1.50 KiB'],
    [10 * 1024 * 1024, '10.0 MiB'],
    [150 * 1024 ** 3, '150 GiB'],
    [-1, '—'],
    [Number.NaN, '—'],
  ];
  for (const [n, want] of bytes) assert.equal(formatBytes(n), want, String(n));
  const ages: [number | null, string][] = [
    [null, 'never'],
    [NOW, '0 s ago'],
    [NOW - 59_000, '59 s ago'],
    [NOW - 60_000, '1 min ago'],
    [NOW - 3 * 3600_000, '3 h ago'],
    [NOW - 72 * 3600_000, '3 days ago'],
    [NOW + 5000, '0 s ago'],
  ];
  for (const [t, want] of ages) assert.equal(formatAge(t, NOW), want, String(t));
});

test('helperStoppedProblem: leftovers of a helper that is gone are the problem, with the way out', () => {
  const report = (stop: HelperDownReport['stop'], l: Leftovers, adapterPresent: boolean | null = false) => {
    const r: Omit<HelperDownReport, 'message'> = {
      running: false,
      stop,
      pid: 4242,
      source: 'record',
      where: '/run/warren/warren.state.json',
      leftovers: l,
      adapterPresent,
      effects: leftoverEffects(l, adapterPresent),
    };
    return { ...r, message: helperDownMessage(r, 'not running') };
  };
  const ks = { ...NO_LEFTOVERS, adapter: 'warren0', fullTunnel: { killSwitch: true } };
  const p = helperStoppedProblem(report('left-changes', ks));
  assert.equal(p?.code, 'helper-stopped');
  assert.equal(p?.title, 'Helper stopped; the kill switch is holding traffic');
  assert.match(p?.message ?? '', /\(pid 4242 is gone\)\. It left a full tunnel with the kill switch on/);
  assert.match(p?.message ?? '', /`sudo warren cleanup`.*`sudo warren start`/);

  const dns = {
    ...NO_LEFTOVERS,
    dns: { kind: 'resolv.conf' as const, path: '/etc/resolv.conf', address: '100.64.0.1' },
  };
  assert.equal(
    helperStoppedProblem(report('left-changes', dns))?.title,
    'Helper stopped; DNS still points at its nameserver',
  );
  const exit = { ...NO_LEFTOVERS, exitNode: { table: 'warren_exit_w0', ipForward: '0' as const } };
  assert.equal(helperStoppedProblem(report('left-changes', exit))?.title, 'Helper stopped and left changes behind');

  // Nothing that still changes the machine (the adapter went with the process), a clean stop, a
  // helper still running, or no record: plain "not running" stays the caller's to say.
  assert.equal(helperStoppedProblem(report('left-changes', { ...NO_LEFTOVERS, adapter: 'warren0' })), null);
  assert.equal(helperStoppedProblem(report('clean', NO_LEFTOVERS)), null);
  assert.equal(helperStoppedProblem(report('unanswered', ks)), null);
  assert.equal(helperStoppedProblem(null), null);
});

test('fromStatus: IPv6 addresses of the system and its peers pass through; anything else is null', () => {
  const withV6 = {
    ...STATUS,
    virtualAddress6: 'fd12:3456:789a::6440:1',
    virtualNetwork6: 'fd12:3456:789a::/48',
    peers: STATUS.peers.map((p, i) => ({ ...p, virtualAddress6: i === 0 ? 'fd12:3456:789a::6440:9' : '<b>x</b>' })),
  };
  const { tunnel, peers } = fromStatus(withV6, NOW);
  assert.equal(tunnel.virtualAddress6, 'fd12:3456:789a::6440:1');
  assert.equal(tunnel.virtualNetwork6, 'fd12:3456:789a::/48');
  assert.equal(peers.find((p) => p.identity === STATUS.peers[0]!.identity)?.virtualIp6, 'fd12:3456:789a::6440:9');
  assert.ok(peers.filter((p) => p.identity !== STATUS.peers[0]!.identity).every((p) => p.virtualIp6 === null));
  const old = fromStatus(STATUS, NOW);
  assert.equal(old.tunnel.virtualAddress6, null, 'an older helper without the fields shows none');
  assert.ok(old.peers.every((p) => p.virtualIp6 === null));
});

function pending(): Status {
  return {
    ...STATUS,
    peers: [],
    coordinator: {
      ...STATUS.coordinator!,
      state: 'pending',
      mapVersion: 0,
      condition: 'pending-approval',
      since: NOW - 60_000,
      lastMapAt: null,
      detail: null,
    },
    problems: [
      'waiting for an admin to approve this system: on the coordinator, run `warren-coordinator systems approve G982V`',
    ],
  };
}

test('a pending system is not Connected: the header says Waiting for approval and the problem says how', () => {
  const { tunnel } = fromStatus(pending(), NOW);
  assert.equal(tunnel.held, 'pending-approval');
  assert.equal(tunnel.coordinator?.condition, 'pending-approval');
  assert.equal(tunnel.coordinator?.since, NOW - 60_000);
  assert.deepEqual(tunnelHeadline(tunnel), { key: 'held', words: 'Waiting for approval' });
  assert.match(tunnel.problems[0] ?? '', /warren-coordinator systems approve G982V/);
  assert.match(noPeersText(tunnel), /waits for an admin to approve it/);
});

test('the header names each way the coordinator holds a tunnel that is up, and only then', () => {
  const held = (condition: NonNullable<Status['coordinator']>['condition'], mapVersion = 0) =>
    tunnelHeadline(
      fromStatus({ ...STATUS, coordinator: { ...STATUS.coordinator!, condition, mapVersion } }, NOW).tunnel,
    ).words;
  assert.equal(held('revoked', 4), 'Revoked by the coordinator');
  assert.equal(held('rejected', 4), 'Refused by the coordinator');
  assert.equal(held('key-mismatch', 4), 'Wrong private key');
  assert.equal(held('bad-signature'), "Coordinator's key does not match");
  assert.equal(held('unreachable'), 'Waiting for the coordinator');
  // An outage with a map in force keeps the tunnel working: it is still Connected.
  assert.equal(held('unreachable', 4), 'Connected');
  assert.equal(held('connected', 4), 'Connected');
  // A tunnel that is down says so whatever the coordinator does.
  const down = fromStatus({ ...pending(), state: 'disconnected' }, NOW).tunnel;
  assert.deepEqual(tunnelHeadline(down), { key: 'disconnected', words: 'Disconnected' });
});

test('an enrolled system with no peers is never told to enrol', () => {
  const enrolled = fromStatus({ ...STATUS, peers: [] }, NOW).tunnel;
  assert.equal(noPeersText(enrolled), "No peers yet: the coordinator's policy gives this system none.");
  const staticOne = fromStatus({ ...STATUS, mode: 'static', coordinator: undefined, peers: [] }, NOW).tunnel;
  assert.match(noPeersText(staticOne), /Enrol with a coordinator/);
  assert.match(noPeersText(null), /Enrol with a coordinator/);
});

test("the helper's problems are bounded in number and length, and non-strings are dropped", () => {
  const many = Array.from({ length: 20 }, (_, i) => `problem ${i} ${'x'.repeat(2000)}`);
  const { tunnel } = fromStatus({ ...STATUS, problems: [...many, 7 as unknown as string] }, NOW);
  assert.equal(tunnel.problems.length, 8);
  assert.ok(tunnel.problems.every((p) => p.length <= 1000));
  // An older helper without condition: derived from state.
  const old = fromStatus(
    { ...STATUS, coordinator: { ...STATUS.coordinator!, state: 'pending', mapVersion: 0 }, problems: undefined },
    NOW,
  ).tunnel;
  assert.equal(old.coordinator?.condition, 'pending-approval');
  assert.equal(old.held, 'pending-approval');
  assert.deepEqual(old.problems, []);
});
