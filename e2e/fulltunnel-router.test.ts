// The full tunnel at the router level, for both families: the helper's real FullTunnel runs in a
// namespace (netns/full-tunnel-driver.ts) and the test reads what it did with `ip -4/-6 rule`,
// `ip route show table 51820`, `ip route get` and `nft list table`: with ::/0 IPv6 gets the
// same fwmark rules and a default route in table 51820 as IPv4 and no IPv6 guard; with
// 0.0.0.0/0 alone the guard is there and IPv6 keeps the main table; with ::/0 alone IPv4 keeps
// it. After disable, and after a crash (SIGKILL) plus the next start's recovery, nothing is left.
// The Linux router's IPv6 subnet routes and local networks run against the same namespace.
//
//   namespace ft: adapter (veth) 100.64.0.1/10, fd7a:115c:a1e0::1/48
//                 lan (veth)     192.0.2.1/24 (default via .254), 2001:db8:1::1/64 (default via ::fe)
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { Topology, describeE2E, type Namespace, type TrackedProcess } from './netns/index.js';
import { nodeScript } from './netns/node-script.js';
import {
  FULL_TUNNEL_MARK,
  fullTunnelStatePath,
  fullTunnelTableName,
  RULE_PREF_SUPPRESS,
  RULE_PREF_TUNNEL,
} from '../helper/src/router/full-tunnel.js';

const V4 = '100.64.0.1';
const V6 = 'fd7a:115c:a1e0::1';
const INTERNET6 = '2001:db8:99::1';
const LAN6_HOST = '2001:db8:1::5';

