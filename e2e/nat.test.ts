// Connectivity anywhere (docs/nat-traversal.md). A public switch holds the coordinator (discovery
// port and embedded relay); five helpers sit behind four NAT routers:
//
//   east1, east2  behind `east`  (easy NAT: Linux MASQUERADE keeps the source port)
//   west          behind `west`  (easy NAT)
//   sym           behind `sym`   (symmetric NAT: MASQUERADE --random, a new port per destination)
//   tcp           behind `tcp`   (no UDP leaves the site; only TCP)
//
// What must hold: easy NAT on both sides gives a direct path through the public mappings; two
// helpers behind one NAT find their LAN path; symmetric NAT falls back to the relay; a site
// without UDP uses the relay over TCP; a TCP stream survives a switch from relayed to direct;
// path type and round-trip time appear in `status --json`.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Topology, describeE2E, ping, sleep, tcpTransfer, waitForPing, waitUntil } from './netns/index.js';
import { NatLab, peerOf, waitForPath, type LabHost, type Site } from './netns/nat-lab.js';
import { ApiClient } from '../src-shared/lib/helper-client/client.js';

describeE2E(
  'NAT traversal and relays',
  { warren: true, binaries: ['ping', 'iptables', 'curl'] },
  { timeout: 300_000 },
  () => {
    let topo: Topology;
    let lab: NatLab;
    let east: Site;
    let east1: LabHost;
    let east2: LabHost;
    let west: LabHost;
    let sym: LabHost;
    let tcp: LabHost;

    before(async () => {
      topo = Topology.create();
      lab = new NatLab(topo);
      await lab.start();
      east = await lab.addSite('east', 'easy');
      const westSite = await lab.addSite('west', 'easy');
      const symSite = await lab.addSite('sym', 'symmetric');
      const tcpSite = await lab.addSite('tcp', 'udp-blocked');
      east1 = await lab.addHost(east, 'e1');
      east2 = await lab.addHost(east, 'e2');
      west = await lab.addHost(westSite, 'we');
      sym = await lab.addHost(symSite, 'sy');
      tcp = await lab.addHost(tcpSite, 'tc');
      const key = await lab.createKey();
      for (const h of [east1, east2, west, sym, tcp]) await lab.enrolAndStart(h, key);
    });
    after(async () => {
      await lab?.stop();
      await topo?.destroy();
    });

    test('easy NAT on both sides: a direct path through the public mappings', async () => {
      const p = await waitForPath(east1, west, 'direct');
      assert.equal(p.path!.endpoint, `${west.site.publicIp}:51820`, "east1 talks to west's public mapping");
      const back = await waitForPath(west, east1, 'direct');
      assert.match(back.path!.endpoint!, new RegExp(`^${east.publicIp.replace(/\./g, '\\.')}:\\d+$`));
      assert.equal(typeof p.path!.rttMs, 'number');
      await waitForPing(east1.ns, west.vip!);
      const { status } = await peerOf(east1, west);
      assert.equal(
        status.nat?.mapping?.startsWith(`${east.publicIp}:`),
        true,
        `east1's mapping: ${status.nat?.mapping}`,
      );
    });

    test('two helpers behind the same NAT find the LAN path', async () => {
      const p = await waitForPath(east1, east2, 'direct');
      assert.equal(p.path!.endpoint, `${east2.lanIp}:51820`);
      await waitForPing(east1.ns, east2.vip!);
    });

    test('symmetric NAT on one side falls back to the relay', async () => {
      const p = await waitForPath(west, sym, 'relay');
      assert.equal(p.path!.relay, 'coordinator');
      await waitForPing(west.ns, sym.vip!);
      const r = await ping(sym.ns, west.vip!, { count: 5, interval: 0.2 });
      assert.equal(r.received, 5, 'every ping through the relay is answered');
      const { peer } = await peerOf(sym, west);
      assert.equal(peer.path?.type, 'relay');
    });

    test('a site without UDP uses the relay over TCP', async () => {
      const { status } = await waitUntil(
        'tcp registers with the relay over TCP',
        async () => {
          const s = await peerOf(tcp, west);
          return s.status.nat?.relays.some((x) => x.transport === 'tcp') ? s : undefined;
        },
        20_000,
        250,
      );
      assert.deepEqual(
        status.nat?.relays.map((x) => x.transport),
        ['tcp'],
      );
      await waitForPath(west, tcp, 'relay');
      await waitForPath(tcp, west, 'relay');
      await waitForPing(west.ns, tcp.vip!);
      await waitForPing(tcp.ns, west.vip!);
    });

    test('a TCP stream survives the switch from relayed to direct', async () => {
      // Block UDP between the east and west routers: east1 and west lose their direct path and
      // move to the relay; then unblock while a paced stream runs and watch it move back.
      const block = ['FORWARD', '-d', west.site.publicIp, '-p', 'udp', '-j', 'DROP'];
      const blockBack = ['FORWARD', '-s', west.site.publicIp, '-p', 'udp', '-j', 'DROP'];
      await east.router.exec(['iptables', '-I', ...block]);
      await east.router.exec(['iptables', '-I', ...blockBack]);
      let unblocked = false;
      let watching = true;
      try {
        await waitForPath(east1, west, 'relay', 30_000);
        const bytes = 6 * 1024 * 1024;
        const transfer = tcpTransfer(east1.ns, west.ns, west.vip!, bytes, {
          rateBytesPerSec: 400 * 1024,
          timeoutMs: 60_000,
        });
        // The watcher asks the helper's API itself, one request at a time: a `warren status`
        // process every 250 ms piled up on a loaded machine (each took seconds to start), so
        // none answered within the relayed part and the watcher saw only the direct path.
        const seen = new Set<string>();
        const api = new ApiClient(east1.w!.socket);
        const watch = (async () => {
          while (watching) {
            const s = await api.status().catch(() => null);
            const peer = s?.peers.find((p) => p.publicKey === west.publicKey);
            if (peer) seen.add(peer.path?.type ?? 'none');
            await sleep(100);
          }
        })();
        // The stream runs relayed for at least 3 s, and until the watcher has seen it so.
        await sleep(3000);
        await waitUntil('the watcher sees the relayed path', async () => seen.has('relay') || undefined, 20_000, 100);
        await east.router.exec(['iptables', '-D', ...block]);
        await east.router.exec(['iptables', '-D', ...blockBack]);
        unblocked = true;
        const direct = await waitForPath(east1, west, 'direct', 20_000);
        const result = await transfer;
        watching = false;
        await watch;
        assert.equal(result.recvBytes, bytes);
        assert.equal(result.recvSha, result.sentSha, 'every byte arrived intact across the switch');
        assert.ok(seen.has('relay') && seen.has('direct'), `the stream saw both paths: ${[...seen].join(', ')}`);
        assert.equal(direct.path!.endpoint, `${west.site.publicIp}:51820`);
      } finally {
        watching = false;
        if (!unblocked) {
          await east.router.exec(['iptables', '-D', ...block], { allowFailure: true });
          await east.router.exec(['iptables', '-D', ...blockBack], { allowFailure: true });
        }
      }
    });
  },
);
