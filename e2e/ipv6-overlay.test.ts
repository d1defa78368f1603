// The IPv6 overlay over an IPv6-only underlay: a real coordinator and two coordinated helpers in
// namespaces on one switch that carries no IPv4 at all. The coordinator draws the network's
// unique local /48 (RFC 4193) and gives each system an IPv6 address in it; each adapter carries
// its address as a /128 and the /48 route, with the kernel's own IPv6 chatter (link-local
// address, router solicitations, DAD) turned off on it; names resolve with AAAA through Warren's
// DNS (RFC 3596), which also listens on the IPv6 address; peers reach each other with ping -6 and
// TCP under the same policy as IPv4; a stopped helper leaves no adapter, IPv6 route or sysctl
// change behind.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  Topology,
  describeE2E,
  ping,
  startWarren,
  tcpTransfer,
  waitForPing,
  waitUntil,
  type Namespace,
  type Warren,
} from './netns/index.js';
import { enrolAndStart as enrol, startCoordinator, type Coordinator } from './netns/coordinated.js';
import { readProfile } from '../helper/src/config/load.js';
import { formatIpPrefix, parseIp, prefixContains } from '../src-shared/lib/ip/addr.js';

// The underlay: IPv6 from the documentation range (RFC 3849), nothing else.
const COORD_IP = '2001:db8:100::100';
const MB = 1024 * 1024;
const POLICY = {
  Tags: ['dev', 'server'],
  Policies: [
    {
      Name: 'dev and server',
      Senders: ['tag:dev', 'tag:server'],
      Receivers: ['tag:dev', 'tag:server'],
      Acls: [{ Protocol: 'any' }],
    },
  ],
};
// The global IPv6 settings a helper must never change (it only writes conf/<adapter>/).
const GLOBAL_SYSCTLS = ['all', 'default'].flatMap((c) =>
  ['disable_ipv6', 'accept_ra', 'autoconf', 'forwarding', 'addr_gen_mode'].map(
    (k) => `/proc/sys/net/ipv6/conf/${c}/${k}`,
  ),
);

interface Member {
  name: string;
  ip: string;
  tags: string;
  ns?: Namespace;
  w?: Warren;
  adapter?: string;
  vip?: string;
  vip6?: string;
  json?: Record<string, unknown>;
}

