// Relays across regions (docs/relay.md "Several relays"). Two warren-relays in namespaces of
// their own on the public switch, one 10 ms away and one 40 ms away, and a coordinator without an embedded relay that lists both with their regions. Two helpers behind
// symmetric NATs cannot reach each other directly, so they relay:
//
//   a ── NAT (symmetric) ──┐                 ┌── near relay (+10 ms, region eu-near)
//                          ├── public switch ┼── far relay  (+40 ms, region us-far)
//   b ── NAT (symmetric) ──┘                 └── coordinator (no relay of its own)
//
// What must hold: both helpers measure both relays and use the near one (status), traffic
// flows through it; the near relay is killed (SIGKILL: no goodbye) and traffic resumes through
// the far one within a few seconds (the gap is printed), and status names the far one.
//
// The distance is a UDP proxy in each relay's namespace that holds every datagram towards the
// relay for the delay (delay-proxy.ts): this machine's kernel has no netem (sch_netem), which
// `tc qdisc add dev X root netem delay 20ms` needs. The relay listens behind it on loopback,
// and killing the relay leaves the proxy forwarding into nothing, as a dead host would.
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { RelayStatus } from '../src-shared/wire/status.js';
import { Topology, describeE2E, waitForPing, waitUntil, type TrackedProcess } from './netns/index.js';
import { NatLab, peerOf, waitForPath, type LabHost } from './netns/nat-lab.js';
import { repoRoot, warrenCli } from './netns/warren.js';
import { nodeScript } from './netns/node-script.js';

const RELAYS = [
  { name: 'near', region: 'eu-near', ip: '203.0.113.201', delayMs: 10 },
  { name: 'far', region: 'us-far', ip: '203.0.113.202', delayMs: 40 },
] as const;

