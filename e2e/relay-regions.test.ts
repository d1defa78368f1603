// Relays across regions (docs/relay.md "Several relays"). Two warren-relays in namespaces of
// their own on the public switch, one 10 ms away and one 150 ms away (far enough apart that a loaded
// machine's scheduling delays, tens of ms on each probe, do not blur which is nearer), and a coordinator without an embedded relay that lists both with their regions. Two helpers behind
// symmetric NATs cannot reach each other directly, so they relay:
//
//   a ── NAT (symmetric) ──┐                 ┌── near relay (+10 ms, region eu-near)
//                          ├── public switch ┼── far relay  (+150 ms, region us-far)
//   b ── NAT (symmetric) ──┘                 └── coordinator (no relay of its own)
//
// What must hold: both helpers measure both relays and use the near one (status), traffic
// flows through it; the near relay is killed (SIGKILL: no goodbye) and traffic resumes through
// the far one within a few seconds (the gap is printed), and status names the far one; the near
// relay starts again and both return to it; a firewall rule then lets only probes through to
// it, and both move their session to the far one while the near one still answers probes.
//
// The distance is a UDP proxy in each relay's namespace that holds every datagram towards the
// relay for the delay (delay-proxy.ts): this machine's kernel has no netem (sch_netem), which
// `tc qdisc add dev X root netem delay 20ms` needs. The relay listens behind it on loopback,
// and killing the relay leaves the proxy forwarding into nothing, as a dead host would.
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RelayStatus } from '../src-shared/wire/status.js';
import {
  Topology,
  describeE2E,
  ping,
  waitForPing,
  waitUntil,
  type Namespace,
  type TrackedProcess,
} from './netns/index.js';
import { NatLab, peerOf, waitForPath, type LabHost } from './netns/nat-lab.js';
import { repoRoot, warrenCli } from './netns/warren.js';
import { nodeScript } from './netns/node-script.js';

