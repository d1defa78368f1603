// The helper's GET /v1/metrics on a real pair of helpers in two namespaces: the per-peer
// WireGuard counters grow with pings, handshakes are counted, and the scrape is valid
// Prometheus text (read with the strict reader). Then both TCP endpoints as a Prometheus server
// would scrape them, with curl from the other namespace: the helper's Metrics.Listen and the
// coordinator's --metrics-listen (open) and /metrics on its API address (admin token only).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { after, before, test } from 'node:test';
import { join } from 'node:path';
import { identityFromPublicKey } from '../src-shared/lib/identity.js';
import { parsePromText, promValue, type PromFamily } from '../src-shared/lib/testing/prom-text.js';
import {
  Topology,
  describeE2E,
  genKeyPair,
  pairLayout,
  ping,
  startWarren,
  waitForPing,
  warrenProfile,
  type PairLayout,
  type Namespace,
  type Warren,
} from './netns/index.js';
import { startCoordinator } from './netns/coordinated.js';

/** curl GETs url from ns and returns the status code and body (curl's own failure fails). */
async function curl(ns: Namespace, url: string, extra: string[] = []): Promise<{ code: number; body: string }> {
  const r = await ns.exec(['curl', '-sS', '--max-time', '10', '-w', '\n%{http_code}', ...extra, url], {
    allowFailure: true,
    timeoutMs: 15_000,
  });
  assert.equal(r.code, 0, `curl ${url}: ${r.stderr}`);
  const cut = r.stdout.lastIndexOf('\n');
  return { code: Number(r.stdout.slice(cut + 1)), body: r.stdout.slice(0, cut) };
}

/** scrape GETs /v1/metrics over the helper's Unix socket. */
function scrape(w: Warren): Promise<{ status: number; type: string; families: Map<string, PromFamily> }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: w.socket, path: '/v1/metrics', method: 'GET' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          assert.equal(res.statusCode, 200, text);
          resolve({
            status: res.statusCode!,
            type: String(res.headers['content-type']),
            families: parsePromText(text),
          });
        } catch (e) {
          reject(e instanceof Error ? e : new Error(String(e)));
        }
      });
    });
    req.on('error', reject);
    req.end();
  });
}

describeE2E(
  'helper metrics over a Warren pair',
  { warren: true, binaries: ['ping', 'curl'] },
  { timeout: 120_000 },
  () => {
    let topo: Topology;
    let l: PairLayout;
    let wa: Warren;
    const ka = genKeyPair();
    const kb = genKeyPair();
    const bIdentity = identityFromPublicKey(Buffer.from(kb.publicKey, 'base64'));

    before(async () => {
      topo = Topology.create();
      l = await pairLayout(topo);
      const peer = (k: typeof ka, ip: string, addr: string) => ({
        name: 'p',
        publicKey: k.publicKey,
        endpoint: `${ip}:51820`,
        allowedIps: [`${addr}/32`],
      });
      wa = await startWarren(
        l.a,
        warrenProfile({
          keys: ka,
          listenPort: 51820,
          virtualAddress: '100.64.0.1',
          adapter: topo.ifname('w'),
          peers: [peer(kb, l.bIp, '100.64.0.2')],
        }),
      );
      await startWarren(l.b, {
        ...warrenProfile({
          keys: kb,
          listenPort: 51820,
          virtualAddress: '100.64.0.2',
          adapter: topo.ifname('w'),
          peers: [peer(ka, l.aIp, '100.64.0.1')],
        }),
        Metrics: { Listen: `${l.bIp}:9465` },
      });
    });
    after(async () => {
      await topo?.destroy();
    });

    test('pings raise the peer rx/tx byte and packet counters, and the handshake is counted', async () => {
      await waitForPing(l.a, '100.64.0.2');
      const before = await scrape(wa);
      assert.match(before.type, /^text\/plain; version=0\.0\.4/);
      const f0 = before.families;
      for (const name of ['warren_peer_rx_bytes_total', 'warren_peer_tx_packets_total', 'warren_drops_total'])
        assert.equal(f0.get(name)?.type, 'counter', name);
      assert.equal(f0.get('warren_firewall_flows')?.type, 'gauge');
      assert.equal(promValue(f0, 'warren_peers'), 1);
      assert.ok(promValue(f0, 'warren_peer_handshakes_total', { peer: bIdentity }) >= 1);

      const r = await ping(l.a, '100.64.0.2', { count: 20, interval: 0.05 });
      assert.equal(r.received, 20);
      const f1 = (await scrape(wa)).families;
      const grew = (series: string): number =>
        promValue(f1, series, { peer: bIdentity }) - promValue(f0, series, { peer: bIdentity });
      // Each echo request is one datagram out and each reply one in (keepalives may add more).
      assert.ok(grew('warren_peer_tx_packets_total') >= 20, `tx packets grew ${grew('warren_peer_tx_packets_total')}`);
      assert.ok(grew('warren_peer_rx_packets_total') >= 20, `rx packets grew ${grew('warren_peer_rx_packets_total')}`);
      // 84-byte ICMP inside, padded and sealed: at least 32 bytes of WireGuard overhead each.
      assert.ok(grew('warren_peer_tx_bytes_total') >= 20 * (84 + 32));
      assert.ok(grew('warren_peer_rx_bytes_total') >= 20 * (84 + 32));
    });

    test("curl scrapes the helper's Metrics.Listen and both coordinator endpoints as valid Prometheus text", async () => {
      await waitForPing(l.a, '100.64.0.2');
      const helper = await curl(l.a, `http://${l.bIp}:9465/metrics`);
      assert.equal(helper.code, 200, helper.body);
      assert.equal(promValue(parsePromText(helper.body), 'warren_peers'), 1);
      assert.equal((await curl(l.a, `http://${l.bIp}:9465/v1/status`)).code, 404, 'only /metrics is served there');

      const c = await startCoordinator(l.a, l.aIp, ['--metrics-listen', `${l.aIp}:9464`]);
      try {
        const open = await curl(l.b, `http://${l.aIp}:9464/metrics`);
        assert.equal(open.code, 200, open.body);
        const fo = parsePromText(open.body);
        assert.equal(fo.get('warren_coordinator_systems')?.type, 'gauge');
        assert.equal(fo.get('warren_coordinator_admin_requests_total')?.type, 'counter');
        assert.equal((await curl(l.b, `${c.url}/metrics`)).code, 401, 'the API address wants the admin token');
        // The header comes from a file (curl -H @FILE), so the token is never on a command line.
        const token = readFileSync(join(topo.file('coordinator-data'), 'admin.token'), 'utf8').trim();
        const header = topo.writeFile('metrics-auth.txt', `Authorization: Bearer ${token}\n`);
        assert.equal((await curl(l.b, `${c.url}/v1/admin/systems`, ['-H', `@${header}`])).code, 200);
        const authed = await curl(l.b, `${c.url}/metrics`, ['-H', `@${header}`]);
        assert.equal(authed.code, 200, authed.body);
        assert.ok(
          promValue(parsePromText(authed.body), 'warren_coordinator_admin_requests_total', {
            route: '/v1/admin/systems',
            method: 'GET',
            status: '200',
          }) >= 1,
          'the systems request above is counted',
        );
      } finally {
        await c.stop();
      }
    });
  },
);