describeE2E(
  'relays across regions: the nearest is used, and a relay that goes away hands over to the next',
  { warren: true, binaries: ['ping', 'iptables', 'curl'] },
  { timeout: 240_000 },
  () => {
    let topo: Topology;
    let lab: NatLab;
    let a: LabHost;
    let b: LabHost;
    const relays = new Map<string, TrackedProcess>();

    before(async () => {
      topo = Topology.create();
      lab = new NatLab(topo);
      // The far relay first: the map's order is not what decides.
      const flags = [...RELAYS].reverse().flatMap((r) => ['--relay', `${r.name},udp=${r.ip}:3478,region=${r.region}`]);
      await lab.start(flags, { embeddedRelay: false });
      for (const r of RELAYS) relays.set(r.name, await startRelay(r));
      a = await lab.addHost(await lab.addSite('rga', 'symmetric'), 'rgha');
      b = await lab.addHost(await lab.addSite('rgb', 'symmetric'), 'rghb');
      const key = await lab.createKey();
      for (const h of [a, b]) await lab.enrolAndStart(h, key);
    });
    after(async () => {
      for (const p of relays.values()) await p.stop(1000).catch(() => undefined);
      await lab?.stop();
      await topo?.destroy();
    });

    // startRelay runs one warren-relay in a namespace of its own, on loopback behind a proxy
    // that delays what comes in from the public address.
    async function startRelay(r: (typeof RELAYS)[number]): Promise<TrackedProcess> {
      const ns = await topo.addNamespace(`rg${r.name}`);
      await topo.attach(ns, lab.sw, `${r.ip}/24`);
      const proxy = ns.spawn([...nodeScript('delay-proxy'), r.ip, '3478', '127.0.0.1', '3478', String(r.delayMs)], {
        name: `delay-${r.name}`,
      });
      await proxy.waitFor(/"ready":true/, 10_000);
      const k = await lab.coordinatorCli(['relay-key', r.name]);
      assert.equal(k.code, 0, `relay-key ${r.name}: ${k.stderr}`);
      const keyFile = topo.file(`${r.name}.key`);
      writeFileSync(keyFile, k.stdout.trim());
      chmodSync(keyFile, 0o600);
      const p = ns.spawn(
        [
          process.execPath,
          join(repoRoot(), 'bin', 'warren-relay'),
          '--coordinator-key',
          await lab.coordinatorKey(),
          '--relay-key-file',
          keyFile,
          '--name',
          r.name,
          '--region',
          r.region,
          '--udp',
          '127.0.0.1:3478',
          '--tcp',
          'off',
          '-v',
          '2',
        ],
        { name: `relay-${r.name}` },
      );
      await p.waitFor(/warren-relay listening/, 15_000);
      return p;
    }

    // relaysOf waits until h has measured both relays and uses the one named inUse.
    async function relaysOf(
      h: LabHost,
      inUse: string,
      timeoutMs = 30_000,
      settled: (rs: RelayStatus[]) => boolean = () => true,
    ): Promise<RelayStatus[]> {
      let seen: RelayStatus[] = [];
      try {
        return await waitUntil(
          `${h.name} uses relay ${inUse}`,
          async () => {
            seen = (await h.w!.status()).nat?.relays ?? [];
            const used = seen.filter((r) => r.inUse === true).map((r) => r.name);
            return used.length === 1 &&
              used[0] === inUse &&
              seen.every((r) => typeof r.rttMs === 'number') &&
              settled(seen)
              ? seen
              : undefined;
          },
          timeoutMs,
          250,
        );
      } catch (e) {
        throw new Error(`${(e as Error).message}; its relays: ${JSON.stringify(seen)}`);
      }
    }

    test('both helpers measure both relays, use the near one, and traffic flows through it', async () => {
      for (const h of [a, b]) {
        // Settled: the round trips order the relays as their distances do (a helper that just
        // started answers its first probes late, and the first samples are averaged).
        const rtt = (rs: RelayStatus[], name: string): number => rs.find((r) => r.name === name)?.rttMs ?? NaN;
        const rs = await relaysOf(h, 'near', 30_000, (x) => rtt(x, 'near') + 15 < rtt(x, 'far'));
        const near = rs.find((r) => r.name === 'near')!;
        const far = rs.find((r) => r.name === 'far')!;
        assert.equal(near.region, 'eu-near');
        assert.equal(far.region, 'us-far');
        assert.ok(
          near.rttMs! >= 10 && near.rttMs! < far.rttMs!,
          `${h.name}: near ${near.rttMs} ms, far ${far.rttMs} ms`,
        );
        assert.ok(far.rttMs! >= 40, `${h.name}: the far relay's round trip includes its 40 ms: ${far.rttMs}`);
      }
      for (const [x, y] of [
        [a, b],
        [b, a],
      ] as const) {
        const p = await waitForPath(x, y, 'relay', 30_000);
        assert.equal(p.path!.relay, 'near', `${x.name} reaches ${y.name} through the near relay`);
      }
      await waitForPing(a.ns, b.vip!);
      await waitForPing(b.ns, a.vip!);
    });

    test('the near relay is killed: traffic resumes through the far one within seconds', async () => {
      // A steady ping, ten a second, each reply stamped (-D), across the kill.
      const replies: number[] = [];
      const pinger = a.ns.spawn(['ping', '-n', '-D', '-i', '0.1', '-W', '1', b.vip!], { name: 'rg-ping' });
      pinger.onLine((line) => {
        const m = /^\[([0-9.]+)\] .*icmp_seq=/.exec(line);
        if (m) replies.push(Number(m[1]) * 1000);
      });
      try {
        await waitUntil(
          'pings are answered before the kill',
          async () => (replies.length >= 10 ? true : undefined),
          10_000,
          100,
        );
        const killedAt = Date.now();
        relays.get('near')!.child.kill('SIGKILL');
        await relays.get('near')!.exited;
        // Resumed: ten replies in a row at the ping's pace (none more than 300 ms apart).
        await waitUntil(
          'pings are answered again after the kill',
          async () => {
            const r = replies.filter((t) => t > killedAt);
            const last = r.slice(-10);
            return last.length === 10 &&
              last.every((t, k) => k === 0 || t - last[k - 1]! < 300) &&
              last[0]! > killedAt + 300
              ? true
              : undefined;
          },
          30_000,
          100,
        );
        // The gap: the longest wait between two replies from just before the kill on.
        const around = replies.filter((t) => t > killedAt - 1000);
        let gap = 0;
        let gapEnd = killedAt;
        for (let k = 1; k < around.length; k++)
          if (around[k]! - around[k - 1]! > gap) {
            gap = around[k]! - around[k - 1]!;
            gapEnd = around[k]!;
          }
        console.log(
          `relay failover: replies stopped ${Math.round(gapEnd - gap - killedAt)} ms after the kill and resumed ${Math.round(gapEnd - killedAt)} ms after it: a gap of ${Math.round(gap)} ms`,
        );
        assert.ok(gap < 8000, `traffic resumed within a few seconds (gap ${Math.round(gap)} ms)`);
      } finally {
        pinger.child.kill('SIGINT');
        await pinger.exited;
      }
      for (const h of [a, b]) {
        const rs = await relaysOf(h, 'far', 10_000);
        assert.equal(rs.find((r) => r.name === 'near')?.live, false, `${h.name} sees the near relay gone`);
      }
      for (const [x, y] of [
        [a, b],
        [b, a],
      ] as const) {
        const { peer } = await peerOf(x, y);
        assert.equal(peer.path?.relay, 'far', `${x.name} reaches ${y.name} through the far relay`);
      }
      const text = await warrenCli(a.ns, ['status', '--socket', a.w!.socket]);
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, /far \[us-far\] \(udp, [0-9.]+ ms, in use\)/);
      assert.match(text.stdout, /near \[eu-near\] \([^)]*not answering/);
    });
  },
);
