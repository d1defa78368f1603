// GET /v1/metrics through the daemon's real local API (fake adapter and UDP, real socket): the
// scrape is valid Prometheus text, peers are labelled by identity, and a packet towards a peer
// without a session shows up as a sent handshake datagram when scraped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { parsePromText, promValue, type PromFamily } from '../../../src-shared/lib/testing/prom-text.js';
import { PATHS } from '../../../src-shared/wire/helper-api.js';
import { icmpEcho } from '../wireguard/device/fake-io.js';
import { Daemon } from './index.js';
import { BETA, eventually, fakeEnv, Sandbox, staticProfile } from './testing.js';

function scrape(socketPath: string): Promise<{ type: string; families: Map<string, PromFamily> }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path: PATHS.metrics }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}: ${text}`));
        try {
          resolve({ type: String(res.headers['content-type']), families: parsePromText(text) });
        } catch (e) {
          reject(e instanceof Error ? e : new Error(String(e)));
        }
      });
    });
    req.on('error', reject);
    req.end();
  });
}

test('GET /v1/metrics labels peers by identity and counts a handshake datagram sent at scrape time', async (t) => {
  const box = new Sandbox();
  t.after(() => box.remove());
  const env = fakeEnv();
  const d = new Daemon(box.options(staticProfile()), env);
  await d.start();
  t.after(() => d.stop());

  const first = await scrape(box.socketPath);
  assert.match(first.type, /^text\/plain; version=0\.0\.4/);
  const f0 = first.families;
  assert.equal(promValue(f0, 'warren_peers'), 1);
  assert.equal(f0.get('warren_peer_tx_packets_total')?.type, 'counter');
  assert.equal(promValue(f0, 'warren_peer_tx_packets_total', { peer: BETA.identity }), 0);
  assert.equal(promValue(f0, 'warren_peer_handshakes_total', { peer: BETA.identity }), 0);
  assert.equal(promValue(f0, 'warren_firewall_flows'), 0);
  assert.equal(promValue(f0, 'warren_dns_queries_total', { outcome: 'answer' }), 0);
  // A static profile has no NAT traversal, so no path is reported.
  assert.equal(f0.get('warren_peer_path')?.samples.length, 0);

  // A packet to beta with no session makes the device send a handshake initiation (148 bytes).
  env.tun.last.inject(icmpEcho('100.64.0.1', '100.64.0.2'));
  await eventually(async () => {
    const f1 = (await scrape(box.socketPath)).families;
    assert.ok(promValue(f1, 'warren_peer_tx_packets_total', { peer: BETA.identity }) >= 1);
    assert.ok(promValue(f1, 'warren_peer_tx_bytes_total', { peer: BETA.identity }) >= 148);
    assert.equal(promValue(f1, 'warren_firewall_flows'), 1, 'the echo request is a tracked flow');
  });
});

test('--metrics-listen serves the same metrics as GET /metrics on TCP, unauthenticated, and nothing else', async (t) => {
  const box = new Sandbox();
  t.after(() => box.remove());
  const env = fakeEnv();
  const d = new Daemon({ ...box.options(staticProfile()), metricsListen: { host: '127.0.0.1', port: 0 } }, env);
  await d.start();
  let stopped = false;
  t.after(() => (stopped ? undefined : d.stop()));
  // The listener logs its URL: port 0 picked a free port.
  const logText = box.lines.join('\n');
  const url = /metrics on (http:\/\/127\.0\.0\.1:\d+\/metrics) \(no authentication\)/.exec(logText)?.[1];
  assert.ok(url, logText);

  const res = await fetch(url);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const families = parsePromText(await res.text());
  assert.equal(promValue(families, 'warren_peers'), 1);
  assert.equal(promValue(families, 'warren_peer_handshakes_total', { peer: BETA.identity }), 0);

  // Read-only and only /metrics: the local API's paths are not reachable here.
  const base = new URL(url);
  assert.equal((await fetch(new URL(PATHS.status, base))).status, 404);
  assert.equal((await fetch(new URL('/v1/metrics', base))).status, 404);
  const post = await fetch(url, { method: 'POST', body: 'x' });
  assert.deepEqual([post.status, post.headers.get('allow')], [405, 'GET, HEAD']);

  await d.stop();
  stopped = true;
  await assert.rejects(fetch(url), 'the listener closes with the helper');
});
