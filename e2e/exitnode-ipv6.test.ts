// Exit nodes for IPv6, coordinated: the policy file grants an IPv6 LAN (and later ::/0) behind an
// exit node to `dev` systems only. The client reaches the LAN host over IPv6 through the exit
// node, whose own LAN address the host sees (NAT66: nothing on the LAN routes the overlay's
// unique local /48 back); a system without the grant gets no route; the LAN cannot start
// traffic into the overlay; with ::/0 the client's IPv6 internet traffic leaves from the exit
// node and never from the client's own address; stopping the exit node restores forwarding.
//
//   dev 192.0.2.1 2001:db8:1::1 ─┐                    ┌─ prn 198.51.100.10 fd00:77::10
//   server 192.0.2.2             ├─ sw ─ exit 192.0.2.10 2001:db8:1::10
//   coordinator 192.0.2.100     ─┘                    └─ net 203.0.113.50 2001:db8:2::50
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Topology, describeE2E, ping, waitForPing, waitUntil, type Namespace } from './netns/index.js';
import { enrolAndStart, startCoordinator, type Coordinator, type Enrolled } from './netns/coordinated.js';
import { IPV6_GUARD_COMMENT } from '../helper/src/router/full-tunnel-ipv6.js';

const LAN = '198.51.100.0/24';
const LAN6 = 'fd00:77::/64';
const EXIT_LAN6 = 'fd00:77::1';
const PRINTER6 = 'fd00:77::10';
const DEV6 = '2001:db8:1::1';
const EXIT_SW6 = '2001:db8:1::10';
const EXIT_UPLINK6 = '2001:db8:2::1';
const INET6 = '2001:db8:2::50';
const FORWARDING6 = '/proc/sys/net/ipv6/conf/all/forwarding';

const policy = (subnets: string[]) => ({
  Tags: ['dev', 'server', 'exit'],
  Policies: [
    {
      Name: 'everyone reaches the exit node',
      Senders: ['tag:dev', 'tag:server'],
      Receivers: ['tag:exit'],
      Acls: [{ Protocol: 'icmp' }],
    },
  ],
  Routes: [{ ExitNode: 'tag:exit', Subnets: subnets, Senders: ['tag:dev'] }],
});

/** watch puts a counter of ICMPv6 echo requests from saddr into ns's input path. */
async function watch(ns: Namespace, table: string, saddr: string): Promise<() => Promise<number>> {
  await ns.exec(['nft', '-f', '-'], {
    input: `table ip6 ${table} {\n chain in {\n  type filter hook input priority 0;\n  ip6 saddr ${saddr} icmpv6 type echo-request counter\n }\n}\n`,
  });
  return async () => {
    const out = (await ns.exec(['nft', 'list', 'chain', 'ip6', table, 'in'])).stdout;
    const m = /counter packets (\d+)/.exec(out);
    if (m === null) throw new Error(`no counter in ${table}:\n${out}`);
    return Number(m[1]);
  };
}

