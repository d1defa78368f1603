// The relay choice: smoothing of round trips, hysteresis between relays of similar distance,
// failing over from a relay that stopped answering, and who leads a pair.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  chooseRelay,
  jittered,
  leads,
  measuredWay,
  nearest,
  RELAY_PROBE_TIMING,
  RttEstimate,
  SWITCH_MIN_MS,
  type ChoiceRelay,
} from './relay-choice.js';

const r = (srtt: number | null, usable = true): ChoiceRelay => ({ usable, srtt });

test('the round trip is averaged over the first samples, then smoothed: one slow answer moves it by an eighth (RFC 6298)', () => {
  const e = new RttEstimate();
  assert.equal(e.srtt, null);
  e.sample(100);
  assert.equal(e.srtt, 100, 'the first sample is taken as it is');
  for (let i = 0; i < 7; i++) e.sample(20);
  assert.equal(e.srtt, 30, 'a slow first answer (a helper still starting) is one of eight');
  e.sample(20);
  const before = e.srtt;
  e.sample(100);
  assert.equal(e.srtt, before + (100 - before) / 8, 'from the ninth sample on, gain 1/8');
  for (let i = 0; i < 60; i++) e.sample(20);
  assert.ok(Math.abs(e.srtt - 20) < 0.1, `back to 20 after steady samples: ${e.srtt}`);
});

test('a relay is dead after answering and then losing probes in a row; one answer revives it', () => {
  const e = new RttEstimate();
  for (let i = 0; i < 5; i++) e.miss();
  assert.equal(e.dead, false, 'never answered (an older relay without probes): judged by its registration');
  e.sample(10);
  e.miss();
  assert.equal(e.dead, false, 'one lost probe is noise');
  for (let i = 1; i < RELAY_PROBE_TIMING.deadAfterLost; i++) e.miss();
  assert.equal(e.dead, true);
  e.sample(12);
  assert.equal(e.dead, false);
  assert.ok(e.timeoutMs >= RELAY_PROBE_TIMING.timeoutMs);
});

test('the nearest usable relay is chosen; unmeasured ones come after measured ones', () => {
  assert.equal(nearest([r(40), r(10), r(25)]), 1);
  assert.equal(nearest([r(null), r(30)]), 1);
  assert.equal(nearest([r(null), r(null)]), 0, 'map order when nothing is measured');
  assert.equal(nearest([r(5, false), r(30)]), 1, 'a dead relay is never chosen');
  assert.equal(nearest([r(5, false)]), -1);
  assert.equal(chooseRelay([r(40), r(10)], -1), 1);
});

test('hysteresis: relays with close round trips do not trade places', () => {
  // Two relays about 20 ms away whose samples cross each other over and over.
  const a = new RttEstimate();
  const b = new RttEstimate();
  let cur = -1;
  let switches = 0;
  for (let i = 0; i < 200; i++) {
    a.sample(20 + (i % 2 === 0 ? 3 : -3));
    b.sample(20 + (i % 2 === 0 ? -3 : 3) + (i % 7) - 3);
    const next = chooseRelay([r(a.srtt), r(b.srtt)], cur);
    if (cur >= 0 && next !== cur) switches++;
    cur = next;
  }
  assert.equal(switches, 0, 'no flapping');
  // Nor within the minimum gap, even at a large ratio, for very near relays.
  assert.equal(chooseRelay([r(3), r(3 - SWITCH_MIN_MS / 2)], 0), 0);
  assert.equal(chooseRelay([r(20), r(18)], 0), 0, '10 % nearer is not enough');
});

test('a clearly nearer relay takes over; a dead one in use is left at once', () => {
  assert.equal(chooseRelay([r(40), r(10)], 0), 1, 'a quarter of the round trip');
  assert.equal(chooseRelay([r(10, false), r(40)], 0), 1, 'the relay in use stopped answering');
  assert.equal(chooseRelay([r(10, false), r(40, false)], 0), -1, 'none left');
  assert.equal(chooseRelay([r(null), r(40)], 0), 1, 'a measured relay beats an unmeasured one in use');
  assert.equal(chooseRelay([r(40), r(null)], 0), 0, 'an unmeasured one does not replace a measured one');
});

test('failover after the relay in use dies: from the smoothed estimates to the next-nearest', () => {
  const near = new RttEstimate();
  const far = new RttEstimate();
  near.sample(10);
  far.sample(40);
  const view = (): ChoiceRelay[] => [
    { usable: !near.dead, srtt: near.srtt },
    { usable: !far.dead, srtt: far.srtt },
  ];
  let cur = chooseRelay(view(), -1);
  assert.equal(cur, 0);
  near.miss();
  cur = chooseRelay(view(), cur);
  assert.equal(cur, 0, 'still the near one after one lost probe');
  near.miss();
  cur = chooseRelay(view(), cur);
  assert.equal(cur, 1, 'the far one after two');
  near.sample(10);
  cur = chooseRelay(view(), cur);
  assert.equal(cur, 0, 'the near one answers again: a quarter of the round trip, so it is taken back');
});

test('probe intervals are jittered within ±20 %', () => {
  assert.equal(jittered(1000, 0), 800);
  assert.equal(jittered(1000, 0.5), 1000);
  assert.ok(jittered(1000, 0.999999) <= 1200);
});

test('exactly one side of a pair leads', () => {
  const a = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);
  const b = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 9);
  assert.equal(leads(a, b), true);
  assert.equal(leads(b, a), false);
  assert.equal(leads(a, a), false, 'no pair with itself');
});

test('probes measure a relay only while it is reached over UDP: over TCP it is usable and not measured', () => {
  const lost = new RttEstimate();
  lost.sample(12);
  for (let i = 0; i < RELAY_PROBE_TIMING.deadAfterLost; i++) lost.miss();
  assert.ok(lost.dead);
  assert.deepEqual(
    measuredWay('udp', lost),
    { usable: false, srtt: 12 },
    'over UDP, a relay whose probes stopped is not used',
  );
  assert.deepEqual(
    measuredWay('tcp', lost),
    { usable: true, srtt: null },
    'over TCP (UDP blocked since it answered), the lost probes say nothing about the way packets take',
  );
  assert.deepEqual(measuredWay('tcp', null), { usable: true, srtt: null }, 'a TCP-only relay is never probed');
  assert.deepEqual(measuredWay(null, lost), { usable: false, srtt: 12 }, 'not registered: not usable');
  const live = new RttEstimate();
  live.sample(30);
  assert.deepEqual(measuredWay('udp', live), { usable: true, srtt: 30 });
  assert.deepEqual(measuredWay('udp', new RttEstimate()), { usable: true, srtt: null }, 'before the first answer');
});
