// Deltas on the watch stream of a real coordinator (map-delta.ts): an agent that asks for them
// gets peers joining and policy edits as `delta` events and, applying them, holds the same map
// GET map gives; an agent that does not ask (an older helper) gets full `map` events only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CreatedKey } from '../api/admin-types.js';
import { SimAgent } from '../testing/agent-sim.js';
import { SimMap } from '../testing/sim-map.js';
import { startTestCoordinator } from '../testing/testing.js';

function policy(port: number): string {
  return JSON.stringify({
    Tags: ['dev'],
    Policies: [
      { Name: 'devs', Senders: ['tag:dev'], Receivers: ['tag:dev'], Acls: [{ Protocol: 'tcp', Ports: String(port) }] },
    ],
  });
}

async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('a watcher that asks for deltas gets them and holds what GET map gives; one that does not gets full maps', async (t) => {
  const c = await startTestCoordinator();
  const closers: (() => void)[] = [];
  t.after(async () => {
    for (const close of closers) close();
    await c.dispose();
  });
  assert.equal((await c.admin('PUT', '/v1/admin/policy', policy(22))).status, 200);
  const k = await c.admin<CreatedKey>('POST', '/v1/admin/keys', {
    tags: ['dev'],
    approval: 'automatic',
    uses: 10,
    expiresInMs: 3_600_000,
    ephemeral: false,
  });
  const modern = new SimAgent(c.url);
  const old = new SimAgent(c.url);
  await modern.enrol(k.body.key, 'modern');
  await old.enrol(k.body.key, 'old');
  const held = new SimMap(modern);
  const events: { modern: string[]; old: string[] } = { modern: [], old: [] };
  const oldMap = new SimMap(old);
  const h1 = await modern.watch(
    (event, data) => {
      events.modern.push(event);
      held.take(event, data, true);
    },
    undefined,
    { deltas: true },
  );
  const h2 = await old.watch((event, data) => {
    events.old.push(event);
    oldMap.take(event, data, true);
  });
  closers.push(h1.close, h2.close);
  await until('both hold a map', () => held.version > 0 && oldMap.version > 0);

  // A policy change first, then a join: the simulated agent holds a full map's peers as text
  // (sim-map.ts) and must read them back for the first delta that changes them.
  assert.equal((await c.admin('PUT', '/v1/admin/policy', policy(80))).status, 200);
  await until('the first policy in the modern map', () => held.text.includes('"from":80'));
  const joiner = new SimAgent(c.url);
  assert.equal(held.lists(old.identity), true, 'the peer list held as text lists the old agent');
  await joiner.enrol(k.body.key, 'joiner');
  await until('the joiner in the modern map', () => held.text.includes('"name":"joiner"'));
  assert.equal(held.lists(joiner.identity), true, 'the peer list held as text lists the joiner');
  assert.equal(held.lists(modern.identity), false, 'a map does not list its own system as a peer');
  assert.equal((await c.admin('PUT', '/v1/admin/policy', policy(443))).status, 200);
  await until('the new policy in the modern map', () => held.text.includes('"from":443'));
  await until('the new policy in the old map', () => oldMap.text.includes('"from":443'));

  assert.ok(events.modern.filter((e) => e === 'delta').length >= 3, `modern got ${events.modern.join(',')}`);
  assert.equal(held.refused, 0);
  assert.deepEqual([...new Set(events.old.filter((e) => e !== 'ping'))], ['map'], `old got ${events.old.join(',')}`);
  const r = await modern.signed('GET', '/v1/agent/map');
  const full = Buffer.from((JSON.parse(r.body.toString()) as { payload: string }).payload, 'base64').toString();
  assert.equal(held.text, full, 'the map deltas made is the full map, byte for byte');
});
