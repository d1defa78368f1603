import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FLOW_STATE, FlowTable, SHARE_FACTOR, SHARE_FLOOR } from './conntrack.js';

const T = 1_000_000;

// Most tests here name addresses by IPv4 numbers; key lays them out as the filter does (local
// address at 0, remote at 4, four words each, IPv4 mapped).
const KEY = new Uint32Array(8);
function key(local: number, remote: number): Uint32Array {
  KEY.set([0, 0, 0xffff, local >>> 0, 0, 0, 0xffff, remote >>> 0]);
  return KEY;
}
function ins(
  t: FlowTable,
  peer: number,
  local: number,
  remote: number,
  ports: number,
  proto: number,
  state: number,
  now: number,
): number {
  return t.insert(peer, key(local, remote), 0, 4, ports, proto, state, now);
}
function fnd(t: FlowTable, peer: number, local: number, remote: number, ports: number, proto: number): number {
  return t.find(peer, key(local, remote), 0, 4, ports, proto);
}

test('insert, find and remove by the full key', () => {
  const t = new FlowTable(1024);
  const s = ins(t, 3, 1, 2, (10 << 16) | 20, 6, FLOW_STATE.tcpSynSent, T);
  t.expires[s] = T + 1000;
  assert.equal(fnd(t, 3, 1, 2, (10 << 16) | 20, 6), s);
  for (const [peer, local, remote, ports, proto] of [
    [4, 1, 2, (10 << 16) | 20, 6],
    [3, 9, 2, (10 << 16) | 20, 6],
    [3, 1, 9, (10 << 16) | 20, 6],
    [3, 1, 2, (20 << 16) | 10, 6],
    [3, 1, 2, (10 << 16) | 20, 17],
  ]) {
    assert.equal(fnd(t, peer!, local!, remote!, ports!, proto!), -1);
  }
  t.remove(s);
  assert.equal(fnd(t, 3, 1, 2, (10 << 16) | 20, 6), -1);
  assert.equal(t.count, 0);
});

test('many keys stay findable through deletions', () => {
  const t = new FlowTable(4096);
  const k = (i: number): [number, number, number, number, number] => [
    i % 7,
    0x64400001,
    0x64400000 + (i % 97),
    ((i * 7919) & 0xffff) >>> 0,
    6,
  ];
  for (let i = 0; i < 4000; i++) {
    const s = ins(t, ...k(i), FLOW_STATE.udp, T);
    assert.ok(s >= 0);
    t.expires[s] = T + 1e6;
  }
  for (let i = 0; i < 4000; i += 2) t.remove(fnd(t, ...k(i)));
  for (let i = 0; i < 4000; i++) assert.equal(fnd(t, ...k(i)) >= 0, i % 2 === 1, String(i));
  assert.equal(t.count, 2000);
  assert.equal(t.evictions, 0);
});

test('the bound holds and unanswered flows are evicted first', () => {
  const t = new FlowTable(100);
  const kept: number[] = [];
  for (let i = 0; i < 10; i++) {
    const s = ins(t, 0, 1, 2, i, 17, FLOW_STATE.udp, T + i);
    t.expires[s] = T + 1e9;
    t.markReplied(s);
    kept.push(i);
  }
  for (let i = 1000; i < 5000; i++) {
    const s = ins(t, 0, 1, 3, i, 17, FLOW_STATE.udp, T + i);
    assert.ok(s >= 0);
    t.expires[s] = T + 1e9;
    assert.ok(t.count <= 100);
  }
  assert.ok(t.evictions >= 3900);
  for (const i of kept) assert.ok(fnd(t, 0, 1, 2, i, 17) >= 0, `answered flow ${i} kept`);
});

test('expired flows in the way are reclaimed without counting as evictions', () => {
  const t = new FlowTable(4);
  for (let i = 0; i < 4; i++) t.expires[ins(t, 0, 1, 2, i, 17, FLOW_STATE.udp, T)] = T + 10;
  for (let i = 4; i < 8; i++) assert.ok(ins(t, 0, 1, 2, i, 17, FLOW_STATE.udp, T + 10) >= 0);
  assert.ok(t.count <= 4);
  assert.equal(t.evictions, 0);
  assert.throws(() => new FlowTable(0), RangeError);
});

// answered inserts a flow whose responder answered, last seen at `at`.
function answered(t: FlowTable, peer: number, port: number, at: number): number {
  const s = ins(t, peer, 1, 2 + peer, port, 6, FLOW_STATE.tcpEstablished, at);
  assert.ok(s >= 0, `insert peer ${peer} port ${port}`);
  t.expires[s] = at + 1e9;
  t.markReplied(s);
  return s;
}

