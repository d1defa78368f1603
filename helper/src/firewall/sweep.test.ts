import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FLOW_STATE, FlowTable } from './conntrack.js';
import { liveFlows, sweepFlows } from './sweep.js';

const T = 1_000_000;
const KEY = new Uint32Array(8);

// insert adds an IPv4 UDP flow of peer from local to remote port `port`, expiring at `expires`.
function insert(t: FlowTable, peer: number, port: number, expires: number): number {
  KEY.set([0, 0, 0xffff, 0x64400001, 0, 0, 0xffff, 0x64400002 + peer]);
  const s = t.insert(peer, KEY, 0, 4, (port << 16) | 53, 17, FLOW_STATE.udp, T);
  assert.ok(s >= 0);
  t.expires[s] = expires;
  return s;
}

// occupied is every slot a full scan finds holding a flow: what the walk must match.
function occupied(t: FlowTable): number[] {
  const out: number[] = [];
  for (let s = 0; s < t.capacity; s++) if (t.state[s]! >= 2) out.push(s);
  return out;
}

test('liveFlows finds exactly the slots a full scan finds, across peers, lists and removals', () => {
  const t = new FlowTable(4096);
  t.setPeers(7);
  const slots: number[] = [];
  for (let i = 0; i < 600; i++) slots.push(insert(t, i % 7, 1000 + i, T + 1000));
  for (let i = 0; i < slots.length; i += 3) t.markReplied(slots[i]!); // some on the answered lists
  for (let i = 0; i < slots.length; i += 5) t.remove(slots[i]!);
  const out = new Int32Array(t.maxFlows);
  const n = liveFlows(t, out);
  assert.equal(n, t.count);
  assert.deepEqual(
    [...out.subarray(0, n)].sort((a, b) => a - b),
    occupied(t),
  );
  assert.equal(liveFlows(new FlowTable(4096), out), 0, 'an empty table has nothing to walk');
  assert.equal(liveFlows(t, new Int32Array(10)), 10, 'it never writes past the scratch');
});

test('sweepFlows removes the expired and the revoked flows and keeps the rest', () => {
  const t = new FlowTable(4096);
  t.setPeers(3);
  const expired = [insert(t, 0, 1, T - 1), insert(t, 2, 2, T)];
  const revoked = insert(t, 1, 3, T + 5000);
  const kept = [insert(t, 0, 4, T + 5000), insert(t, 2, 5, T + 1)];
  const removed = sweepFlows(t, new Int32Array(t.maxFlows), T, (s) => s === revoked);
  assert.equal(removed, 3);
  for (const s of [...expired, revoked]) assert.ok(t.state[s]! < 2, `slot ${s} removed`);
  assert.deepEqual(
    occupied(t),
    [...kept].sort((a, b) => a - b),
  );
  assert.equal(t.count, 2);
});
