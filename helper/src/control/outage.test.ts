// The coordinator link across an outage, against a real coordinator in this process: helpers
// whose coordinator was gone long enough for any backoff to reach its cap are back on their
// stream, with the map the coordinator pushes at once, within 2 s of its return. Also the
// retry schedule itself: first redials under a second, a low cap while nothing answers, a
// long one while the coordinator refuses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CoordinatorStats } from '../../../coordinator/src/api/admin-types.js';
import { startTestCoordinator, type TestCoordinator } from '../../../coordinator/src/testing/testing.js';
import { createLogger } from '../../../src-shared/lib/log.js';
import { enrolInDir } from './testing.js';
import { ControlRuntime } from './runtime.js';
import { retryDelayMs } from './watch.js';

const HELPERS = 4;
/** OUTAGE_MS is longer than the old schedule needed to reach its 15 s cap (about 12 s). */
const OUTAGE_MS = 20_000;
const RESYNC_MS = 2_000;
const DEVS_POLICY = {
  Tags: ['dev'],
  Policies: [{ Name: 'devs', Senders: ['tag:dev'], Receivers: ['tag:dev'], Acls: [{ Protocol: 'any' }] }],
};

interface Helper {
  name: string;
  runtime: ControlRuntime;
  versions: number[];
}

async function enrolledHelper(c: TestCoordinator, dir: string, name: string): Promise<Helper> {
  const { profile, stateDir } = await enrolInDir(c, dir, name, { tags: ['dev'] });
  const versions: number[] = [];
  const runtime = new ControlRuntime({
    config: profile.coordinator!,
    publicKey: profile.publicKey,
    stateDir,
    adapter: 'wtest0',
    listenPort: () => 51820,
    log: createLogger(0, { write: () => true }),
    apply: async (map) => {
      versions.push(map.version);
    },
    revoked: async () => undefined,
    changed: () => undefined,
  });
  return { name, runtime, versions };
}

async function until(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('after a 20 s coordinator outage every helper is back on its stream, with the new map, within 2 s of the return', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'warren-outage-'));
  let c = await startTestCoordinator();
  const port = Number(new URL(c.url).port);
  const helpers: Helper[] = [];
  t.after(async () => {
    for (const h of helpers) h.runtime.stop();
    await c.dispose();
    rmSync(dir, { recursive: true, force: true });
  });
  for (let i = 0; i < HELPERS; i++) helpers.push(await enrolledHelper(c, dir, `h${i}`));
  for (const h of helpers) await h.runtime.start();
  await until('every helper on its stream', () => helpers.every((h) => h.runtime.summary().reachable), 10_000);

  await c.close();
  await until('every helper to notice the outage', () => helpers.every((h) => !h.runtime.summary().reachable), 5_000);
  await new Promise((r) => setTimeout(r, OUTAGE_MS));

  c = await startTestCoordinator({ port, udp: { host: '127.0.0.1', port: 0 } }, c.dataDir);
  const back = Date.now();
  // A change made as the coordinator returns, which gives every helper a new map (its peers):
  // resynced means that map is in force.
  const applied = await c.admin('PUT', '/v1/admin/policy', JSON.stringify(DEVS_POLICY));
  assert.equal(applied.status, 200);
  const latest = (await c.admin<CoordinatorStats>('GET', '/v1/admin/stats')).body.mapVersion;
  const took = new Map<string, number>();
  await until(
    'every helper to resync',
    () => {
      for (const h of helpers) {
        if (!took.has(h.name) && h.runtime.summary().reachable && h.runtime.summary().mapVersion >= latest)
          took.set(h.name, Date.now() - back);
      }
      return took.size === helpers.length;
    },
    20_000,
  ).catch(() => undefined);
  const times = helpers.map((h) => `${h.name} ${took.get(h.name) ?? 'not within 20 s'}`);
  t.diagnostic(`resync after the return (ms): ${times.join(', ')}`);
  for (const h of helpers) {
    const ms = took.get(h.name);
    assert.ok(ms !== undefined && ms <= RESYNC_MS, `${h.name} resynced ${ms ?? 'never'} ms after the return`);
  }
});

test('the redial schedule: first redials under a second, at most 1.5 s while nothing answers, up to 15 s while refused, up to 4 min once revoked or unknown', () => {
  const low = () => 0;
  const high = () => 1;
  // Equal jitter: half the step fixed, half random.
  assert.deepEqual(
    [0, 1, 2, 3].map((a) => [retryDelayMs(a, 'unreachable', low), retryDelayMs(a, 'unreachable', high)]),
    [
      [125, 250],
      [250, 500],
      [500, 1000],
      [750, 1500],
    ],
  );
  for (const a of [4, 10, 1000]) {
    assert.equal(retryDelayMs(a, 'unreachable', high), 1500, `attempt ${a} while unreachable`);
    assert.equal(retryDelayMs(a, 'refused', high), a >= 6 ? 15_000 : 250 * 2 ** a, `attempt ${a} while refused`);
    assert.equal(retryDelayMs(a, 'refused', low), retryDelayMs(a, 'refused', high) / 2);
    assert.equal(
      retryDelayMs(a, 'shut-out', high),
      Math.min(240_000, 250 * 2 ** Math.min(a, 10)),
      `attempt ${a} while shut out`,
    );
  }
});