describeE2E('full tunnel rules for IPv4 and IPv6 in a namespace', { binaries: ['nft'] }, { timeout: 120_000 }, () => {
  let topo: Topology;
  let ns: Namespace;
  let adapter = '';
  let lan = '';
  let table = '';
  let stateDir = '';
  let runs = 0;

  const sh = async (argv: string[]): Promise<string> => (await ns.exec(argv, { allowFailure: true })).stdout;
  const rules = (family: '-4' | '-6'): Promise<string> => sh(['ip', family, 'rule', 'show']);
  const tunnelTable = (family: '-4' | '-6'): Promise<string> =>
    sh(['ip', family, 'route', 'show', 'table', String(FULL_TUNNEL_MARK)]);
  const nftTable = (): Promise<string> => sh(['nft', 'list', 'table', 'inet', table]);
  const routeGet = (dst: string, mark = 0): Promise<string> =>
    sh(['ip', 'route', 'get', dst, ...(mark ? ['mark', String(mark)] : [])]);
  const ours = (): RegExp => new RegExp(`^(${RULE_PREF_SUPPRESS}|${RULE_PREF_TUNNEL}):`, 'm');

  async function start(families: '4' | '6' | '46', killSwitch: boolean): Promise<TrackedProcess> {
    const p = ns.spawn(
      [...nodeScript('full-tunnel-driver'), 'on', stateDir, adapter, V4, V6, families, killSwitch ? '1' : '0'],
      { name: `ft-driver-${runs++}` },
    );
    await p.waitFor(/"on":true/, 15_000);
    return p;
  }

  async function driver(args: string[]): Promise<Record<string, unknown>> {
    const r = await ns.exec([...nodeScript('full-tunnel-driver'), ...args], { allowFailure: true });
    return JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
  }

  async function crash(p: TrackedProcess): Promise<void> {
    p.signal('SIGKILL');
    await p.exited;
  }

  async function recover(): Promise<void> {
    const r = await ns.exec([...nodeScript('full-tunnel-driver'), 'recover', stateDir]);
    assert.match(r.stdout, /"recovered":true/);
  }

  /** assertNothingLeft checks every rule, table route and nft table of ours is gone. */
  async function assertNothingLeft(): Promise<void> {
    for (const family of ['-4', '-6'] as const) {
      assert.doesNotMatch(await rules(family), ours(), `no ${family} rule of ours`);
      assert.equal((await tunnelTable(family)).trim(), '', `table ${FULL_TUNNEL_MARK} is empty for ${family}`);
    }
    assert.doesNotMatch(await sh(['nft', 'list', 'tables']), /warren_/);
    assert.equal(existsSync(fullTunnelStatePath(stateDir)), false, 'the record is gone');
  }

  before(async () => {
    topo = Topology.create();
    ns = await topo.addNamespace('ft');
    adapter = topo.ifname('w');
    lan = topo.ifname('l');
    table = fullTunnelTableName(adapter);
    stateDir = topo.file('state');
    mkdirSync(stateDir, { recursive: true });
    for (const [name, v4, v6] of [
      [adapter, `${V4}/10`, `${V6}/48`],
      [lan, '192.0.2.1/24', '2001:db8:1::1/64'],
    ] as const) {
      // veth (no dummy module on every kernel): the far end stays unused, up for carrier.
      const far = topo.ifname('x');
      await ns.exec(['ip', 'link', 'add', name, 'type', 'veth', 'peer', 'name', far]);
      await ns.exec(['ip', 'link', 'set', far, 'up']);
      await ns.exec(['ip', 'addr', 'add', v4, 'dev', name]);
      await ns.exec(['ip', '-6', 'addr', 'add', v6, 'dev', name, 'nodad']);
      await ns.exec(['ip', 'link', 'set', name, 'up']);
    }
    await ns.exec(['ip', 'route', 'add', 'default', 'via', '192.0.2.254', 'dev', lan]);
    await ns.exec(['ip', '-6', 'route', 'add', 'default', 'via', '2001:db8:1::fe', 'dev', lan]);
  });
  after(async () => {
    await topo?.destroy();
  });

  test('with 0.0.0.0/0 and ::/0, IPv6 gets the fwmark rules and a default route in table 51820, no IPv6 guard, and disable removes all', async () => {
    const p = await start('46', true);
    try {
      for (const family of ['-4', '-6'] as const) {
        const r = await rules(family);
        assert.match(r, new RegExp(`^${RULE_PREF_SUPPRESS}:\\s+from all lookup main suppress_prefixlength 0`, 'm'));
        assert.match(
          r,
          new RegExp(`^${RULE_PREF_TUNNEL}:\\s+not from all fwmark 0xca6c lookup ${FULL_TUNNEL_MARK}`, 'm'),
        );
      }
      assert.match(await tunnelTable('-6'), new RegExp(`^default dev ${adapter} .*src ${V6}`, 'm'));
      assert.match(await tunnelTable('-4'), new RegExp(`^default dev ${adapter} .*src ${V4}`, 'm'));
      // What the kernel does with it: unmarked IPv6 goes to the adapter, the tunnel's own
      // (marked) datagrams and the LAN keep the main table.
      assert.match(await routeGet(INTERNET6), new RegExp(`dev ${adapter} .*src ${V6}`));
      assert.match(await routeGet(INTERNET6, FULL_TUNNEL_MARK), new RegExp(`via 2001:db8:1::fe dev ${lan}`));
      assert.match(await routeGet(LAN6_HOST), new RegExp(`dev ${lan}`));
      const nft = await nftTable();
      assert.doesNotMatch(nft, /ipv6guard|admin-prohibited/, 'IPv6 goes into the tunnel, not refused');
      assert.match(nft, /chain killswitch/);
      assert.doesNotMatch(nft.slice(nft.indexOf('chain killswitch')), /nfproto/, 'the kill switch covers both');
      assert.match(nft, /ip6 daddr 2001:db8:1::\/64 accept/, 'the IPv6 LAN is an exception');
      assert.equal(JSON.parse(readFileSync(fullTunnelStatePath(stateDir), 'utf8')).ipv6, true);
    } finally {
      await p.stop();
    }
    assert.match(p.output(), /"off":true/);
    await assertNothingLeft();
    assert.match(await routeGet(INTERNET6), new RegExp(`via 2001:db8:1::fe dev ${lan}`), 'normal routing is back');
  });

  test('with 0.0.0.0/0 alone, the IPv6 guard is installed and IPv6 keeps the main table; recovery after a crash removes all', async () => {
    const p = await start('4', false);
    await crash(p);
    assert.match(await rules('-4'), new RegExp(`^${RULE_PREF_TUNNEL}:`, 'm'), 'a crash leaves the rules');
    assert.doesNotMatch(await rules('-6'), ours());
    assert.equal((await tunnelTable('-6')).trim(), '');
    assert.match(await routeGet(INTERNET6), new RegExp(`via 2001:db8:1::fe dev ${lan}`));
    assert.match(await nftTable(), /chain ipv6guard/);
    await recover();
    await assertNothingLeft();
  });

  test('after a crash with ::/0, recovery removes the IPv6 rules, the IPv6 table route and the nft table', async () => {
    const p = await start('46', true);
    await crash(p);
    assert.match(await rules('-6'), new RegExp(`^${RULE_PREF_TUNNEL}:`, 'm'), 'a crash leaves the IPv6 rules');
    assert.match(await tunnelTable('-6'), /^default dev/m);
    await recover();
    await assertNothingLeft();
  });

  test('with ::/0 alone, IPv4 keeps the main table and the kill switch lets IPv4 through', async () => {
    const p = await start('6', true);
    try {
      assert.doesNotMatch(await rules('-4'), ours());
      assert.match(await rules('-6'), new RegExp(`^${RULE_PREF_TUNNEL}:`, 'm'));
      assert.match(await routeGet('198.51.100.1'), new RegExp(`via 192.0.2.254 dev ${lan}`));
      assert.match(await routeGet(INTERNET6), new RegExp(`dev ${adapter}`));
      assert.match(await nftTable(), /meta nfproto != ipv6 accept/);
    } finally {
      await p.stop();
    }
    await assertNothingLeft();
  });

  test('an IPv6 subnet goes through the adapter from the IPv6 overlay address and is withdrawn exactly, also from a record', async () => {
    assert.deepEqual(await driver(['route', 'add', '2001:db8:77::/64', adapter, V6]), { ok: true });
    assert.match(
      await sh(['ip', '-6', 'route', 'show', '2001:db8:77::/64']),
      new RegExp(`dev ${adapter} proto static src ${V6}`),
    );
    assert.match(await routeGet('2001:db8:77::9'), new RegExp(`dev ${adapter} .*src ${V6}`));
    assert.deepEqual(await driver(['route', 'del', '2001:db8:77::/64', adapter]), { ok: true });
    assert.equal((await sh(['ip', '-6', 'route', 'show', '2001:db8:77::/64'])).trim(), '');
    assert.deepEqual(await driver(['route', 'del', '2001:db8:77::/64', adapter]), { ok: false }, 'already gone');
    // A crashed helper's record: "PREFIX dev ADAPTER", the family read from the prefix.
    await driver(['route', 'add', '2001:db8:78::/64', adapter, V6]);
    assert.deepEqual(await driver(['route', 'recorded', `2001:db8:78::/64 dev ${adapter}`]), { ok: true });
    assert.equal((await sh(['ip', '-6', 'route', 'show', '2001:db8:78::/64'])).trim(), '');
  });

  test("the local networks of both families are the LAN's, not the adapter's, link-local or the defaults", async () => {
    const got = (await driver(['local', adapter])).local as string[];
    assert.ok(got.includes(`192.0.2.0/24 ${lan}`), got.join());
    assert.ok(got.includes(`2001:db8:1::/64 ${lan}`), got.join());
    assert.ok(!got.some((n) => n.startsWith('fe80:') || n.startsWith('ff') || n.endsWith(` ${adapter}`)), got.join());
  });
});
