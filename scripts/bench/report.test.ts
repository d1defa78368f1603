import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SETTLE_PINGS, settledP99, type Measurement } from './measure.js';
import { ratioLines, ratios } from './report.js';

const m = (throughputMbps: number, rttP50Ms: number, rttP99Ms: number): Measurement => ({
  throughputMbps,
  retransmits: 0,
  throughputP4Mbps: null,
  rttAvgMs: rttP50Ms,
  rttP50Ms,
  rttP99Ms,
  rttP99SettledMs: null,
  pingLossPct: 0,
  cpuSeconds: null,
  peakRssKiB: null,
  rounds: 3,
  throughputRangeMbps: { min: throughputMbps, max: throughputMbps },
});

test("the bench judges the speed issue's targets: 3x wireguard-go, a quarter of the veth, RTT p50 and p99 within 1.1x", () => {
  const met = ratios({ warren: m(3000, 0.3, 0.5), 'wg-go': m(900, 0.3, 0.5) }, m(10_000, 0.05, 0.06));
  assert.ok(met);
  assert.equal(met.throughputMet, true);
  assert.equal(met.ofVeth, 0.3);
  assert.equal(met.rttMet, true);
  assert.doesNotMatch(ratioLines(met), /MISSED/);

  const slow = ratios({ warren: m(2000, 0.3, 0.5), 'wg-go': m(900, 0.3, 0.5) }, m(10_000, 0.05, 0.06))!;
  assert.equal(slow.throughputMet, false, '2.2x is under 3x');
  assert.match(ratioLines(slow), /throughput warren\/veth: {2}20\.0% \(target >= 25%: MISSED\)/);

  const p99 = ratios({ warren: m(3000, 0.3, 0.6), 'wg-go': m(900, 0.3, 0.5) })!;
  assert.equal(p99.rttMet, false, 'a p99 1.2x over misses even with p50 equal');
  assert.equal(p99.ofVeth, null, 'no veth measured, no share');
  assert.doesNotMatch(ratioLines(p99), /veth/);
});

test('the settled p99 leaves out the first second of pings, and is only reported beside the judged p99', () => {
  // 1,000 pings of 0.2 ms, the first second's twelve of them slow as a fresh helper's are.
  const rtts = Array.from({ length: 1000 }, (_, i) => (i < SETTLE_PINGS && i % 8 === 0 ? 4 : 0.2));
  assert.equal(settledP99(rtts), 0.2);
  assert.equal(settledP99(rtts.slice(0, 2 * SETTLE_PINGS - 1)), null, 'too few pings to settle');
  // A slow ping after the first second counts.
  rtts.fill(4, 500, 520);
  assert.equal(settledP99(rtts), 4);

  const w = { ...m(3000, 0.2, 0.9), rttP99SettledMs: 0.45 };
  const g = { ...m(900, 0.3, 0.5), rttP99SettledMs: 0.5 };
  const r = ratios({ warren: w, 'wg-go': g })!;
  assert.equal(r.rttP99Settled, 0.9);
  assert.equal(r.rttMet, false, 'judged on every ping: 1.8x');
  assert.match(ratioLines(r), /p99 1\.80x \(target <= 1\.1x each: MISSED\).*; p99 after the first second 0\.90x$/m);
  assert.doesNotMatch(ratioLines(ratios({ warren: m(3000, 0.2, 0.9), 'wg-go': g })!), /after the first second/);
});
