// The packet path is optimized by V8's top tier after a few dozen lone packets when node runs
// with the launchers' flags (src-shared/lib/node-flags.ts): at ping rates it otherwise stayed
// in the baseline tier for thousands of packets, most of a ping's round trip
// (docs/architecture.md, "Where a lone packet waits"). Two real devices (fake-io) pass pings one
// at a time, each answered before the next, in a node started with those flags, which then
// reports the optimization status of both paths' onBatch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PACKET_PATH_NODE_FLAGS } from '../../../../src-shared/lib/node-flags.js';
import { runV8Script, TURBOFANNED } from './testing.js';

/** PINGS lone packets each way: the measured tier-up with the flags came after 30 to 60. */
const PINGS = 150;

function script(url: (p: string) => string): string {
  return `
import { pair, udpPacket } from ${url('./testing.js')};
import { OutboundPath } from ${url('./send-path.js')};
import { InboundPath } from ${url('./receive-path.js')};
const turn = () => new Promise((r) => setImmediate(r));
async function waitFor(cond) {
  for (let i = 0; i < 10000 && !cond(); i++) await turn();
  if (!cond()) throw new Error('a ping did not arrive');
}
const { a, b, stop } = pair();
const ping = udpPacket('100.64.0.1', '100.64.0.2', Buffer.alloc(56, 1));
const pong = udpPacket('100.64.0.2', '100.64.0.1', Buffer.alloc(56, 2));
for (let i = 0; i < ${PINGS}; i++) {
  a.tun.inject(ping);
  await waitFor(() => b.tun.written.length === i + 1);
  b.tun.inject(pong);
  await waitFor(() => a.tun.written.length === i + 1);
}
stop();
console.log(JSON.stringify({
  out: %GetOptimizationStatus(OutboundPath.prototype.onBatch),
  in: %GetOptimizationStatus(InboundPath.prototype.onBatch),
}));
`;
}

/** statusAfterPings runs the pings in a node with flags and returns both paths' status bits,
 * read right after the last ping (testing.ts runV8Script: synchronous recompilation). */
function statusAfterPings(flags: readonly string[]): { out: number; in: number } {
  return runV8Script(import.meta.url, flags, script);
}

test(`with the launchers' node flags both packet paths run optimized after ${PINGS} lone pings`, () => {
  const s = statusAfterPings(PACKET_PATH_NODE_FLAGS);
  assert.ok(s.out & TURBOFANNED, `the send path's onBatch is not optimized (status ${s.out.toString(2)})`);
  assert.ok(s.in & TURBOFANNED, `the receive path's onBatch is not optimized (status ${s.in.toString(2)})`);
});
