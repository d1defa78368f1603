// GET /metrics end to end on a real in-process coordinator: behind the admin token on the API
// address, without it on --metrics-listen, and the numbers match what the test did.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePromText, promValue, type PromFamily } from '../../../src-shared/lib/testing/prom-text.js';
import { AgentError, SimAgent } from '../testing/agent-sim.js';
import { createKey, enrolledAgent, startTestCoordinator, type TestCoordinator } from '../testing/testing.js';
import { serveOptions } from '../cli/serve.js';

async function scrape(url: string, token?: string): Promise<{ status: number; type: string | null; text: string }> {
  const r = await fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  return { status: r.status, type: r.headers.get('content-type'), text: await r.text() };
}

async function families(c: TestCoordinator): Promise<Map<string, PromFamily>> {
  const r = await scrape(`${c.url}/metrics`, c.adminToken);
  assert.equal(r.status, 200, r.text);
  assert.match(r.type ?? '', /^text\/plain; version=0\.0\.4/);
  return parsePromText(r.text);
}

test('GET /metrics needs the admin token and counts systems by state, enrolments, watch streams and maps', async () => {
  const c = await startTestCoordinator();
  try {
    assert.equal((await scrape(`${c.url}/metrics`)).status, 401);
    assert.equal((await scrape(`${c.url}/metrics`, 'wrong-token')).status, 401);

    const a = await enrolledAgent(c, ['dev'], 'alpha');
    await enrolledAgent(c, ['dev'], 'beta');
    await enrolledAgent(c, ['dev'], 'gamma', 'gated');
    const revoked = await enrolledAgent(c, ['dev'], 'delta');
    assert.equal((await c.admin('POST', `/v1/admin/systems/${revoked.identity}/revoke`)).status, 200);
    const key = await createKey(c, { uses: 1 });
    await new SimAgent(c.url).enrol(key, 'epsilon');
    await assert.rejects(new SimAgent(c.url).enrol(key, 'zeta'), (e: AgentError) => e.code === 'key-used-up');
    await assert.rejects(new SimAgent(c.url).enrol('not-a-key', 'eta'), (e: AgentError) => e.code === 'key-invalid');
    assert.equal((await c.admin('GET', '/v1/admin/systems/NOSUCH')).status, 404);

    const w = await a.watch(() => {});
    try {
      c.services.publisher.flush();
      const f = await families(c);
      assert.equal(f.get('warren_coordinator_systems')?.type, 'gauge');
      assert.equal(promValue(f, 'warren_coordinator_systems', { state: 'active' }), 3);
      assert.equal(promValue(f, 'warren_coordinator_systems', { state: 'pending' }), 1);
      assert.equal(promValue(f, 'warren_coordinator_systems', { state: 'revoked' }), 1);
      assert.equal(promValue(f, 'warren_coordinator_systems_online'), 1);
      assert.equal(promValue(f, 'warren_coordinator_watch_streams'), 1);
      assert.equal(f.get('warren_coordinator_enrolments_total')?.type, 'counter');
      assert.equal(promValue(f, 'warren_coordinator_enrolments_total', { result: 'enrolled' }), 4);
      assert.equal(promValue(f, 'warren_coordinator_enrolments_total', { result: 'pending' }), 1);
      assert.equal(promValue(f, 'warren_coordinator_enrolments_total', { result: 'key-used-up' }), 1);
      assert.equal(promValue(f, 'warren_coordinator_enrolments_total', { result: 'key-invalid' }), 1);
      // The watch stream got the agent's map on opening.
      assert.ok(promValue(f, 'warren_coordinator_maps_pushed_total') >= 1);
      assert.ok(promValue(f, 'warren_coordinator_maps_published_total') >= 4);
      assert.equal(f.get('warren_coordinator_map_pass_seconds')?.type, 'histogram');
      assert.ok(promValue(f, 'warren_coordinator_map_pass_seconds_count') >= 1);
      assert.equal(promValue(f, 'warren_coordinator_map_version'), c.services.registry.version);
      const admin = (route: string, method: string, status: string): number =>
        promValue(f, 'warren_coordinator_admin_requests_total', { route, method, status });
      // Route patterns, not identities: the 404 above is counted under :id.
      assert.equal(admin('/v1/admin/systems/:id', 'GET', '404'), 1);
      assert.equal(admin('/v1/admin/systems/:id/revoke', 'POST', '200'), 1);
      assert.equal(admin('/metrics', 'GET', '401'), 2);
      assert.equal(admin('/v1/admin/keys', 'POST', '201'), 5);
      assert.ok(
        !f
          .get('warren_coordinator_admin_requests_total')!
          .samples.some((s) => s.labels.route?.includes(revoked.identity)),
      );
    } finally {
      w.close();
    }
  } finally {
    await c.dispose();
  }
});

test('--metrics-listen serves /metrics without a token and nothing else', async () => {
  const c = await startTestCoordinator({ metricsListen: { host: '127.0.0.1', port: 0 } });
  try {
    assert.ok(c.metricsUrl);
    await enrolledAgent(c, ['dev'], 'alpha');
    const r = await scrape(c.metricsUrl);
    assert.equal(r.status, 200, r.text);
    const f = parsePromText(r.text);
    assert.equal(promValue(f, 'warren_coordinator_systems', { state: 'active' }), 1);
    assert.equal(promValue(f, 'warren_coordinator_enrolments_total', { result: 'enrolled' }), 1);
    const base = c.metricsUrl.slice(0, -'/metrics'.length);
    assert.equal((await scrape(`${base}/v1/admin/systems`)).status, 404);
    assert.equal((await fetch(c.metricsUrl, { method: 'POST' })).status, 405);
  } finally {
    await c.dispose();
  }
  // Closed with the coordinator.
  await assert.rejects(fetch(c.metricsUrl));
});

test('two coordinators in one process keep separate metrics', async () => {
  const a = await startTestCoordinator();
  const b = await startTestCoordinator();
  try {
    await enrolledAgent(a, ['dev'], 'one');
    await enrolledAgent(a, ['dev'], 'two');
    assert.equal(promValue(await families(a), 'warren_coordinator_systems', { state: 'active' }), 2);
    assert.equal(promValue(await families(b), 'warren_coordinator_systems', { state: 'active' }), 0);
  } finally {
    await a.dispose();
    await b.dispose();
  }
});

test('serve reads --metrics-listen HOST:PORT and refuses a bad one', () => {
  const io = { stdout: { write: () => true }, stderr: { write: () => true } } as never;
  const base = ['--data', '/tmp/x', '--listen', '127.0.0.1:0'];
  assert.deepEqual(serveOptions([...base, '--metrics-listen', '[::1]:9464'], io).metricsListen, {
    host: '::1',
    port: 9464,
  });
  assert.equal(serveOptions(base, io).metricsListen, undefined);
  assert.throws(() => serveOptions([...base, '--metrics-listen', 'nowhere'], io), /--metrics-listen/);
});
