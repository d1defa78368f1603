// NAT traversal and the control plane over IPv6 alone (docs/nat-traversal.md, coordinator.md).
// The public network carries no IPv4 at all: the coordinator listens on [2001:db8:100::100]
// (HTTP, UDP discovery and embedded relay, relay TCP) and two helpers sit on it with global
// IPv6 addresses and nothing else. They enrol with http://[v6]:8080, learn each other's
// [v6]:port from their maps, ping each other over IPv6 with no punching needed, and carry
// tunnel traffic on that direct path; `warren status` shows it in brackets. With UDP between
// them blocked, the relay (registered over IPv6) carries it instead. Two helpers that share an
// IPv4 network too move to the IPv6 path once it opens and stay there. (The 30 % margin itself
// needs paths of different speeds, which these namespaces cannot make without netem:
// helper/src/nat/paths.test.ts checks it with delays on the in-memory network.)
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Topology, describeE2E, waitForPing, waitUntil } from './netns/index.js';
import type { AdminSystem } from '../coordinator/src/api/admin-types.js';
import { LAB6, NatLab, peerOf, waitForPath, type LabHost } from './netns/nat-lab.js';

describeE2E(
  'NAT traversal over an IPv6-only underlay',
  { warren: true, binaries: ['ping', 'ip6tables', 'curl'] },
  { timeout: 300_000 },
  () => {
    let topo: Topology;
    let lab: NatLab;
    let a: LabHost;
    let b: LabHost;

    before(async () => {
      topo = Topology.create();
      lab = new NatLab(topo, 6);
      await lab.start();
      a = await lab.addPublicHost('a6');
      b = await lab.addPublicHost('b6');
      const key = await lab.createKey();
      for (const h of [a, b]) await lab.enrolAndStart(h, key);
    });
    after(async () => {
      await lab?.stop();
      await topo?.destroy();
    });

    test('there is no IPv4 between the helpers: only loopback has an IPv4 address', async () => {
      for (const h of [a, b]) {
        const out = (await h.ns.exec(['ip', '-4', '-o', 'addr', 'show'])).stdout;
        const nonLoopback = out.split('\n').filter((l) => l.includes(' inet ') && !l.includes(' 127.'));
        // The tunnel adapter's overlay address is the only other one.
        assert.ok(
          nonLoopback.every((l) => l.includes(`${h.vip}/`)),
          `${h.name} has an underlay IPv4 address:\n${out}`,
        );
      }
    });

    test('the helpers find the direct [v6]:port path and pass traffic on it', async () => {
      const p = await waitForPath(a, b, 'direct');
      assert.equal(p.path!.endpoint, `[${b.lanIp}]:51820`, 'status names the IPv6 path in brackets');
      assert.equal(typeof p.path!.rttMs, 'number');
      const back = await waitForPath(b, a, 'direct');
      assert.equal(back.path!.endpoint, `[${a.lanIp}]:51820`);
      await waitForPing(a.ns, b.vip!);
      await waitForPing(b.ns, a.vip!);
      const { peer } = await peerOf(a, b);
      assert.equal(peer.endpoint, `[${b.lanIp}]:51820`, 'WireGuard itself sends to the IPv6 endpoint');
    });

    test('discovery and the embedded relay answer over IPv6: the mapping is [v6]:port, the relay is registered', async () => {
      const { status } = await waitUntil(
        'a learns its mapping and registers with the relay over IPv6',
        async () => {
          const s = await peerOf(a, b);
          return s.status.nat?.mapping !== null && s.status.nat?.relays.some((r) => r.transport === 'udp')
            ? s
            : undefined;
        },
        30_000,
        250,
      );
      assert.equal(status.nat?.mapping, `[${a.lanIp}]:51820`);
      assert.deepEqual(
        status.nat?.relays.map((r) => [r.name, r.transport]),
        [['coordinator', 'udp']],
      );
    });

    test('with UDP between the helpers blocked, traffic goes through the relay over IPv6', async () => {
      const block = ['OUTPUT', '-d', b.lanIp, '-p', 'udp', '-j', 'DROP'];
      await a.ns.exec(['ip6tables', '-I', ...block]);
      try {
        const p = await waitForPath(a, b, 'relay', 30_000);
        assert.equal(p.path!.relay, 'coordinator');
        await waitForPing(a.ns, b.vip!);
      } finally {
        await a.ns.exec(['ip6tables', '-D', ...block], { allowFailure: true });
      }
      const back = await waitForPath(a, b, 'direct', 30_000);
      assert.equal(back.path!.endpoint, `[${b.lanIp}]:51820`, 'the direct IPv6 path comes back');
    });

    test('the coordinator records each helper at its IPv6 address: HTTP source, UDP mapping, reported endpoints', async () => {
      const r = await lab.coordinatorCli(['systems', 'list', '--json']);
      assert.equal(r.code, 0, r.stderr);
      const systems = JSON.parse(r.stdout) as AdminSystem[];
      for (const h of [a, b]) {
        const s = systems.find((x) => x.identity === h.identity);
        assert.ok(s, `${h.name} is listed`);
        assert.equal(s.observedIp, h.lanIp);
        assert.equal(s.observedUdp, `[${h.lanIp}]:51820`);
        assert.ok(s.endpoints.includes(`[${h.lanIp}]:51820`), s.endpoints.join(' '));
        assert.ok(
          s.endpoints.every((e) => e.startsWith(`[${LAB6.prefix}`)),
          `no link-local or IPv4 endpoint: ${s.endpoints.join(' ')}`,
        );
      }
    });

    test('an IPv6 address added after the helper started is reported within 10 s, and its removal too', async () => {
      // Not nodad: the address is announced tentative first and usable only once duplicate
      // address detection is through, which is when the helper must see it. Another /64 than the
      // coordinator's, so the helper's traffic keeps its old source address and the coordinator
      // can only learn the new one from the helper's report.
      const extra = '2001:db8:200::a';
      const endpoint = `[${extra}]:51820`;
      const endpointsOfA = async (): Promise<string[]> => {
        const r = await lab.coordinatorCli(['systems', 'list', '--json']);
        assert.equal(r.code, 0, r.stderr);
        return (JSON.parse(r.stdout) as AdminSystem[]).find((x) => x.identity === a.identity)!.endpoints;
      };
      assert.ok(!(await endpointsOfA()).includes(endpoint));
      const candidates = async () => (await peerOf(b, a)).peer.path?.candidates ?? 0;
      const before = await candidates();
      const added = Date.now();
      await a.ns.exec(['ip', '-6', 'addr', 'add', `${extra}/64`, 'dev', a.site.lanIf]);
      try {
        await waitUntil(
          'the coordinator lists the new address',
          async () => ((await endpointsOfA()).includes(endpoint) ? true : undefined),
          10_000,
          250,
        );
        console.log(`# new address listed after ${Date.now() - added} ms`);
        // b's map names it too (the report bumped the map): b tries one more address of a.
        await waitUntil(
          'b tries the new candidate of a',
          async () => ((await candidates()) > before ? true : undefined),
          10_000,
          250,
        );
      } finally {
        await a.ns.exec(['ip', '-6', 'addr', 'del', `${extra}/64`, 'dev', a.site.lanIf], { allowFailure: true });
      }
      const removed = Date.now();
      await waitUntil(
        'the coordinator drops the removed address',
        async () => ((await endpointsOfA()).includes(endpoint) ? undefined : true),
        10_000,
        250,
      );
      console.log(`# removed address dropped after ${Date.now() - removed} ms`);
      assert.ok((await endpointsOfA()).includes(`[${a.lanIp}]:51820`), 'the original address stays');
    });
  },
);