test('a peer at its share of the table evicts its own flows while the table has room', () => {
  const t = new FlowTable(65536);
  t.setPeers(20);
  const share = Math.max(Math.ceil((65536 / 20) * SHARE_FACTOR), SHARE_FLOOR);
  assert.equal(t.peerShare, share);
  for (let i = 0; i < 100; i++) answered(t, 1, i, T);
  for (let i = 0; i < 20000; i++) answered(t, 3, i, T + 1 + i);
  assert.equal(t.flowsOf(3), share);
  assert.equal(t.evicted[0], 20000 - share, 'peer-share evictions');
  assert.equal(t.evictions, 20000 - share);
  for (let i = 0; i < 100; i++) assert.ok(fnd(t, 1, 1, 3, i, 6) >= 0, `peer 1's flow ${i} kept`);
  assert.equal(t.flowsOf(1), 100);
});

test('in a full table a peer below an even split takes room from the peer holding the most', () => {
  const t = new FlowTable(100);
  t.setPeers(2);
  assert.equal(t.peerShare, 100, 'a share never exceeds the table');
  for (let i = 0; i < 40; i++) answered(t, 0, i, T + i);
  // Peer 1 fills the rest and goes on: once the table is full it evicts its own, never peer 0's
  // older (least recently seen) flows.
  for (let i = 0; i < 1000; i++) answered(t, 1, i, T + 100 + i);
  assert.equal(t.count, 100);
  assert.equal(t.flowsOf(1), 60);
  for (let i = 0; i < 40; i++) assert.ok(fnd(t, 0, 1, 2, i, 6) >= 0, `peer 0's flow ${i} kept`);
  // Peer 0 grows back to an even split at peer 1's expense, then evicts its own.
  for (let i = 40; i < 100; i++) answered(t, 0, i, T + 2000 + i);
  assert.deepEqual([t.flowsOf(0), t.flowsOf(1), t.count], [50, 50, 100]);
  assert.equal(t.evicted[1], 1000, 'table-full evictions');
});

test('the per-peer lists stay consistent through removals, expiries and clear', () => {
  const t = new FlowTable(64);
  t.setPeers(4);
  const slots: number[] = [];
  for (let i = 0; i < 60; i++) slots.push(answered(t, i % 4, i, T + i));
  for (let i = 0; i < 60; i += 3) t.remove(slots[i]!);
  assert.deepEqual(
    [0, 1, 2, 3].map((p) => t.flowsOf(p)),
    [10, 10, 10, 10],
  );
  // Inserts past the bound evict only the inserting peer's flows (each peer holds an even split).
  for (let i = 100; i < 200; i++) answered(t, 2, i, T + i);
  assert.deepEqual(
    [0, 1, 2, 3].map((p) => t.flowsOf(p)),
    [10, 10, 34, 10],
  );
  t.clear();
  assert.deepEqual([t.count, t.flowsOf(2)], [0, 0]);
  for (let i = 0; i < 64; i++) answered(t, 1, i, T);
  assert.equal(t.flowsOf(1), 64);
});

test('addresses of both families are keys of their own: IPv6 by all four words, IPv4 mapped', () => {
  const t = new FlowTable(1024);
  const a = new Uint32Array(16);
  // A flow between fd7a::1 and fd7a::2, and the IPv4 flow 0.0.0.1 ↔ 0.0.0.2 with the same ports.
  a.set([0xfd7a0000, 0, 0, 1, 0xfd7a0000, 0, 0, 2], 0);
  const s6 = t.insert(0, a, 0, 4, (1 << 16) | 2, 6, FLOW_STATE.tcpSynSent, T);
  t.expires[s6] = T + 1000;
  const s4 = ins(t, 0, 1, 2, (1 << 16) | 2, 6, FLOW_STATE.tcpSynSent, T);
  t.expires[s4] = T + 1000;
  assert.notEqual(s4, s6);
  assert.equal(t.find(0, a, 0, 4, (1 << 16) | 2, 6), s6);
  assert.equal(fnd(t, 0, 1, 2, (1 << 16) | 2, 6), s4);
  // The key may sit anywhere in the array (the filter passes a packet's inner addresses too).
  a.copyWithin(8, 0, 8);
  assert.equal(t.find(0, a, 8, 12, (1 << 16) | 2, 6), s6);
  // Any one word different is another flow; so is the address pair the other way round.
  for (let w = 0; w < 8; w++) {
    const b = Uint32Array.from(a.subarray(0, 8));
    b[w]! ^= 0x100;
    assert.equal(t.find(0, b, 0, 4, (1 << 16) | 2, 6), -1, `word ${w}`);
  }
  assert.equal(t.find(0, a, 4, 0, (1 << 16) | 2, 6), -1);
  const both = new Uint32Array(8);
  t.addresses(s6, both, 0);
  assert.deepEqual([...both.subarray(0, 4)], [0xfd7a0000, 0, 0, 1]);
  assert.deepEqual([...both.subarray(4)], [...a.subarray(12, 16)], 'the remote address');
  t.addresses(s4, both, 0);
  assert.deepEqual([...both], [0, 0, 0xffff, 1, 0, 0, 0xffff, 2]);
  assert.equal(t.flowsOf(0), 2, 'one peer holds flows of both families in one count');
});
