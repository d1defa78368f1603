// Map deltas between a real coordinator (in this process) and the helper's ControlRuntime over
// real HTTP and watch streams: a helper that holds the current map gets the next change as a
// delta, holds exactly the full map's text afterwards, stores it so that a restart verifies
// and uses it, and a stored map that does not match its delta is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NetworkMap, SignedMap } from '../../../src-shared/wire/control.js';
import { startTestCoordinator, type TestCoordinator } from '../../../coordinator/src/testing/testing.js';
import { createLogger } from '../../../src-shared/lib/log.js';
import type { Profile } from '../config/schema.js';
import { enrolInDir } from './testing.js';
import { ControlRuntime } from './runtime.js';
import { controlRequest } from './http.js';
import { machineKeyFromSeed } from './sign.js';
import { canonicalMapText, openHeldMap } from '../../../src-shared/lib/netmap/delta-apply.js';
import { loadStoredMap } from './store.js';

const DEVS_POLICY = {
  Tags: ['dev'],
  Policies: [{ Name: 'devs', Senders: ['tag:dev'], Receivers: ['tag:dev'], Acls: [{ Protocol: 'any' }] }],
};

interface Running {
  runtime: ControlRuntime;
  maps: NetworkMap[];
  log: string[];
}

function runtimeOf(profile: Profile, stateDir: string): Running {
  const maps: NetworkMap[] = [];
  const log: string[] = [];
  const runtime = new ControlRuntime({
    config: profile.coordinator!,
    publicKey: profile.publicKey,
    stateDir,
    adapter: 'wtest0',
    listenPort: () => 51820,
    log: createLogger(2, { write: (l: string) => log.push(l) }),
    apply: async (map) => {
      maps.push(map);
    },
    revoked: async () => undefined,
    changed: () => undefined,
    addressMonitor: null,
  });
  return { runtime, maps, log };
}

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function fullMapOf(c: TestCoordinator, profile: Profile): Promise<SignedMap> {
  const auth = { key: machineKeyFromSeed(profile.coordinator!.machineKey), systemId: profile.coordinator!.systemId };
  return (await controlRequest({ base: c.url, method: 'GET', path: '/v1/agent/map', auth })) as SignedMap;
}

test('a helper holding the current map gets a peer joining as a delta and then holds the full map byte for byte', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'warren-delta-rt-'));
  const c = await startTestCoordinator();
  const running: Running[] = [];
  t.after(async () => {
    for (const r of running) r.runtime.stop();
    await c.dispose();
    rmSync(dir, { recursive: true, force: true });
  });
  assert.equal((await c.admin('PUT', '/v1/admin/policy', JSON.stringify(DEVS_POLICY))).status, 200);
  const a = await enrolInDir(c, dir, 'a', { tags: ['dev'] });
  await enrolInDir(c, dir, 'b', { tags: ['dev'] });
  const ra = runtimeOf(a.profile, a.stateDir);
  running.push(ra);
  await ra.runtime.start();
  await until('a on its stream with b in its map', () => ra.maps.some((m) => m.peers.length === 1));
  const before = ra.runtime.summary().mapVersion;

  await enrolInDir(c, dir, 'joiner', { tags: ['dev'] });
  await until('the joiner in a map', () => ra.maps.some((m) => m.peers.some((p) => p.name === 'joiner')));
  assert.ok(ra.runtime.summary().mapVersion > before);
  assert.ok(
    ra.log.some((l) => /network map version \d+ applied \(delta\): 2 peer/.test(l)),
    `the joiner came as a delta:\n${ra.log.join('')}`,
  );
  const stored = loadStoredMap(a.stateDir)!;
  assert.ok(stored.delta, 'the map a delta made is stored with its delta');
  assert.ok(
    (stored.delta as { batch?: unknown }).batch,
    'the helper asked for batch signatures, so the delta came with its batch proof (map-delta.ts)',
  );
  const pinned = a.profile.coordinator!.publicKey;
  const id = a.profile.coordinator!.systemId;
  const fromDelta = openHeldMap(stored, pinned, id, 0).held;
  const full = openHeldMap(await fullMapOf(c, a.profile), pinned, id, 0).held;
  assert.equal(fromDelta.version, full.version);
  assert.equal(canonicalMapText(fromDelta.raw), canonicalMapText(full.raw));
  assert.equal(canonicalMapText(full.raw), Buffer.from((await fullMapOf(c, a.profile)).payload, 'base64').toString());

  // A restart verifies the stored map (its delta's signature and digest) and uses it at once.
  ra.runtime.stop();
  const again = runtimeOf(a.profile, a.stateDir);
  running.push(again);
  await again.runtime.start();
  assert.equal(again.maps[0]?.version, full.version);
  assert.ok(again.log.some((l) => /applied \(stored\): 2 peer/.test(l)));
  again.runtime.stop();

  // A stored text that does not match its signed delta is refused on load.
  const file = join(a.stateDir, 'netmap.json');
  const j = JSON.parse(readFileSync(file, 'utf8')) as SignedMap & { delta: SignedMap };
  const text = Buffer.from(j.payload, 'base64').toString().replace('"joiner"', '"jojner"');
  writeFileSync(file, JSON.stringify({ ...j, payload: Buffer.from(text).toString('base64') }));
  const third = runtimeOf(a.profile, a.stateDir);
  running.push(third);
  await third.runtime.start();
  third.runtime.stop();
  assert.ok(third.log.some((l) => /stored network map not used: the stored map does not match the digest/.test(l)));
});