describeE2E(
  'Dual-stack helpers move to the direct IPv6 path',
  { warren: true, binaries: ['ping', 'ip6tables', 'curl'] },
  { timeout: 300_000 },
  () => {
    let topo: Topology;
    let lab: NatLab;
    let a: LabHost;
    let b: LabHost;
    // While this rule stands, a's UDP to b's IPv6 address is dropped, so only IPv4 can work.
    let block: string[];

    before(async () => {
      topo = Topology.create();
      lab = new NatLab(topo, 6);
      await lab.start();
      // The same link carries IPv4 too, so each helper reports an IPv4 and an IPv6 address.
      a = await lab.addPublicHost('a6', '198.51.100.1/24');
      b = await lab.addPublicHost('b6', '198.51.100.2/24');
      block = ['OUTPUT', '-d', b.lanIp, '-p', 'udp', '-j', 'DROP'];
      await a.ns.exec(['ip6tables', '-I', ...block]);
      const key = await lab.createKey();
      for (const h of [a, b]) await lab.enrolAndStart(h, key);
    });
    after(async () => {
      await lab?.stop();
      await topo?.destroy();
    });

    test('an IPv6 path that starts answering takes over from a working IPv4 path, on both sides', async () => {
      const v4 = await waitForPath(a, b, 'direct', 30_000);
      assert.equal(v4.path?.endpoint, '198.51.100.2:51820', 'with IPv6 blocked the IPv4 path is used');
      await waitForPing(a.ns, b.vip!);
      // IPv6 opens: candidates other than the path in use are probed every 20 s.
      await a.ns.exec(['ip6tables', '-D', ...block]);
      for (const [x, y] of [
        [a, b],
        [b, a],
      ] as const)
        await waitUntil(
          `${x.name} moves to the IPv6 path`,
          async () => ((await peerOf(x, y)).peer.path?.endpoint === `[${y.lanIp}]:51820` ? true : undefined),
          45_000,
          250,
        );
      await waitForPing(a.ns, b.vip!);
      const { peer } = await peerOf(a, b);
      assert.equal(peer.endpoint, `[${b.lanIp}]:51820`, 'WireGuard sends over IPv6');
    });
  },
);

