// The coordinator's condition as the control runtime reports it, against a real coordinator in
// this process: pending approval until an admin approves, a map signed by another key than the
// pinned one, an outage, and a profile whose WireGuard key is not the enrolled one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestCoordinator, type TestCoordinator } from '../../../coordinator/src/testing/testing.js';
import { createLogger } from '../../../src-shared/lib/log.js';
import type { NetworkMap } from '../../../src-shared/wire/control.js';
import type { CoordinatorCondition } from '../../../src-shared/wire/status.js';
import type { CoordinatorConfig } from '../config/validate-coordinator.js';
import { enrolInDir } from './testing.js';
import { ControlRuntime } from './runtime.js';

interface Enrolled {
  config: CoordinatorConfig;
  publicKey: Buffer;
  stateDir: string;
}

async function enrolled(
  c: TestCoordinator,
  dir: string,
  name: string,
  approval: 'automatic' | 'gated',
): Promise<Enrolled> {
  const { profile, stateDir } = await enrolInDir(c, dir, name, { approval });
  return { config: profile.coordinator!, publicKey: profile.publicKey, stateDir };
}

function runtime(e: Enrolled, over: Partial<Enrolled> = {}, maps: NetworkMap[] = []): ControlRuntime {
  const x = { ...e, ...over };
  return new ControlRuntime({
    config: x.config,
    publicKey: x.publicKey,
    stateDir: x.stateDir,
    adapter: 'wlink0',
    listenPort: () => 51820,
    log: createLogger(0, { write: () => true }),
    apply: async (m) => void maps.push(m),
    revoked: async () => undefined,
    changed: () => undefined,
    addressMonitor: null,
  });
}

async function until(r: ControlRuntime, want: CoordinatorCondition, timeoutMs: number): Promise<number> {
  const start = Date.now();
  while (r.summary().condition !== want) {
    if (Date.now() - start > timeoutMs)
      throw new Error(`condition ${r.summary().condition} (${r.summary().detail}), not ${want}, after ${timeoutMs} ms`);
    await new Promise((res) => setTimeout(res, 20));
  }
  return Date.now() - start;
}

async function withCoordinator(
  body: (c: TestCoordinator, dir: string, stops: (() => void)[]) => Promise<void>,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'warren-link-'));
  const c = await startTestCoordinator();
  const stops: (() => void)[] = [];
  try {
    await body(c, dir, stops);
  } finally {
    for (const s of stops) s();
    await c.dispose().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a gated system is pending approval until the admin approves it, then connected with map and age', async () => {
  await withCoordinator(async (c, dir, stops) => {
    const e = await enrolled(c, dir, 'gated', 'gated');
    const r = runtime(e);
    stops.push(() => r.stop());
    await r.start();
    await until(r, 'pending-approval', 5_000);
    assert.equal(r.summary().mapVersion, 0);
    assert.equal(r.summary().lastMapAt, null);
    const approved = await c.admin('POST', `/v1/admin/systems/${e.config.systemId}/approve`);
    assert.equal(approved.status, 200);
    const ms = await until(r, 'connected', 5_000);
    assert.ok(r.summary().mapVersion > 0);
    assert.equal(typeof r.summary().lastMapAt, 'number');
    assert.ok(ms < 3_000, `connected ${ms} ms after the approval`);
  });
});

test('maps signed by another key than the pinned one leave the link in bad-signature', async () => {
  await withCoordinator(async (c, dir, stops) => {
    const e = await enrolled(c, dir, 'pinned', 'automatic');
    const r = runtime(e, { config: { ...e.config, publicKey: randomBytes(32) } });
    stops.push(() => r.stop());
    await r.start();
    await until(r, 'bad-signature', 5_000);
    assert.match(r.summary().detail ?? '', /not signed by the pinned coordinator key/);
    assert.equal(r.summary().mapVersion, 0);
  });
});

test('a stopped coordinator shows as unreachable within 2 s, with the error', async () => {
  await withCoordinator(async (c, dir, stops) => {
    const e = await enrolled(c, dir, 'outage', 'automatic');
    const r = runtime(e);
    stops.push(() => r.stop());
    await r.start();
    await until(r, 'connected', 5_000);
    await c.close();
    await until(r, 'unreachable', 2_000);
    assert.ok(r.summary().mapVersion > 0, 'the map stays in force');
  });
});

test("a profile whose WireGuard key is not the enrolled one is caught from the coordinator's relay token", async () => {
  await withCoordinator(async (c, dir, stops) => {
    const e = await enrolled(c, dir, 'rekeyed', 'automatic');
    const maps: NetworkMap[] = [];
    const other = randomBytes(32);
    const r = runtime(e, { publicKey: other }, maps);
    stops.push(() => r.stop());
    await r.start();
    await until(r, 'connected', 5_000);
    const relay = maps.at(-1)?.relays?.[0]?.name;
    assert.ok(relay, 'the map lists a relay');
    await r.relayToken(relay);
    assert.equal(r.summary().condition, 'key-mismatch');
    assert.match(r.summary().detail ?? '', new RegExp(`holds ${e.publicKey.toString('base64').replace(/[+/]/g, '.')}`));
    // A runtime with the enrolled key finds none.
    const good = runtime(e);
    stops.push(() => good.stop());
    await good.start();
    await until(good, 'connected', 5_000);
    await good.relayToken(relay);
    assert.equal(good.summary().condition, 'connected');
  });
});
