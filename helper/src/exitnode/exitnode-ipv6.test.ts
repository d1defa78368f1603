// The exit node's IPv6 half without root: the nft rules, route and address parsing, the state
// file and the forwarding/accept_ra sysctls, against FakeHost and a /proc/sys stand-in
// (testing.ts). The real kernel runs them in exitnode-netns.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCidr } from '../../../src-shared/lib/ip/ipv4.js';
import { parseIpPrefix, type IpPrefix } from '../../../src-shared/lib/ip/addr.js';
import { applyLinuxExitNode, recoverLinuxExitNode } from './exitnode-linux.js';
import type { ExitNodeOptions } from './index.js';
import { buildNftScript, DROP_COMMENT } from './nft.js';
import { parseDefaultRoute, parseGlobalAddress6, parseRouteGet, probeAddresses } from './route.js';
import { exitNodeStatePath, readExitNodeState } from './state.js';
import { collectLog, FakeHost, sandbox, TABLE, type Sandbox } from './testing.js';

const p = (s: string): IpPrefix => parseIpPrefix(s)!;
const OVERLAY = parseCidr('100.64.0.0/10')!;
const OVERLAY6 = p('fd12:3456:789a::/48');

function options(s: Sandbox, host: FakeHost, routes: string[], more: Partial<ExitNodeOptions> = {}): ExitNodeOptions {
  return {
    adapter: 'warren0',
    overlay: OVERLAY,
    overlay6: OVERLAY6,
    routes: routes.map(p),
    stateDir: s.state,
    log: collectLog().log,
    run: host.run,
    sysctlDir: s.sysctl,
    ...more,
  };
}

test('nft script: IPv6 subnets are translated from overlay6 to our address, ::/0 without daddr, both families dropped', () => {
  const text = buildNftScript({
    table: TABLE,
    adapter: 'warren0',
    overlay: OVERLAY,
    overlay6: OVERLAY6,
    routes: [
      { route: p('192.168.1.0/24'), via: 'eth0', snatTo: '192.168.1.10' },
      { route: p('fd00:77:0:0::/64'), via: 'lan1', snatTo: 'fd00:77:0::5' },
      { route: p('::/0'), via: 'eth0', snatTo: '2001:db8:1::10' },
    ],
  });
  const lines = text.split('\n').map((l) => l.trim());
  assert.equal(lines[2], `table inet ${TABLE} {`);
  for (const want of [
    'ip saddr 100.64.0.0/10 ip daddr 192.168.1.0/24 oifname "eth0" counter snat ip to 192.168.1.10',
    'ip6 saddr fd12:3456:789a::/48 ip6 daddr fd00:77::/64 oifname "lan1" counter snat ip6 to fd00:77::5',
    'ip6 saddr fd12:3456:789a::/48 oifname "eth0" counter snat ip6 to 2001:db8:1::10',
    `iifname != "warren0" ip daddr 100.64.0.0/10 ct state new counter drop comment "${DROP_COMMENT}"`,
    `iifname != "warren0" ip6 daddr fd12:3456:789a::/48 ct state new counter drop comment "${DROP_COMMENT}"`,
  ])
    assert.ok(lines.includes(want), `missing: ${want}\n${text}`);
  const noV6 = buildNftScript({ table: TABLE, adapter: 'warren0', overlay: OVERLAY, overlay6: null, routes: [] });
  assert.ok(!noV6.includes('ip6'), 'no IPv6 rule without an IPv6 overlay');
});

test('nft script refuses an IPv6 route without overlay6 and a source of the wrong family', () => {
  const base = { table: TABLE, adapter: 'warren0', overlay: OVERLAY };
  assert.throws(
    () =>
      buildNftScript({
        ...base,
        overlay6: null,
        routes: [{ route: p('fd00:77::/64'), via: 'lan1', snatTo: 'fd00:77::5' }],
      }),
    /without an IPv6 overlay/,
  );
  assert.throws(
    () =>
      buildNftScript({
        ...base,
        overlay6: OVERLAY6,
        routes: [{ route: p('fd00:77::/64'), via: 'lan1', snatTo: '10.0.0.1' }],
      }),
    /refusing source address/,
  );
});

