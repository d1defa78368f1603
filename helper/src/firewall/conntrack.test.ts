import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FLOW_FLAG, FLOW_STATE, FlowTable } from './conntrack.js';

const T = 1_000_000;

test('insert, find and remove by the full key', () => {
  const t = new FlowTable(1024);
  const s = t.insert(3, 1, 2, (10 << 16) | 20, 6, FLOW_STATE.tcpSynSent, T);
  t.expires[s] = T + 1000;
  assert.equal(t.find(3, 1, 2, (10 << 16) | 20, 6), s);
  for (const [peer, local, remote, ports, proto] of [
    [4, 1, 2, (10 << 16) | 20, 6],
    [3, 9, 2, (10 << 16) | 20, 6],
    [3, 1, 9, (10 << 16) | 20, 6],
    [3, 1, 2, (20 << 16) | 10, 6],
    [3, 1, 2, (10 << 16) | 20, 17],
  ]) {
    assert.equal(t.find(peer!, local!, remote!, ports!, proto!), -1);
  }
  t.remove(s);
  assert.equal(t.find(3, 1, 2, (10 << 16) | 20, 6), -1);
  assert.equal(t.count, 0);
});

test('many keys stay findable through deletions', () => {
  const t = new FlowTable(4096);
  const key = (i: number): [number, number, number, number, number] => [
    i % 7,
    0x64400001,
    0x64400000 + (i % 97),
    ((i * 7919) & 0xffff) >>> 0,
    6,
  ];
  for (let i = 0; i < 4000; i++) {
    const s = t.insert(...key(i), FLOW_STATE.udp, T);
    assert.ok(s >= 0);
    t.expires[s] = T + 1e6;
  }
  for (let i = 0; i < 4000; i += 2) t.remove(t.find(...key(i)));
  for (let i = 0; i < 4000; i++) assert.equal(t.find(...key(i)) >= 0, i % 2 === 1, String(i));
  assert.equal(t.count, 2000);
  assert.equal(t.evictions, 0);
});

test('the bound holds and unanswered flows are evicted first', () => {
  const t = new FlowTable(100);
  const kept: number[] = [];
  for (let i = 0; i < 10; i++) {
    const s = t.insert(0, 1, 2, i, 17, FLOW_STATE.udp, T + i);
    t.expires[s] = T + 1e9;
    t.flags[s] = FLOW_FLAG.replied;
    kept.push(i);
  }
  for (let i = 1000; i < 5000; i++) {
    const s = t.insert(0, 1, 3, i, 17, FLOW_STATE.udp, T + i);
    assert.ok(s >= 0);
    t.expires[s] = T + 1e9;
    assert.ok(t.count <= 100);
  }
  assert.ok(t.evictions >= 3900);
  for (const i of kept) assert.ok(t.find(0, 1, 2, i, 17) >= 0, `answered flow ${i} kept`);
});

test('expired flows in the way are reclaimed without counting as evictions', () => {
  const t = new FlowTable(4);
  for (let i = 0; i < 4; i++) t.expires[t.insert(0, 1, 2, i, 17, FLOW_STATE.udp, T)] = T + 10;
  for (let i = 4; i < 8; i++) assert.ok(t.insert(0, 1, 2, i, 17, FLOW_STATE.udp, T + 10) >= 0);
  assert.ok(t.count <= 4);
  assert.throws(() => new FlowTable(0), RangeError);
});