describeE2E('IPv6 overlay', { warren: true, binaries: ['ping', 'dig'] }, { timeout: 240_000 }, () => {
  let topo: Topology;
  let coord: Coordinator;
  let net6 = '';
  const sysctlsBefore = new Map<string, string>();
  const alpha: Member = { name: 'alpha', ip: '2001:db8:100::1', tags: 'dev' };
  const beta: Member = { name: 'beta', ip: '2001:db8:100::2', tags: 'server' };

  async function enrolAndStart(m: Member): Promise<void> {
    const e = await enrol(coord, m.ns!, m.name, m.tags);
    m.w = e.w;
    m.vip = e.vip;
    m.vip6 = e.vip6 ?? undefined;
    m.adapter = e.adapter;
    m.json = readProfile(e.w.profilePath).json;
  }

  const readSysctls = async (ns: Namespace): Promise<Map<string, string>> => {
    const out = new Map<string, string>();
    for (const f of GLOBAL_SYSCTLS) out.set(f, (await ns.exec(['cat', f], { allowFailure: true })).stdout.trim());
    return out;
  };

  /** attach6 puts ns on the switch with an IPv6 address only (usable at once: no DAD). */
  async function attach6(ns: Namespace, sw: Awaited<ReturnType<Topology['addSwitch']>>, ip: string): Promise<void> {
    const l = await topo.attach(ns, sw);
    await ns.exec(['ip', '-6', 'addr', 'add', `${ip}/64`, 'dev', l.aIf, 'nodad']);
  }

  before(async () => {
    topo = Topology.create();
    const sw = await topo.addSwitch('sw');
    const coordNs = await topo.addNamespace('co');
    await attach6(coordNs, sw, COORD_IP);
    for (const m of [alpha, beta]) {
      m.ns = await topo.addNamespace(m.name.slice(0, 2));
      await attach6(m.ns, sw, m.ip);
    }
    for (const [k, v] of await readSysctls(alpha.ns!)) sysctlsBefore.set(k, v);
    coord = await startCoordinator(coordNs, COORD_IP);
    await coord.applyPolicy(POLICY);
  });
  after(async () => {
    await coord?.stop();
    await topo?.destroy();
  });

  test('the underlay carries no IPv4: only loopback has an IPv4 address', async () => {
    for (const m of [alpha, beta]) {
      const v4 = (await m.ns!.exec(['ip', '-4', '-o', 'addr', 'show'])).stdout.trim().split('\n');
      assert.deepEqual(
        v4.filter((l) => l !== '').map((l) => l.split(/\s+/)[1]),
        ['lo'],
        `${m.name}: ${v4.join('; ')}`,
      );
    }
  });

  test('enrolment gives each system an IPv6 address in the network /48, as the admin sees it', async () => {
    await enrolAndStart(alpha);
    await enrolAndStart(beta);
    const raw = JSON.parse(await coord.cli(['systems', 'list', '--json'])) as unknown;
    type Row = { name: string; virtualAddress6: string };
    const list: Row[] = Array.isArray(raw) ? (raw as Row[]) : ((raw as { systems: Row[] }).systems ?? []);
    for (const m of [alpha, beta]) {
      assert.ok(m.vip6, `${m.name}'s profile has VirtualAddress6`);
      assert.equal(list.find((s) => s.name === m.name)?.virtualAddress6, m.vip6);
    }
    const profile = readProfile(topo.file('alpha.profile')).profile;
    net6 = formatIpPrefix(profile.virtualNetwork6!);
    assert.match(net6, /^fd[0-9a-f]{2}:[0-9a-f]{1,4}:[0-9a-f]{1,4}::\/48$/);
    assert.notEqual(alpha.vip6, beta.vip6);
    for (const m of [alpha, beta]) assert.ok(prefixContains(profile.virtualNetwork6!, parseIp(m.vip6!)!), m.vip6);
  });

  test('the adapter has the /128 and the /48 route, no link-local address, and router discovery and DAD off', async () => {
    for (const m of [alpha, beta]) {
      const addrs = (await m.ns!.exec(['ip', '-6', '-o', 'addr', 'show', 'dev', m.adapter!])).stdout;
      assert.match(addrs, new RegExp(`inet6 ${m.vip6}/128`));
      assert.doesNotMatch(addrs, /fe80:/, 'no link-local address: nothing of the kernel has a source to leave from');
      assert.doesNotMatch(addrs, /tentative|dadfailed/);
      const route = (await m.ns!.exec(['ip', '-6', 'route', 'show', net6])).stdout;
      assert.match(route, new RegExp(`dev ${m.adapter}`));
      for (const [k, v] of [
        ['accept_ra', '0'],
        ['autoconf', '0'],
        ['router_solicitations', '0'],
        ['addr_gen_mode', '1'],
        ['disable_ipv6', '0'],
      ]) {
        const got = (await m.ns!.exec(['cat', `/proc/sys/net/ipv6/conf/${m.adapter}/${k}`])).stdout.trim();
        assert.equal(got, v, `${m.name} ${k}`);
      }
    }
  });

  test("status shows this system's IPv6 address and each peer's", async () => {
    await waitUntil(
      'alpha has beta as a peer',
      async () => ((await alpha.w!.status()).peers.length === 1 ? true : undefined),
      15_000,
    );
    const s = await alpha.w!.status();
    assert.equal(s.virtualAddress6, alpha.vip6);
    assert.equal(s.virtualNetwork6, net6);
    assert.equal(s.peers[0]!.virtualAddress6, beta.vip6);
    assert.ok(s.peers[0]!.allowedIps.includes(`${beta.vip6}/128`), s.peers[0]!.allowedIps.join(' '));
  });

  test("names resolve with AAAA through Warren's DNS, and A as before", async () => {
    const dig = async (name: string, type: string): Promise<string> =>
      (
        await alpha.ns!.exec(['dig', '+short', '+time=2', '+tries=1', `@${alpha.vip}`, name, type], {
          allowFailure: true,
        })
      ).stdout.trim();
    assert.equal(await dig('beta.warren.internal', 'AAAA'), beta.vip6);
    assert.equal(await dig('beta.warren.internal', 'A'), beta.vip);
    const self = (await alpha.w!.status()).identity.toLowerCase();
    assert.equal(await dig(`${self}.id.warren.internal`, 'AAAA'), alpha.vip6, "this system's own name");
    const nx = (
      await alpha.ns!.exec(['dig', '+time=2', '+tries=1', `@${alpha.vip}`, 'nobody.warren.internal', 'AAAA'], {
        allowFailure: true,
      })
    ).stdout;
    assert.match(nx, /status: NXDOMAIN/);
  });

  test("Warren's DNS also answers on the system's IPv6 address, over UDP and TCP", async () => {
    const dig6 = async (...args: string[]): Promise<string> =>
      (
        await alpha.ns!.exec(['dig', '-6', '+short', '+time=2', '+tries=1', `@${alpha.vip6}`, ...args], {
          allowFailure: true,
        })
      ).stdout.trim();
    assert.equal(await dig6('beta.warren.internal', 'AAAA'), beta.vip6);
    assert.equal(await dig6('+tcp', 'beta.warren.internal', 'AAAA'), beta.vip6, 'over TCP');
    assert.equal(await dig6('beta.warren.internal', 'A'), beta.vip);

    // As on IPv4, the nameserver is for this system alone: a peer's query to it is dropped.
    const before = (await alpha.w!.status()).drops['dns-from-peer'] ?? 0;
    const fromPeer = await beta.ns!.exec(
      ['dig', '-6', '+time=1', '+tries=1', `@${alpha.vip6}`, 'beta.warren.internal'],
      {
        allowFailure: true,
      },
    );
    assert.notEqual(fromPeer.code, 0, `a peer gets no answer: ${fromPeer.stdout}`);
    const after = (await alpha.w!.status()).drops['dns-from-peer'] ?? 0;
    assert.ok(after > before, `alpha counts the dropped query (dns-from-peer ${before} -> ${after})`);
  });

  test('ping -6 reaches the peer over the overlay, through the policy firewall', async () => {
    await waitForPing(alpha.ns!, beta.vip!, 15_000);
    const r = await ping(alpha.ns!, beta.vip6!, { count: 3, interval: 0.2 });
    assert.equal(r.received, 3, `alpha -> beta over IPv6: ${r.lossPct}% loss`);
    const back = await ping(beta.ns!, alpha.vip6!, { count: 3, interval: 0.2 });
    assert.equal(back.received, 3, `beta -> alpha over IPv6: ${back.lossPct}% loss`);
  });

  test('TCP over the IPv6 overlay moves 8 MB intact, on the direct [v6]:port path', async () => {
    const r = await tcpTransfer(alpha.ns!, beta.ns!, beta.vip6!, 8 * MB);
    assert.equal(r.recvBytes, 8 * MB);
    assert.equal(r.recvSha, r.sentSha);
    const peer = (await alpha.w!.status()).peers[0]!;
    assert.equal(peer.endpoint, `[${beta.ip}]:51820`, 'the tunnel runs over the IPv6 underlay');
  });

  test('the policy governs IPv6 as IPv4: a one-way policy lets dev start traffic to server, not back', async () => {
    const oneWay = {
      ...POLICY,
      Policies: [{ ...POLICY.Policies[0]!, Senders: ['tag:dev'], Receivers: ['tag:server'] }],
    };
    await coord.applyPolicy(oneWay);
    await waitUntil(
      'beta can no longer start IPv6 traffic to alpha',
      async () => ((await ping(beta.ns!, alpha.vip6!, { count: 1 })).received === 0 ? true : undefined),
      10_000,
    );
    assert.equal(
      (await ping(alpha.ns!, beta.vip6!, { count: 2, interval: 0.2 })).received,
      2,
      'alpha still reaches beta',
    );
  });

  test('a stopped helper leaves no adapter, IPv6 route or sysctl change behind', async () => {
    const st = await alpha.w!.stop(5000);
    assert.equal(st.code, 0);
    const link = await alpha.ns!.exec(['ip', 'link', 'show', 'dev', alpha.adapter!], { allowFailure: true });
    assert.notEqual(link.code, 0, 'the adapter is gone');
    assert.equal((await alpha.ns!.exec(['ip', '-6', 'route', 'show', net6])).stdout.trim(), '');
    const addrs = (await alpha.ns!.exec(['ip', '-6', '-o', 'addr', 'show'])).stdout;
    assert.ok(!addrs.includes(alpha.vip6!), addrs);
    assert.deepEqual(await readSysctls(alpha.ns!), sysctlsBefore, 'the global IPv6 settings are as they were');
  });

  test('after a crash nothing IPv6 is left, and the restarted helper has its address and route again', async () => {
    beta.w!.proc.child.kill('SIGKILL');
    await beta.w!.proc.exited;
    await waitUntil(
      'the kernel removes the adapter',
      async () =>
        (await beta.ns!.exec(['ip', 'link', 'show', 'dev', beta.adapter!], { allowFailure: true })).code !== 0
          ? true
          : undefined,
      5000,
    );
    assert.equal((await beta.ns!.exec(['ip', '-6', 'route', 'show', net6])).stdout.trim(), '');
    assert.deepEqual(await readSysctls(beta.ns!), sysctlsBefore);
    beta.w = await startWarren(beta.ns!, beta.json!, { name: 'warren-beta' });
    const addrs = (await beta.ns!.exec(['ip', '-6', '-o', 'addr', 'show', 'dev', beta.adapter!])).stdout;
    assert.match(addrs, new RegExp(`inet6 ${beta.vip6}/128`));
    assert.match((await beta.ns!.exec(['ip', '-6', 'route', 'show', net6])).stdout, new RegExp(`dev ${beta.adapter}`));
    assert.equal((await beta.w.status()).virtualAddress6, beta.vip6);
  });
});
