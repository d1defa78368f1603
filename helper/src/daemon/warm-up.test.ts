// The packet path's warm-up: two devices of the helper's own classes pass lone packets to each
// other in memory (real native readers over descriptor pairs, the real adapter code, firewall,
// AEAD and path bind), then everything they opened is closed again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PACKET_PATH_NODE_FLAGS } from '../../../src-shared/lib/node-flags.js';
import { WARM_UP_ROUND_TRIPS, lastWarmUp, warmUpEnabled, warmUpPacketPath } from './warm-up.js';

/** TURBOFANNED is V8's OptimizationStatus bit for TurboFan code (runtime-test.cc). */
const TURBOFANNED = 1 << 6;

const openFds = (): number => readdirSync('/proc/self/fd').length;

test('the warm-up completes the round trips asked for and closes every descriptor it opened', async () => {
  const before = openFds();
  const w = await warmUpPacketPath(1420, { roundTrips: 200, budgetMs: 30_000 });
  assert.equal(w.roundTrips, 200);
  assert.ok(w.ms >= 0 && w.ms < 10_000, `took ${w.ms} ms`);
  assert.deepEqual(lastWarmUp(), w);
  assert.equal(openFds(), before, 'descriptors left open after the warm-up');
});

test('the warm-up stops at its time budget however many round trips are asked for', async () => {
  const w = await warmUpPacketPath(1420, { roundTrips: 10_000_000, budgetMs: 50 });
  assert.ok(w.roundTrips < 10_000_000);
  assert.ok(w.ms < 2_000, `the 50 ms budget took ${w.ms} ms`);
});

test('the warm-up carries packets at the smallest and the largest MTU a profile allows (576, 65535)', async () => {
  for (const mtu of [576, 65535]) {
    const w = await warmUpPacketPath(mtu, { roundTrips: 20, budgetMs: 30_000 });
    assert.equal(w.roundTrips, 20, `MTU ${mtu}`);
  }
});

test('WARREN_WARM_UP is on by default, off when asked, and a typo is refused', () => {
  assert.equal(warmUpEnabled({}), true);
  assert.equal(warmUpEnabled({ WARREN_WARM_UP: 'off' }), false);
  assert.equal(warmUpEnabled({ WARREN_WARM_UP: 'on' }), true);
  assert.throws(() => warmUpEnabled({ WARREN_WARM_UP: 'of' }), /WARREN_WARM_UP="of": expected 'on' or 'off'/);
});

// statusAfter runs a node with the launchers' flags that warms up (or not) and reports the
// optimization status of both paths' onBatch. Recompilation is synchronous, so a compile still
// running on V8's background thread cannot read as not optimized.
function statusAfter(warm: boolean): { out: number; in: number } {
  const url = (p: string): string => JSON.stringify(new URL(p, import.meta.url).href);
  const dir = mkdtempSync(join(tmpdir(), 'warren-warm-up-'));
  try {
    const file = join(dir, 'warm.mjs');
    writeFileSync(
      file,
      `
import { warmUpPacketPath } from ${url('./warm-up.js')};
import { OutboundPath } from ${url('../wireguard/device/send-path.js')};
import { InboundPath } from ${url('../wireguard/device/receive-path.js')};
// The whole default count, however busy the machine: what is checked is that it suffices.
if (${warm}) await warmUpPacketPath(1420, { budgetMs: 60_000 });
console.log(JSON.stringify({
  out: %GetOptimizationStatus(OutboundPath.prototype.onBatch),
  in: %GetOptimizationStatus(InboundPath.prototype.onBatch),
}));
`,
    );
    const flags = [...PACKET_PATH_NODE_FLAGS, '--allow-natives-syntax', '--no-concurrent-recompilation'];
    const r = spawnSync(process.execPath, [...flags, file], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, `the warm-up script failed: ${r.stderr}`);
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as { out: number; in: number };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test(`after the warm-up (${WARM_UP_ROUND_TRIPS} round trips) both packet paths are optimized before any traffic; without it neither is`, () => {
  const warm = statusAfter(true);
  assert.ok(warm.out & TURBOFANNED, `the send path's onBatch is not optimized (status ${warm.out.toString(2)})`);
  assert.ok(warm.in & TURBOFANNED, `the receive path's onBatch is not optimized (status ${warm.in.toString(2)})`);
  const cold = statusAfter(false);
  assert.equal(cold.out & TURBOFANNED, 0, 'the send path was optimized without any packet');
  assert.equal(cold.in & TURBOFANNED, 0, 'the receive path was optimized without any packet');
});
