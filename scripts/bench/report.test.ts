import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Measurement } from './measure.js';
import { ratioLines, ratios } from './report.js';

const m = (throughputMbps: number, rttP50Ms: number, rttP99Ms: number): Measurement => ({
  throughputMbps,
  retransmits: 0,
  throughputP4Mbps: null,
  rttAvgMs: rttP50Ms,
  rttP50Ms,
  rttP99Ms,
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