describeE2E(
  'IPv6 through an exit node: a routed IPv6 subnet and the IPv6 full tunnel',
  { warren: true, binaries: ['ping', 'nft', 'curl'] },
  { timeout: 300_000 },
  () => {
    let topo: Topology;
    let coord: Coordinator;
    let exNs: Namespace;
    let devNs: Namespace;
    let srvNs: Namespace;
    let prn: Namespace;
    let net: Namespace;
    let exit: Enrolled;
    let dev: Enrolled;
    let server: Enrolled;
    let forwardingBefore = '';
    let fromExitOnLan: () => Promise<number>;
    let fromExitUplink: () => Promise<number>;
    let fromDevOwn: () => Promise<number>;

    before(async () => {
      topo = Topology.create();
      const sw = await topo.addSwitch('sw');
      const coNs = await topo.addNamespace('co');
      await topo.attach(coNs, sw, '192.0.2.100/24');
      exNs = await topo.addNamespace('ex');
      devNs = await topo.addNamespace('dev');
      srvNs = await topo.addNamespace('srv');
      const exSw = await topo.attach(exNs, sw, '192.0.2.10/24');
      const devSw = await topo.attach(devNs, sw, '192.0.2.1/24');
      await topo.attach(srvNs, sw, '192.0.2.2/24');
      prn = await topo.addNamespace('prn');
      net = await topo.addNamespace('net');
      const toLan = await topo.link(exNs, prn, '198.51.100.1/24', '198.51.100.10/24');
      const toNet = await topo.link(exNs, net, '203.0.113.1/24', '203.0.113.50/24');
      const v6 = async (ns: Namespace, addr: string, dev: string): Promise<void> => {
        await ns.exec(['ip', '-6', 'addr', 'add', addr, 'dev', dev, 'nodad']);
      };
      await v6(exNs, `${EXIT_LAN6}/64`, toLan.aIf);
      await v6(prn, `${PRINTER6}/64`, toLan.bIf);
      await v6(exNs, `${EXIT_UPLINK6}/64`, toNet.aIf);
      await v6(net, `${INET6}/64`, toNet.bIf);
      await v6(exNs, `${EXIT_SW6}/64`, exSw.aIf);
      await v6(devNs, `${DEV6}/64`, devSw.aIf);
      await exNs.exec(['ip', 'route', 'add', 'default', 'via', '203.0.113.50']);
      await exNs.exec(['ip', '-6', 'route', 'add', 'default', 'via', INET6]);
      // The client's own IPv6 default route runs through the exit namespace as a plain router,
      // so IPv6 around the tunnel would really arrive at the internet host, from DEV6.
      await devNs.exec(['ip', '-6', 'route', 'add', 'default', 'via', EXIT_SW6]);
      await net.exec(['ip', '-6', 'route', 'add', '2001:db8:1::/64', 'via', EXIT_UPLINK6]);
      fromExitOnLan = await watch(prn, 'fromexit', EXIT_LAN6);
      fromExitUplink = await watch(net, 'fromexit', EXIT_UPLINK6);
      fromDevOwn = await watch(net, 'fromdev', DEV6);
      forwardingBefore = (await exNs.exec(['cat', FORWARDING6])).stdout.trim();
      coord = await startCoordinator(coNs, '192.0.2.100');
      await coord.applyPolicy(policy([LAN, LAN6]));
      exit = await enrolAndStart(coord, exNs, 'exit', 'exit', ['--serve-exit-node']);
      dev = await enrolAndStart(coord, devNs, 'dev', 'dev', ['--allow-full-tunnel']);
      server = await enrolAndStart(coord, srvNs, 'server', 'server');
    });
    after(async () => {
      await coord?.stop();
      await topo?.destroy();
    });

    test('the exit node provides the IPv6 LAN with forwarding on, and the granted client reaches the host from the exit node address', async () => {
      assert.ok(exit.vip6 && dev.vip6, 'the coordinator gave both systems an IPv6 address');
      await waitUntil(
        'the exit node provides the IPv6 LAN',
        async () => ((await exit.w.status()).providesRoutes?.some((r) => r.cidr === LAN6) ? true : undefined),
        15_000,
      );
      assert.equal((await exNs.exec(['cat', FORWARDING6])).stdout.trim(), '1', 'IPv6 forwarding is on');
      await waitForPing(devNs, PRINTER6, 15_000);
      const before = await fromExitOnLan();
      assert.equal((await ping(devNs, PRINTER6, { count: 5, interval: 0.05 })).received, 5);
      assert.ok((await fromExitOnLan()) >= before + 5, "the LAN host saw the exit node's own address");
      const viaExit = (await dev.w.status()).peers.find((p) => p.exitNodeFor.includes(LAN6));
      assert.equal(viaExit?.exitNodeInUse, true, 'status shows the IPv6 route in use');
      assert.match((await devNs.exec(['ip', '-6', 'route', 'show', LAN6])).stdout, new RegExp(`dev ${dev.adapter}`));
    });

    test('a system without the grant gets no IPv6 route into the LAN', async () => {
      await waitForPing(srvNs, exit.vip6!, 15_000);
      assert.equal(
        (await server.w.status()).peers.some((p) => p.exitNodeFor.length > 0),
        false,
        'no route is offered to it',
      );
      const r = await srvNs.exec(['ping', '-n', '-c', '1', '-W', '1', PRINTER6], { allowFailure: true });
      assert.notEqual(r.code, 0, 'the IPv6 LAN is out of its reach');
    });

    test('the IPv6 LAN cannot start traffic into the overlay: dropped and counted at the exit node', async () => {
      const net6 = (await dev.w.status()).virtualNetwork6;
      assert.ok(net6, 'status names the IPv6 overlay');
      await prn.exec(['ip', '-6', 'route', 'add', net6, 'via', EXIT_LAN6]);
      const before = (await exit.w.status()).unsolicitedFromSubnets ?? 0;
      const r = await prn.exec(['ping', '-n', '-c', '3', '-i', '0.1', '-W', '1', dev.vip6!], { allowFailure: true });
      assert.notEqual(r.code, 0, `the LAN host must not reach the client:\n${r.stdout}`);
      await waitUntil(
        'the exit node counts the unsolicited packets',
        async () => (((await exit.w.status()).unsolicitedFromSubnets ?? 0) >= before + 3 ? true : undefined),
        10_000,
      );
    });

    test('with ::/0 granted, the client sends its IPv6 internet traffic through the exit node and none from its own address', async () => {
      // Before the grant the client's IPv6 goes its own way, which the watch sees: it can tell.
      const ownBefore = await fromDevOwn();
      assert.equal((await ping(devNs, INET6, { count: 2, interval: 0.1 })).received, 2);
      assert.ok((await fromDevOwn()) >= ownBefore + 2, 'without the full tunnel, IPv6 leaves from DEV6');

      await coord.applyPolicy(policy([LAN, LAN6, '0.0.0.0/0', '::/0']));
      await waitUntil(
        'the client routes ::/0 through the exit node',
        async () =>
          (await dev.w.status()).peers.some((p) => p.exitNodeFor.includes('::/0') && p.exitNodeInUse)
            ? true
            : undefined,
        15_000,
      );
      await waitForPing(devNs, INET6, 15_000);
      const own = await fromDevOwn();
      const tunnelled = await fromExitUplink();
      assert.equal((await ping(devNs, INET6, { count: 5, interval: 0.05 })).received, 5);
      assert.ok((await fromExitUplink()) >= tunnelled + 5, "the internet host saw the exit node's address");
      assert.equal(await fromDevOwn(), own, "nothing arrived from the client's own address");
      const rules = (await devNs.exec(['nft', 'list', 'ruleset'])).stdout;
      assert.doesNotMatch(rules, new RegExp(IPV6_GUARD_COMMENT), 'IPv6 goes into the tunnel, so no guard refuses it');
      assert.equal((await ping(devNs, PRINTER6, { count: 2, interval: 0.1 })).received, 2, 'the IPv6 LAN still works');
    });

    test('stopping the exit node restores IPv6 forwarding and removes its table', async () => {
      await exit.w.stop();
      assert.equal((await exNs.exec(['cat', FORWARDING6])).stdout.trim(), forwardingBefore);
      assert.doesNotMatch((await exNs.exec(['nft', 'list', 'tables'])).stdout, /warren_/);
    });
  },
);
