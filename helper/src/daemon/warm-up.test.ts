// The packet path's warm-up: two devices of the helper's own classes pass lone packets to each
// other in memory (real native readers over descriptor pairs, the real adapter code, firewall,
// AEAD and path bind), then everything they opened is closed again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { PACKET_PATH_NODE_FLAGS } from '../../../src-shared/lib/node-flags.js';
import { runV8Script, TURBOFANNED } from '../wireguard/device/testing.js';
import { WARM_UP_ROUND_TRIPS, lastWarmUp, warmUpEnabled, warmUpPacketPath } from './warm-up.js';

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

// statusAfter warms up (or not) and reports the optimization status of both paths' onBatch.
function statusAfter(warm: boolean): { out: number; in: number } {
  return runV8Script(
    import.meta.url,
    PACKET_PATH_NODE_FLAGS,
    (url) => `
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
}

test(`after the warm-up (${WARM_UP_ROUND_TRIPS} round trips) both packet paths are optimized before any traffic; without it neither is`, () => {
  const warm = statusAfter(true);
  assert.ok(warm.out & TURBOFANNED, `the send path's onBatch is not optimized (status ${warm.out.toString(2)})`);
  assert.ok(warm.in & TURBOFANNED, `the receive path's onBatch is not optimized (status ${warm.in.toString(2)})`);
  const cold = statusAfter(false);
  assert.equal(cold.out & TURBOFANNED, 0, 'the send path was optimized without any packet');
  assert.equal(cold.in & TURBOFANNED, 0, 'the receive path was optimized without any packet');
});

// The code the warm-up optimized checks the hidden classes (maps) of the objects it met. A field
// of a device object that first takes a value of another kind later (a double where a small
// integer was, an object in an array that was empty) gives every object of that class a new
// map, and the optimized code is thrown away at the next packet: with the real device, at its
// first packets or its first timer tick. So a device made after the warm-up must keep the maps
// it was born with through traffic and its timers: compared here with a twin made at the same
// time that never carried a packet or ticked.
test("a device made after the warm-up keeps its objects' hidden classes through its traffic and timer ticks", () => {
  const same = runV8Script<Record<string, boolean>>(
    import.meta.url,
    PACKET_PATH_NODE_FLAGS,
    (url) => `
import { warmUpPacketPath } from ${url('./warm-up.js')};
import { pair, udpPacket } from ${url('../wireguard/device/testing.js')};
const turn = () => new Promise((r) => setImmediate(r));
async function waitFor(cond) {
  for (let i = 0; i < 10000 && !cond(); i++) await turn();
  if (!cond()) throw new Error('a ping did not arrive');
}
await warmUpPacketPath(1420, { budgetMs: 60_000 });
const twin = pair();
twin.stop(); // before its first tick: it never sweeps, sends or receives
const used = pair();
used.advance(1500.25); // the clock a helper reads (CLOCK_BOOTTIME) gives fractional milliseconds
const ping = udpPacket('100.64.0.1', '100.64.0.2', Buffer.alloc(56, 1));
const pong = udpPacket('100.64.0.2', '100.64.0.1', Buffer.alloc(56, 2));
for (let i = 0; i < 20; i++) {
  used.a.tun.inject(ping);
  await waitFor(() => used.b.tun.written.length === i + 1);
  used.b.tun.inject(pong);
  await waitFor(() => used.a.tun.written.length === i + 1);
}
await new Promise((r) => setTimeout(r, 350)); // three ticks (every 100 ms), the first one sweeps
used.stop();
const peer = (p) => [...p.a.dev.peersByKey.values()][0];
const objects = (p) => ({
  device: p.a.dev,
  inbound: p.a.dev.inbound,
  outbound: p.a.dev.outbound,
  'outbound.touched': p.a.dev.outbound.touched,
  handshakes: p.a.dev.handshakes,
  limits: p.a.dev.limits,
  peer: peer(p),
  'peer.noise': peer(p).noise,
});
const [u, t] = [objects(used), objects(twin)];
console.log(JSON.stringify(Object.fromEntries(Object.keys(u).map((k) => [k, %HaveSameMap(u[k], t[k])]))));
`,
  );
  const changed = Object.keys(same).filter((k) => !same[k]);
  assert.equal(Object.keys(same).length, 8);
  assert.deepEqual(changed, [], `objects whose hidden class changed after traffic and ticks: ${changed.join(', ')}`);
});