test('IPv6 route parsing: sources are validated addresses of the family, link-local refused; probes inside the subnet', () => {
  const get = (dev: string, src: string): string => JSON.stringify([{ dst: 'x', dev, prefsrc: src, flags: [] }]);
  assert.deepEqual(parseRouteGet(get('lan1', 'fd00:77:0:0:0:0:0:5'), 6), { dev: 'lan1', prefsrc: 'fd00:77::5' });
  assert.equal(parseRouteGet(get('lan1', 'fe80::1'), 6), null, 'link-local source');
  assert.equal(parseRouteGet(get('lan1', '10.0.0.1'), 6), null, 'IPv4 source for IPv6');
  assert.equal(parseRouteGet(get('lan1', 'fd00::1'), 4), null, 'IPv6 source for IPv4');
  assert.equal(parseRouteGet(get('lan1', 'fd00::1 drop'), 6), null, 'junk after the address');
  assert.equal(parseRouteGet('[{"type":"local","dev":"lo","prefsrc":"fd00:77::5"}]', 6), null);
  assert.deepEqual(
    parseDefaultRoute('[{"dst":"default","gateway":"fe80::1","dev":"eth0","protocol":"ra","flags":[]}]', 6),
    { dev: 'eth0', gateway: 'fe80::1', prefsrc: null },
  );
  assert.deepEqual(probeAddresses(p('fd00:77::/64')), ['fd00:77::1', 'fd00:77::ffff:ffff:ffff:ffff']);
  assert.deepEqual(probeAddresses(p('fd00:77::9/126')), ['fd00:77::9', 'fd00:77::b']);
  assert.deepEqual(probeAddresses(p('fd00:77::9/128')), ['fd00:77::9']);
  assert.deepEqual(probeAddresses(p('2001:db8::/32')), ['2001:db8::1', '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff']);
});

test('parseGlobalAddress6 picks a stable, usable, non-ULA address and tolerates junk', () => {
  const list = (infos: unknown[]): string => JSON.stringify([{ ifname: 'eth0', addr_info: infos }]);
  const a = (local: string, extra: Record<string, unknown> = {}): unknown => ({
    family: 'inet6',
    local,
    scope: 'global',
    ...extra,
  });
  assert.equal(
    parseGlobalAddress6(list([a('2001:db8::7', { temporary: true }), a('fd00::1'), a('2001:db8::1')])),
    '2001:db8::1',
  );
  assert.equal(parseGlobalAddress6(list([a('fd00::1'), a('2001:db8::2', { tentative: true })])), 'fd00::1');
  assert.equal(parseGlobalAddress6(list([a('2001:db8::3', { deprecated: true }), a('fe80::1')])), null);
  assert.equal(parseGlobalAddress6(list([null, 5, { family: 'inet', local: '10.0.0.1', scope: 'global' }])), null);
  assert.equal(parseGlobalAddress6('not json'), null);
  assert.equal(parseGlobalAddress6('{"addr_info":[]}'), null);
});

test('apply with IPv6 routes: resolves both families, raises accept_ra before forwarding, undo restores all', async () => {
  const s = sandbox('0', '0');
  const host = new FakeHost();
  host.dropped = [2, 5];
  let seen: { ra: string; fwd6: string } | null = null;
  const run: typeof host.run = (cmd, args, input) => {
    if (cmd === 'nft' && args[0] === '-f') seen = { ra: s.acceptRa('eth0'), fwd6: s.forward6() };
    return host.run(cmd, args, input);
  };
  try {
    const ex = await applyLinuxExitNode(options(s, host, ['192.168.1.0/24', 'fd00:77::/64', '::/0'], { run }));
    assert.deepEqual(seen, { ra: '1', fwd6: '0' }, 'nothing changed before the table');
    assert.deepEqual(ex.routes, [
      { cidr: '192.168.1.0/24', via: 'eth0', snatTo: '192.168.1.10' },
      { cidr: 'fd00:77::/64', via: 'lan1', snatTo: 'fd00:77::5' },
      { cidr: '::/0', via: 'eth0', snatTo: '2001:db8:1::10' },
    ]);
    const state = readExitNodeState(s.state);
    assert.deepEqual(state?.ipv6Forward, '0');
    assert.deepEqual(state?.acceptRa, ['eth0', 'warren0']);
    assert.equal(s.forward6(), '1');
    assert.equal(s.acceptRa('eth0'), '2');
    assert.equal(s.acceptRa('lan1'), '0', 'accept_ra=0 is left alone');
    assert.equal(s.acceptRa('default'), '1', "'default' is not an interface");
    assert.deepEqual(await ex.counters(), { unsolicitedDropped: 7 }, 'both drop rules summed');
    await ex.undo();
    assert.equal(s.forward6(), '0');
    assert.equal(s.forward(), '0');
    assert.equal(s.acceptRa('eth0'), '1');
    assert.equal(s.acceptRa('warren0'), '1');
    assert.equal(host.tables.size, 0);
    assert.ok(!existsSync(exitNodeStatePath(s.state)));
  } finally {
    s.cleanup();
  }
});

test('IPv6 forwarding already on: accept_ra is not touched and forwarding stays on', async () => {
  const s = sandbox('0', '1');
  const host = new FakeHost();
  try {
    const ex = await applyLinuxExitNode(options(s, host, ['fd00:77::/64']));
    assert.equal(s.acceptRa('eth0'), '1');
    assert.deepEqual(readExitNodeState(s.state)?.acceptRa, []);
    await ex.undo();
    assert.equal(s.forward6(), '1');
  } finally {
    s.cleanup();
  }
});

