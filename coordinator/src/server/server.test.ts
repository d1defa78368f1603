// The coordinator end to end over HTTP on 127.0.0.1: enrolment, maps, watch, admin, restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CONTROL_PROTOCOL, type NetworkMap, type WatchEvent } from '../../../src-shared/wire/control.js';
import { identityFromPublicKey, isIdentity } from '../../../src-shared/lib/identity.js';
import { cidrContains, parseCidr, parseIPv4 } from '../../../src-shared/lib/ip/ipv4.js';
import { parseIp, parseIpPrefix, prefixContains } from '../../../src-shared/lib/ip/addr.js';
import type { AdminSystem, CreatedKey, PolicyInfo } from '../api/admin-types.js';
import { AgentError, parseWatchEvent, SimAgent } from '../testing/agent-sim.js';
import { startTestCoordinator, type TestCoordinator } from '../testing/testing.js';

async function key(c: TestCoordinator, over: Record<string, unknown> = {}): Promise<string> {
  const r = await c.admin<CreatedKey>('POST', '/v1/admin/keys', {
    tags: ['dev'],
    approval: 'automatic',
    uses: 10,
    expiresInMs: 3_600_000,
    ephemeral: false,
    ...over,
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.key;
}

async function applyPolicy(c: TestCoordinator, policy: unknown): Promise<PolicyInfo> {
  const r = await c.admin<PolicyInfo>('PUT', '/v1/admin/policy', JSON.stringify(policy));
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

/** Watching records events and lets a test wait for one. */
class Watching {
  readonly events: WatchEvent[] = [];
  private waiters: (() => void)[] = [];
  closed = false;
  constructor(readonly agent: SimAgent) {}
  onEvent = (_name: string, data: string): void => {
    this.events.push(parseWatchEvent(data));
    for (const w of this.waiters.splice(0)) w();
  };
  async until<T>(pick: (e: WatchEvent[]) => T | undefined, ms = 2000): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = pick(this.events);
      if (v !== undefined) return v;
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`no matching event within ${ms} ms; got ${JSON.stringify(this.events.map((e) => e.type))}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }
  /** mapAfter waits for a map newer than version and returns it verified. */
  mapAfter(version: number, ms = 2000): Promise<NetworkMap> {
    return this.until((evs) => {
      for (const e of evs) {
        if (e.type !== 'map') continue;
        const m = this.agent.verify(e.map);
        if (m.version > version) return m;
      }
      return undefined;
    }, ms);
  }
}

/** mapsOf verifies every map event an agent received, in order. */
function mapsOf(agent: SimAgent, evs: WatchEvent[]): NetworkMap[] {
  return evs.flatMap((e) => (e.type === 'map' ? [agent.verify(e.map)] : []));
}

async function watch(agent: SimAgent, since?: number): Promise<{ w: Watching; close(): void; done: Promise<void> }> {
  const w = new Watching(agent);
  const h = await agent.watch(w.onEvent, since);
  void h.done.then(() => (w.closed = true));
  return { w, close: h.close, done: h.done };
}

const POLICY = {
  Tags: ['dev', 'server'],
  Policies: [
    {
      Name: 'dev to server',
      Senders: ['tag:dev'],
      Receivers: ['tag:server'],
      Acls: [{ Protocol: 'tcp', Ports: '22' }],
    },
  ],
  Dns: { Records: [{ Name: 'db', Targets: ['tag:server'] }] },
};

test('info, enrolment, map and re-enrolment', async () => {
  const c = await startTestCoordinator();
  try {
    const info = await c.admin<{ publicKey: string; protocol: number }>('GET', '/v1/info');
    assert.deepEqual(info.body, { publicKey: c.publicKey, protocol: CONTROL_PROTOCOL });
    const k = await key(c, { tags: ['dev', 'laptop'], uses: 1 });
    const a = new SimAgent(c.url);
    const res = await a.enrol(k, 'Laptop_1.local', ['192.168.1.20:51820']);
    assert.equal(res.state, 'active');
    // The identity is issued, not derived from the key (docs/coordinator.md "Identities").
    assert.ok(isIdentity(res.identity), res.identity);
    assert.notEqual(res.identity, identityFromPublicKey(Buffer.from(a.keys.wireguardPublicKey, 'base64')));
    assert.ok(cidrContains(parseCidr('100.64.0.0/10')!, parseIPv4(res.virtualAddress)!));
    assert.deepEqual(res.tags, ['dev', 'laptop']);
    assert.equal(res.coordinatorPublicKey, c.publicKey);
    assert.ok(res.map);
    const first = a.verify(res.map);
    assert.equal(first.self.name, 'laptop-1');
    assert.deepEqual(first.self.dnsNames, ['laptop-1']);
    assert.equal(first.self.virtualAddress, res.virtualAddress);
    const got = await a.getMap();
    assert.ok(got.version >= first.version);
    // The same keys enrolling again get the same system, and the key's one use is not spent
    // twice (a second enrolment with other keys would need a second use).
    const again = await a.enrol(k, 'other-name');
    assert.deepEqual(
      [again.systemId, again.identity, again.virtualAddress],
      [res.systemId, res.identity, res.virtualAddress],
    );
    await assert.rejects(
      new SimAgent(c.url).enrol(k, 'b'),
      (e: AgentError) => e.code === 'key-used-up' && e.status === 403,
    );
    // A second system with the same hostname gets a de-duplicated name.
    const k2 = await key(c);
    const b = new SimAgent(c.url);
    await b.enrol(k2, 'laptop-1');
    const sys = await c.admin<AdminSystem>('GET', `/v1/admin/systems/${b.identity}`);
    assert.equal(sys.body.name, 'laptop-1-2');
  } finally {
    await c.dispose();
  }
});

test('policy shapes maps, and watchers get the new map within a second of a change', async () => {
  const c = await startTestCoordinator();
  try {
    const dev = new SimAgent(c.url);
    const server = new SimAgent(c.url);
    const other = new SimAgent(c.url);
    await dev.enrol(await key(c, { tags: ['dev'] }), 'dev');
    await server.enrol(await key(c, { tags: ['server'] }), 'server');
    await other.enrol(await key(c, { tags: [] }), 'other');
    const wd = await watch(dev);
    const ws = await watch(server);
    const m0 = await wd.w.mapAfter(0);
    assert.deepEqual(m0.peers, []);
    const t0 = Date.now();
    const applied = await applyPolicy(c, POLICY);
    const m1 = await wd.w.mapAfter(m0.version, 1000);
    assert.ok(Date.now() - t0 < 1000);
    assert.ok(
      m1.version <= applied.mapVersion + 5 && m1.version >= applied.mapVersion,
      `${m1.version} vs ${applied.mapVersion}`,
    );
    assert.deepEqual(
      m1.peers.map((p) => [p.identity, p.name, p.dnsNames, p.online]),
      [[server.identity, 'server', ['server', 'db'], true]],
    );
    assert.deepEqual(
      m1.policies.map((p) => [p.senders, p.receivers]),
      [[[dev.identity], [server.identity]]],
    );
    const sm = await ws.w.mapAfter(0);
    assert.ok(sm.peers.length <= 1);
    assert.deepEqual(
      (await server.getMap()).peers.map((p) => p.identity),
      [dev.identity],
    );
    assert.deepEqual((await other.getMap()).peers, []);

    // Tagging `other` as dev makes it a peer of the server; renaming the server shows at the dev.
    await c.admin('POST', `/v1/admin/systems/${other.identity}/tags`, { add: ['dev'] });
    await ws.w.until((evs) => mapsOf(server, evs).find((m) => m.peers.some((p) => p.identity === other.identity)));
    const r = await c.admin<AdminSystem>('POST', `/v1/admin/systems/${server.systemId}/name`, { name: 'db-1' });
    assert.equal(r.body.name, 'db-1');
    const m2 = await wd.w.until((evs) => mapsOf(dev, evs).find((m) => m.peers[0]?.name === 'db-1'));
    assert.deepEqual(m2.peers[0]!.dnsNames, ['db-1', 'db']);
    // Versions only grow on the stream.
    const versions = mapsOf(dev, wd.w.events).map((m) => m.version);
    assert.deepEqual(
      versions,
      [...versions].sort((x, y) => x - y),
    );
    assert.equal(new Set(versions).size, versions.length);

    // Endpoints reported by the server reach the dev.
    await server.reportEndpoints({ listenPort: 51999, addresses: ['10.7.0.5'] });
    const m3 = await wd.w.until((evs) =>
      mapsOf(dev, evs).find((m) => m.peers[0]?.endpoints.includes('10.7.0.5:51999')),
    );
    assert.ok(m3);
    // IPv6 interface addresses are candidates too, named [v6]:port in canonical form.
    await server.reportEndpoints({ listenPort: 51999, addresses: ['10.7.0.5', '2001:DB8:0:1::5', 'fd00:7::5'] });
    const m4 = await wd.w.until((evs) =>
      mapsOf(dev, evs).find((m) => m.peers[0]?.endpoints.includes('[fd00:7::5]:51999')),
    );
    assert.deepEqual(
      m4.peers[0]!.endpoints.filter((e) => e.includes('51999')),
      ['10.7.0.5:51999', '[2001:db8:0:1::5]:51999', '[fd00:7::5]:51999'],
    );
    wd.close();
    ws.close();
  } finally {
    await c.dispose();
  }
});

test('gated keys: pending until approved, then the watcher gets its map', async () => {
  const c = await startTestCoordinator();
  try {
    const a = new SimAgent(c.url);
    const res = await a.enrol(await key(c, { approval: 'gated' }), 'gated');
    assert.equal(res.state, 'pending');
    assert.equal(res.map, null);
    await assert.rejects(a.getMap(), (e: AgentError) => e.status === 409 && e.code === 'pending-approval');
    const { w, close } = await watch(a);
    await w.until((evs) => (evs[0]?.type === 'pending' ? true : undefined));
    const approved = await c.admin<AdminSystem>('POST', `/v1/admin/systems/${a.identity}/approve`);
    assert.equal(approved.body.state, 'active');
    const m = await w.mapAfter(0, 1000);
    assert.equal(m.systemId, a.systemId);
    close();
  } finally {
    await c.dispose();
  }
});

test('revoking cuts a system off: revoked event, stream closed, 403 afterwards, gone from peers', async () => {
  const c = await startTestCoordinator();
  try {
    await applyPolicy(c, POLICY);
    const dev = new SimAgent(c.url);
    const server = new SimAgent(c.url);
    await dev.enrol(await key(c, { tags: ['dev'] }), 'dev');
    await server.enrol(await key(c, { tags: ['server'] }), 'server');
    const wd = await watch(dev);
    const ws = await watch(server);
    const before = await wd.w.mapAfter(0);
    assert.equal(before.peers.length, 1);
    await c.admin('POST', `/v1/admin/systems/${server.identity}/revoke`);
    const ev = await ws.w.until((evs) => evs.find((e) => e.type === 'revoked'), 1000);
    assert.equal(ev.type, 'revoked');
    await ws.done;
    assert.equal(ws.w.closed, true);
    await assert.rejects(server.getMap(), (e: AgentError) => e.status === 403 && e.code === 'revoked');
    await assert.rejects(
      server.watch(() => {}),
      (e: AgentError) => e.status === 403 && e.code === 'revoked',
    );
    const after = await wd.w.until((evs) => mapsOf(dev, evs).find((m) => m.peers.length === 0), 1000);
    assert.ok(after.version > before.version);
    // The same WireGuard key cannot come back with a fresh enrolment key.
    await assert.rejects(server.enrol(await key(c), 'again'), (e: AgentError) => e.code === 'revoked');
    wd.close();
  } finally {
    await c.dispose();
  }
});

test('a restart loses nothing: keys, systems, addresses, tags, policy, signing key; versions keep growing', async () => {
  let c = await startTestCoordinator();
  try {
    await applyPolicy(c, POLICY);
    const k = await key(c, { tags: ['dev'], uses: 5 });
    const dev = new SimAgent(c.url);
    const server = new SimAgent(c.url);
    await dev.enrol(k, 'dev');
    await server.enrol(await key(c, { tags: ['server'] }), 'server');
    await c.admin('POST', `/v1/admin/systems/${server.identity}/dns`, { names: ['files'] });
    const m1 = await dev.getMap();
    const systems1 = (await c.admin<{ systems: AdminSystem[] }>('GET', '/v1/admin/systems')).body.systems;
    const publicKey = c.publicKey;
    c = await c.restart();
    assert.equal(c.publicKey, publicKey);
    const systems2 = (await c.admin<{ systems: AdminSystem[] }>('GET', '/v1/admin/systems')).body.systems;
    const stable = (s: AdminSystem[]): unknown =>
      s.map((x) => [x.systemId, x.identity, x.virtualAddress, x.tags, x.dnsNames, x.name, x.state]);
    assert.deepEqual(stable(systems2), stable(systems1));
    const policy = await c.admin<PolicyInfo>('GET', '/v1/admin/policy');
    assert.equal(policy.body.text, JSON.stringify(POLICY));
    const keys = await c.admin<{ keys: { uses: number }[] }>('GET', '/v1/admin/keys');
    assert.deepEqual(
      keys.body.keys.map((x) => x.uses),
      [1, 1],
    );
    const dev2 = new SimAgent(c.url, { keys: dev.keys });
    Object.assign(dev2, { systemId: dev.systemId, coordinatorPublicKey: dev.coordinatorPublicKey });
    const m2 = await dev2.getMap();
    assert.ok(m2.version > m1.version, `${m2.version} > ${m1.version}`);
    assert.deepEqual(
      m2.peers.map((p) => [p.identity, p.dnsNames]),
      [[server.identity, ['server', 'files', 'db']]],
    );
  } finally {
    await c.dispose();
  }
});

test('ephemeral systems are removed after being offline for the timeout, and their address is freed', async () => {
  const c = await startTestCoordinator({ ephemeralTimeoutMs: 1000, network: parseCidr('10.99.0.0/30')! });
  try {
    const k = await key(c, { ephemeral: true });
    const a = new SimAgent(c.url);
    await a.enrol(k, 'eph');
    const b = new SimAgent(c.url);
    await b.enrol(await key(c), 'keeper');
    // A /30 has two host addresses: the network is now full.
    await assert.rejects(
      new SimAgent(c.url).enrol(k, 'third'),
      (e: AgentError) => e.status === 507 && e.code === 'address-space-full',
    );
    const { close } = await watch(a);
    await new Promise((r) => setTimeout(r, 1500));
    // Online: still there after the timeout.
    assert.equal((await c.admin('GET', `/v1/admin/systems/${a.identity}`)).status, 200);
    close();
    const deadline = Date.now() + 5000;
    while ((await c.admin('GET', `/v1/admin/systems/${a.identity}`)).status !== 404) {
      assert.ok(Date.now() < deadline, 'the ephemeral system was not removed');
      await new Promise((r) => setTimeout(r, 100));
    }
    await assert.rejects(a.getMap(), (e: AgentError) => e.status === 401 && e.code === 'unauthorized');
    const third = await new SimAgent(c.url).enrol(k, 'third');
    assert.equal(third.state, 'active');
    assert.ok(c.logLines.some((l) => l.includes('removed ephemeral')));
  } finally {
    await c.dispose();
  }
});

test('PublicIp requirements are evaluated against the address the coordinator sees', async () => {
  const c = await startTestCoordinator();
  try {
    const dev = new SimAgent(c.url);
    const server = new SimAgent(c.url);
    await dev.enrol(await key(c, { tags: ['dev'] }), 'dev');
    await server.enrol(await key(c, { tags: ['server'] }), 'server');
    const policy = (ranges: string[]): unknown => ({
      ...POLICY,
      Policies: [{ ...POLICY.Policies[0], TrustRequirements: [{ Type: 'PublicIp', Ranges: ranges }] }],
    });
    await applyPolicy(c, policy(['203.0.113.0/24']));
    assert.deepEqual((await dev.getMap()).peers, []);
    await applyPolicy(c, policy(['127.0.0.0/8']));
    const m = await dev.getMap();
    assert.deepEqual(
      m.peers.map((p) => p.identity),
      [server.identity],
    );
    assert.deepEqual(m.policies[0]!.trustRequirements, []);
  } finally {
    await c.dispose();
  }
});

test('a watch with since=current version gets a ping instead of the same map again', async () => {
  const c = await startTestCoordinator();
  try {
    const a = new SimAgent(c.url);
    await a.enrol(await key(c), 'a');
    const m = await a.getMap();
    const { w, close } = await watch(a, m.version);
    const first = await w.until((evs) => evs[0]);
    assert.equal(first.type, 'ping');
    close();
  } finally {
    await c.dispose();
  }
});

test('one watch stream per system: a new one replaces the old; the global cap refuses with rate-limited', async () => {
  const c = await startTestCoordinator({ maxWatchers: 1 });
  try {
    const a = new SimAgent(c.url);
    const b = new SimAgent(c.url);
    const k = await key(c);
    await a.enrol(k, 'a');
    await b.enrol(k, 'b');
    const first = await watch(a);
    await first.w.mapAfter(0);
    const second = await watch(a);
    await second.w.mapAfter(0);
    await first.done;
    assert.equal(first.w.closed, true, 'the replaced stream was closed');
    assert.equal(second.w.closed, false);
    const sys = await c.admin<AdminSystem>('GET', `/v1/admin/systems/${a.identity}`);
    assert.equal(sys.body.online, true, 'replacing a stream does not take the system offline');
    await assert.rejects(
      b.watch(() => {}),
      (e: AgentError) => e.status === 429 && e.code === 'rate-limited',
    );
    second.close();
    await second.done;
    const deadline = Date.now() + 2000;
    while ((await c.admin<AdminSystem>('GET', `/v1/admin/systems/${a.identity}`)).body.online) {
      assert.ok(Date.now() < deadline, 'closing the last stream takes the system offline');
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    await c.dispose();
  }
});

test('IPv6: enrolment and maps carry addresses in the network /48, stable across restart and re-map', async () => {
  let c = await startTestCoordinator();
  try {
    const stats = await c.admin<{ network6: string }>('GET', '/v1/admin/stats');
    const net6 = parseIpPrefix(stats.body.network6)!;
    assert.ok(net6 && net6.bits === 48 && stats.body.network6.startsWith('fd'), stats.body.network6);
    assert.ok(c.logLines.some((l) => l.includes(`drew the network's IPv6 prefix ${stats.body.network6}`)));
    const k = await key(c);
    const a = new SimAgent(c.url);
    const b = new SimAgent(c.url);
    const ea = await a.enrol(k, 'a');
    const eb = await b.enrol(k, 'b');
    assert.equal(ea.virtualNetwork6, stats.body.network6);
    for (const e of [ea, eb]) assert.ok(prefixContains(net6, parseIp(e.virtualAddress6!)!), e.virtualAddress6);
    assert.notEqual(ea.virtualAddress6, eb.virtualAddress6);
    await applyPolicy(c, {
      Tags: ['dev'],
      Policies: [{ Name: 'all', Senders: ['tag:dev'], Receivers: ['tag:dev'], Acls: [{ Protocol: 'any' }] }],
    });
    const ma = await a.getMap();
    assert.equal(ma.virtualNetwork6, stats.body.network6);
    assert.equal(ma.self.virtualAddress6, ea.virtualAddress6);
    assert.equal(ma.peers.find((p) => p.identity === b.identity)?.virtualAddress6, eb.virtualAddress6);
    const sys = await c.admin<AdminSystem>('GET', `/v1/admin/systems/${a.systemId}`);
    assert.equal(sys.body.virtualAddress6, ea.virtualAddress6);

    c = await c.restart();
    assert.ok(!c.logLines.some((l) => l.includes("drew the network's IPv6 prefix")), 'drawn once only');
    const again = await c.admin<{ network6: string }>('GET', '/v1/admin/stats');
    assert.equal(again.body.network6, stats.body.network6);
    const a2 = new SimAgent(c.url, { keys: a.keys });
    const re = await a2.enrol(k, 'a');
    assert.equal(re.virtualAddress6, ea.virtualAddress6, 'the same keys enrolling again keep the address');
    const mb = await new SimAgent(c.url, { keys: b.keys }).enrol(k, 'b');
    assert.equal(mb.virtualAddress6, eb.virtualAddress6);
    const m2 = await a2.getMap();
    assert.equal(m2.self.virtualAddress6, ea.virtualAddress6);
    assert.equal(m2.peers.find((p) => p.identity === b.identity)?.virtualAddress6, eb.virtualAddress6);
  } finally {
    await c.dispose();
  }
});