const RELAYS = [
  { name: 'near', region: 'eu-near', ip: '203.0.113.201', delayMs: 10 },
  { name: 'far', region: 'us-far', ip: '203.0.113.202', delayMs: 150 },
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
    const relayNs = new Map<string, Namespace>();

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
      relayNs.set(r.name, ns);
      const k = await lab.coordinatorCli(['relay-key', r.name]);
      assert.equal(k.code, 0, `relay-key ${r.name}: ${k.stderr}`);
      const keyFile = topo.file(`${r.name}.key`);
      writeFileSync(keyFile, k.stdout.trim());
      chmodSync(keyFile, 0o600);
      return spawnRelay(r);
    }

    // spawnRelay starts (or restarts) the warren-relay process of r, behind its proxy.
    async function spawnRelay(r: (typeof RELAYS)[number]): Promise<TrackedProcess> {
      const p = relayNs
        .get(r.name)!
        .spawn(
          [
            process.execPath,
            join(repoRoot(), 'bin', 'warren-relay'),
            '--coordinator-key',
            await lab.coordinatorKey(),
            '--relay-key-file',
            topo.file(`${r.name}.key`),
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

    // leaderOf names the side of the pair that picks its relay (docs/relay.md "Meeting at the
    // same relay": the lower peer id, the first 8 bytes of the WireGuard key).
    function leaderOf(x: LabHost, y: LabHost): LabHost {
      const id = (h: LabHost): Buffer => Buffer.from(h.publicKey!, 'base64').subarray(0, 8);
      return Buffer.compare(id(x), id(y)) < 0 ? x : y;
    }

    // gapAcross runs a steady ping from a to b, ten a second, each reply stamped (-D), does
    // what, waits until the replies come at the ping's pace again, and returns the longest wait
    // between two replies from just before it on (ms).
    async function gapAcross(what: string, action: () => Promise<void>): Promise<{ gap: number; resumedAt: number }> {
      const replies: number[] = [];
      const pinger = a.ns.spawn(['ping', '-n', '-D', '-i', '0.1', '-W', '1', b.vip!], { name: 'rg-ping' });
      pinger.onLine((line) => {
        const m = /^\[([0-9.]+)\] .*icmp_seq=/.exec(line);
        if (m) replies.push(Number(m[1]) * 1000);
      });
      try {
        await waitUntil(
          `pings are answered before: ${what}`,
          async () => (replies.length >= 10 ? true : undefined),
          10_000,
          100,
        );
        const at = Date.now();
        await action();
        // Resumed: ten replies in a row at the ping's pace (none more than 300 ms apart).
        await waitUntil(
          `pings are answered again after: ${what}`,
          async () => {
            const last = replies.filter((t) => t > at).slice(-10);
            return last.length === 10 && last.every((t, k) => k === 0 || t - last[k - 1]! < 300) && last[0]! > at + 300
              ? true
              : undefined;
          },
          30_000,
          100,
        );
        const around = replies.filter((t) => t > at - 1000);
        let gap = 0;
        let gapEnd = at;
        for (let k = 1; k < around.length; k++)
          if (around[k]! - around[k - 1]! > gap) {
            gap = around[k]! - around[k - 1]!;
            gapEnd = around[k]!;
          }
        console.log(
          `${what}: replies stopped ${Math.round(gapEnd - gap - at)} ms after it and resumed ${Math.round(gapEnd - at)} ms after it: a gap of ${Math.round(gap)} ms`,
        );
        return { gap, resumedAt: gapEnd };
      } finally {
        pinger.child.kill('SIGINT');
        await pinger.exited;
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
        assert.ok(
          far.rttMs! >= RELAYS[1].delayMs,
          `${h.name}: the far relay's round trip includes its ${RELAYS[1].delayMs} ms: ${far.rttMs}`,
        );
      }
      for (const [x, y] of [
        [a, b],
        [b, a],
      ] as const) {
        await waitForPath(x, y, 'relay', 30_000);
        // Through the near relay: the follower of the pair may have gone through the far one
        // while the round trips settled, and follows the leader's pings to the near one.
        await waitUntil(
          `${x.name} reaches ${y.name} through the near relay`,
          async () => ((await peerOf(x, y)).peer.path?.relay === 'near' ? true : undefined),
          15_000,
          250,
        );
      }
      await waitForPing(a.ns, b.vip!);
      await waitForPing(b.ns, a.vip!);
    });

    test('the near relay is killed: traffic resumes through the far one within seconds', async () => {
      const { gap } = await gapAcross('the near relay is killed', async () => {
        relays.get('near')!.child.kill('SIGKILL');
        await relays.get('near')!.exited;
      });
      assert.ok(gap < 8000, `traffic resumed within a few seconds (gap ${Math.round(gap)} ms)`);
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

    test('the near relay comes back: both register with it again and return to it', async () => {
      relays.set('near', await spawnRelay(RELAYS[0]));
      for (const h of [a, b]) await relaysOf(h, 'near', 30_000);
      for (const [x, y] of [
        [a, b],
        [b, a],
      ] as const)
        await waitUntil(
          `${x.name} reaches ${y.name} through the near relay again`,
          async () => ((await peerOf(x, y)).peer.path?.relay === 'near' ? true : undefined),
          20_000,
          250,
        );
      const r = await ping(a.ns, b.vip!, { count: 10, interval: 0.2 });
      assert.equal(r.received, 10, 'every ping through the restarted relay is answered');
    });

    // What is checked after the move: each side's status names the relay its traffic takes
    // (the device's endpoint, sampled every 100 ms throughout) within a few seconds of the
    // replies resuming, and goes on naming it. A leader that let WireGuard roaming move its
    // endpoint to the follower's relay pulled it back on its next tick, so its status and its
    // data flapped between the two relays, and forgot the near relay's silence at each pull
    // (paths.ts mayRoam, relay-set.ts mayRoamTo).
    //
    // This scenario was skipped for a while: in 1 of 4 runs the replies did not resume within
    // 30 s of the filter, because the follower gave up the far relay the moment it followed the
    // leader there, for pings the near relay had swallowed, and the pair split between the two
    // relays for the 60 s of avoiding. The unanswered count is per relay since (relay-set.ts
    // silent), and six runs in a row passed on a 2-core machine at load average 13-20.
    test('a relay that answers probes but stops carrying the pair is left for the next', async () => {
      // Only probes (64 bytes of UDP payload: 92 bytes of IP) get through to the near relay now.
      const rule = ['INPUT', '-p', 'udp', '--dport', '3478', '-m', 'length', '!', '--length', '92', '-j', 'DROP'];
      const ns = relayNs.get('near')!;
      const pairs = [
        [a, b],
        [b, a],
      ] as const;
      const samples = new Map<LabHost, { t: number; relay: string | null }[]>(pairs.map(([x]) => [x, []]));
      let sampling = true; // false: stop now (the scenario failed before the traffic resumed)
      let resumed = 0; // when the replies resumed (ms, this clock), 0 until then
      // One sampler per side, so that a slow status answer on one does not thin the other's;
      // each goes on until it has taken a sample 5 s after the replies resumed (a loaded
      // machine can take seconds to answer one).
      const sampler = Promise.all(
        pairs.map(async ([x, y]) => {
          while (sampling) {
            const t = Date.now();
            samples.get(x)!.push({ t, relay: (await peerOf(x, y)).peer.path?.relay ?? null });
            if (resumed > 0 && t - resumed >= 5000) break;
            await sleep(100);
          }
        }),
      );
      sampler.catch(() => undefined); // awaited below; this only keeps an early failure handled
      try {
        const { gap, resumedAt } = await gapAcross('the near relay stops carrying packets', async () => {
          await ns.exec(['iptables', '-I', ...rule]);
        });
        resumed = resumedAt;
        assert.ok(gap < 12_000, `traffic resumed within seconds (gap ${Math.round(gap)} ms)`);
        await sampler;
      } finally {
        sampling = false;
        await sampler.catch(() => undefined);
        await ns.exec(['iptables', '-D', ...rule], { allowFailure: true });
      }
      for (const [x, y] of pairs) {
        const role = leaderOf(x, y) === x ? 'leader' : 'follower';
        const seen = samples.get(x)!;
        let lastOther = seen.length - 1;
        while (lastOther >= 0 && seen[lastOther]!.relay === 'far') lastOther--;
        const settled = seen[lastOther + 1];
        const trail = seen
          .slice(Math.max(0, lastOther - 3), lastOther + 2)
          .map((q) => `${Math.round(q.t - resumed)}:${q.relay}`);
        assert.ok(settled !== undefined, `${x.name} (${role}) never settled on the far relay: ${trail.join(' ')}`);
        const lag = Math.round(settled.t - resumed);
        console.log(
          `${x.name} (${role}): status names the far relay for good ${lag} ms after the traffic resumed (${seen.length} samples, last ones ${trail.join(' ')})`,
        );
        assert.ok(lag < 3000, `${x.name} (${role}): status agreed with the traffic ${lag} ms after it resumed`);
        assert.ok(seen.at(-1)!.t - resumed >= 5000, `${x.name}: sampled for 5 s after the traffic resumed`);
        const near = (await peerOf(x, y)).status.nat?.relays.find((q) => q.name === 'near');
        assert.equal(near?.live, true, `${x.name}: the near relay still answers probes`);
      }
    });
  },
);