test('IPv4-only routes leave IPv6 forwarding and accept_ra alone', async () => {
  const s = sandbox('0', '0');
  const host = new FakeHost();
  try {
    const ex = await applyLinuxExitNode(options(s, host, ['192.168.1.0/24']));
    assert.equal(s.forward6(), '0');
    assert.equal(s.acceptRa('eth0'), '1');
    assert.equal(readExitNodeState(s.state)?.ipv6Forward, undefined);
    await ex.undo();
  } finally {
    s.cleanup();
  }
});

test('IPv6 routes are refused without overlay6, on the iptables backend, and through the adapter; nothing changes', async () => {
  const cases: Array<{
    name: string;
    routes: string[];
    more?: Partial<ExitNodeOptions>;
    backend?: string;
    want: RegExp;
  }> = [
    { name: 'no overlay6', routes: ['fd00:77::/64'], more: { overlay6: null }, want: /no IPv6 overlay/ },
    { name: 'iptables', routes: ['fd00:77::/64'], backend: 'iptables', want: /IPv6 exit routes need nftables/ },
    { name: 'adapter', routes: ['fd12:3456:789a:1::/64'], want: /leads back through the Warren adapter warren0/ },
    { name: 'no path', routes: ['2001:db8:99::/48'], want: /2001:db8:99::\/48: this machine has no local path/ },
  ];
  const before = process.env.WARREN_FIREWALL_BACKEND;
  for (const c of cases) {
    const s = sandbox('0', '0');
    const host = new FakeHost();
    if (c.backend === undefined) delete process.env.WARREN_FIREWALL_BACKEND;
    else process.env.WARREN_FIREWALL_BACKEND = c.backend;
    try {
      await assert.rejects(applyLinuxExitNode(options(s, host, c.routes, c.more)), c.want, c.name);
      assert.equal(s.forward6(), '0', c.name);
      assert.equal(s.acceptRa('eth0'), '1', c.name);
      assert.equal(host.tables.size, 0, c.name);
      assert.ok(!existsSync(exitNodeStatePath(s.state)), c.name);
    } finally {
      if (before === undefined) delete process.env.WARREN_FIREWALL_BACKEND;
      else process.env.WARREN_FIREWALL_BACKEND = before;
      s.cleanup();
    }
  }
});

test('recovery after a crash restores IPv6 forwarding and accept_ra, skipping a vanished interface', async () => {
  const s = sandbox('0', '0');
  const host = new FakeHost();
  const { log } = collectLog();
  try {
    await applyLinuxExitNode(options(s, host, ['fd00:77::/64']));
    // crash: no undo; then warren0 disappears with the helper
    assert.equal(s.forward6(), '1');
    const state = readExitNodeState(s.state)!;
    writeFileSync(exitNodeStatePath(s.state), JSON.stringify({ ...state, acceptRa: ['eth0', 'gone0', 'warren0'] }));
    await recoverLinuxExitNode(s.state, log, { run: host.run, sysctlDir: s.sysctl });
    assert.equal(s.forward6(), '0');
    assert.equal(s.acceptRa('eth0'), '1');
    assert.equal(host.tables.size, 0);
    assert.ok(!existsSync(exitNodeStatePath(s.state)), 'a vanished interface does not keep the state');
  } finally {
    s.cleanup();
  }
});

test('state files: old ones without IPv6 fields read, hostile accept_ra names make the file untrusted', () => {
  const s = sandbox();
  try {
    mkdirSync(s.state, { recursive: true });
    const write = (v: unknown): void => writeFileSync(exitNodeStatePath(s.state), JSON.stringify(v));
    const old = { pid: 1, table: TABLE, ipForward: '0' };
    write(old);
    assert.deepEqual(readExitNodeState(s.state), { ...old, backend: 'nft' });
    for (const bad of [['..'], ['.'], ['../../../etc'], ['eth0/x'], 'eth0', [7], new Array(257).fill('eth0')]) {
      write({ ...old, ipv6Forward: '0', acceptRa: bad });
      assert.equal(readExitNodeState(s.state), null, JSON.stringify(bad).slice(0, 40));
    }
    write({ ...old, ipv6Forward: '2' });
    assert.equal(readExitNodeState(s.state), null);
    write({ ...old, ipv6Forward: '1', acceptRa: ['eth0', 'wlan0.5'] });
    assert.deepEqual(readExitNodeState(s.state)?.acceptRa, ['eth0', 'wlan0.5']);
  } finally {
    s.cleanup();
  }
});

test("an old helper's table in the ip family is removed by recovery", async () => {
  const s = sandbox('0');
  const host = new FakeHost();
  try {
    host.tables.add(`ip ${TABLE}`);
    mkdirSync(s.state, { recursive: true });
    writeFileSync(exitNodeStatePath(s.state), JSON.stringify({ pid: 1, table: TABLE, ipForward: '0' }));
    await recoverLinuxExitNode(s.state, collectLog().log, { run: host.run, sysctlDir: s.sysctl });
    assert.equal(host.tables.size, 0);
    assert.ok(!existsSync(join(s.state, 'exitnode.json')));
  } finally {
    s.cleanup();
  }
});