describeE2E(
  'A dual-stack coordinator serves IPv4-only and IPv6-only systems',
  { warren: true, binaries: ['ping', 'iptables', 'ip6tables', 'curl'] },
  { timeout: 300_000 },
  () => {
    let topo: Topology;
    let lab: NatLab;
    let six: LabHost;
    let four: LabHost;

    before(async () => {
      topo = Topology.create();
      lab = new NatLab(topo, 6);
      // --public-ip 203.0.113.100 --public-ip 2001:db8:100::100, listening on [::].
      await lab.start([], { dualStack: true });
      six = await lab.addPublicHost('s6');
      // Its only way out is IPv6, so it asks the coordinator's IPv6 endpoints first.
      await six.ns.exec(['ip', '-6', 'route', 'add', 'default', 'dev', six.site.lanIf]);
      four = await lab.addHost(await lab.addSite('v4', 'easy'), 'f4');
      const key = await lab.createKey();
      for (const h of [six, four]) await lab.enrolAndStart(h, key);
    });
    after(async () => {
      await lab?.stop();
      await topo?.destroy();
    });

    test('each learns its mapping in its own family and registers with the embedded relay', async () => {
      for (const [h, want] of [
        [six, `[${six.lanIp}]:51820`],
        [four, new RegExp(`^${four.site.publicIp.replace(/\./g, '\\.')}:[0-9]+$`)],
      ] as const) {
        const status = await waitUntil(
          `${h.name} learns its mapping and registers with the relay`,
          async () => {
            const s = await h.w!.status();
            return s.nat?.mapping && s.nat.relays.some((r) => r.transport === 'udp') ? s : undefined;
          },
          30_000,
          250,
        );
        if (typeof want === 'string') assert.equal(status.nat?.mapping, want);
        else assert.match(status.nat!.mapping!, want);
      }
    });

    test('the IPv6-only and the IPv4-only system reach each other through the relay', async () => {
      const p = await waitForPath(six, four, 'relay', 30_000);
      assert.equal(p.path!.relay, 'coordinator');
      await waitForPing(six.ns, four.vip!);
      await waitForPing(four.ns, six.vip!);
    });
  },
);
