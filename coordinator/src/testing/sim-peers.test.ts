// The simulated agents' shared peers (sim-peers.ts): agents that see the same peers hold one
// list, their maps' texts are still each map byte for byte, deltas applied to a shared map
// give the coordinator's map (its digest checked) without changing another agent's, and a
// wrong digest is still refused.
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { CONTROL_PROTOCOL, type MapPeer, type NetworkMap } from '../../../src-shared/wire/control.js';
import type { MapDelta } from '../../../src-shared/wire/map-delta.js';
import { applyMapDelta, canonicalMapText } from '../../../src-shared/lib/netmap/delta-apply.js';
import { DeltaRefused } from '../../../src-shared/lib/netmap/delta-parse.js';
import { sampleMap } from '../../../src-shared/lib/netmap/testing.js';
import { PeerTable, sharedDeltaMap, sharedFullMap, type SharedMap } from './sim-peers.js';

type Obj = Record<string, unknown>;

function peer(identity: string, n: number, online = true): MapPeer {
  return {
    identity,
    name: `p${n}`,
    publicKey: `key${n}`.padEnd(44, 'A'),
    virtualAddress: `100.64.0.${n}`,
    endpoints: [`192.0.2.${n}:51820`],
    tags: ['srv'],
    dnsNames: [`p${n}`],
    providesRoutes: [],
    online,
  };
}

const P = [peer('AAAAA', 2), peer('BBBBB', 3), peer('CCCCC', 4)];

function map(systemId: string, version: number, peers: MapPeer[], port = 22): NetworkMap {
  return sampleMap({
    systemId,
    version,
    peers,
    policies: [{ name: 'ssh', from: ['AAAAA'], to: [systemId], rules: [{ protocol: 'tcp', from: port, to: port }] }],
  } as unknown as Partial<NetworkMap>);
}

/** received is what an agent holds after being given m whole: its text parsed, then shared. */
function received(table: PeerTable, m: NetworkMap): SharedMap {
  const text = JSON.stringify(m);
  const shared = sharedFullMap(table, JSON.parse(text) as Obj, text);
  assert.ok(shared !== null, 'a canonical map is shared');
  return shared;
}

/** deltaBetween is the delta a coordinator sends from `from` to `to` (map-delta.ts). */
function deltaBetween(from: NetworkMap, to: NetworkMap, set: MapDelta['set'] = {}): MapDelta {
  const text = JSON.stringify(to);
  const head = `{"protocol":${CONTROL_PROTOCOL},"version":${to.version},"generatedAt":${to.generatedAt},`;
  const old = new Map(from.peers.map((p) => [p.identity, JSON.stringify(p)]));
  return {
    protocol: CONTROL_PROTOCOL,
    systemId: to.systemId,
    baseVersion: from.version,
    version: to.version,
    generatedAt: to.generatedAt,
    digest: createHash('sha256').update(text.slice(head.length)).digest('hex'),
    peers: to.peers.filter((p) => old.get(p.identity) !== JSON.stringify(p)),
    removed: from.peers.filter((p) => !to.peers.some((q) => q.identity === p.identity)).map((p) => p.identity),
    set,
  };
}

test('agents given maps with the same peers hold one list, and each text is its map byte for byte', () => {
  const table = new PeerTable();
  const a = received(table, map('sys1', 5, [P[0]!, P[1]!]));
  const b = received(table, map('sys2', 5, [P[0]!, P[1]!]));
  const c = received(table, map('sys3', 5, [P[0]!, P[2]!]));
  assert.equal(a.held.raw.peers, b.held.raw.peers, 'the same peers are one list');
  assert.notEqual(a.held.raw.peers, c.held.raw.peers);
  assert.equal((a.held.raw.peers as Obj[])[0], (c.held.raw.peers as Obj[])[0], 'the same peer is one object');
  assert.equal(a.text, JSON.stringify(map('sys1', 5, [P[0]!, P[1]!])));
  assert.equal(c.text, JSON.stringify(map('sys3', 5, [P[0]!, P[2]!])));
  // The prefix's hash state is over its own text, which the digest goes on from.
  const prefix = a.held.prefix!;
  assert.equal(prefix.bytes, Buffer.byteLength(prefix.text));
  assert.equal(prefix.hash.copy().digest('hex'), createHash('sha256').update(prefix.text).digest('hex'));
});

test('a text that is not its decoded map written canonically is not shared', () => {
  const table = new PeerTable();
  const m = map('sys1', 5, [P[0]!]);
  const spaced = JSON.stringify(m, null, 1);
  assert.equal(sharedFullMap(table, JSON.parse(spaced) as Obj, spaced), null);
  // A second "version" in the middle decodes over the first: the text is not raw's.
  const twice = JSON.stringify(m).replace('"systemId"', '"version":9,"systemId"');
  assert.equal(sharedFullMap(table, JSON.parse(twice) as Obj, twice), null);
  const noPolicies = JSON.stringify({ ...m, policies: undefined, routes: {} });
  assert.equal(sharedFullMap(table, JSON.parse(noPolicies) as Obj, noPolicies), null);
});

test('a policy delta on a shared map keeps the shared list and gives the new map byte for byte', () => {
  const table = new PeerTable();
  const from = map('sys1', 5, [P[0]!, P[1]!]);
  const a = received(table, from);
  const to = map('sys1', 6, [P[0]!, P[1]!], 443);
  const made = applyMapDelta(a.held, deltaBetween(from, to, { policies: to.policies }));
  assert.equal(made.prefix, a.held.prefix, 'the prefix is kept, no peer written again');
  assert.equal(made.raw.peers, a.held.raw.peers);
  assert.equal(made.text, JSON.stringify(to));
});

test('a delta that changes a peer is re-shared, and leaves the other agents maps as they were', () => {
  const table = new PeerTable();
  const fromA = map('sys1', 5, [P[0]!, P[1]!]);
  const fromB = map('sys2', 5, [P[0]!, P[1]!]);
  const a = received(table, fromA);
  const b = received(table, fromB);
  const toA = map('sys1', 7, [P[0]!, { ...P[1]!, online: false }, P[2]!]);
  const madeA = applyMapDelta(a.held, deltaBetween(fromA, toA));
  const nextA = sharedDeltaMap(table, madeA, 7)!;
  assert.equal(nextA.text, JSON.stringify(toA));
  assert.equal(
    nextA.held.prefix!.hash.copy().digest('hex'),
    createHash('sha256').update(nextA.held.prefix!.text).digest('hex'),
  );
  assert.equal(b.text, JSON.stringify(fromB), "the other agent's map is unchanged");
  assert.equal(canonicalMapText(b.held.raw), JSON.stringify(fromB));
  // The second agent given the same change comes to the first one's list.
  const toB = map('sys2', 7, toA.peers);
  const nextB = sharedDeltaMap(table, applyMapDelta(b.held, deltaBetween(fromB, toB)), 7)!;
  assert.equal(nextB.held.raw.peers, nextA.held.raw.peers);
  assert.equal(nextB.text, JSON.stringify(toB));
  // And a policy delta after that still hashes from the re-shared prefix.
  const later = map('sys2', 8, toB.peers, 443);
  const made = applyMapDelta(nextB.held, deltaBetween(toB, later, { policies: later.policies }));
  assert.equal(made.text, JSON.stringify(later));
});

test('a delta whose result misses its digest is refused on a shared map', () => {
  const table = new PeerTable();
  const from = map('sys1', 5, [P[0]!]);
  const a = received(table, from);
  const to = map('sys1', 6, [P[0]!], 443);
  const wrong = { ...deltaBetween(from, to, { policies: to.policies }), digest: 'ab'.repeat(32) };
  assert.throws(
    () => applyMapDelta(a.held, wrong),
    (e: unknown) => e instanceof DeltaRefused && e.needFull && /does not match its digest/.test(e.message),
  );
  const changed = { ...deltaBetween(from, to), peers: [{ ...P[0]!, online: false }] };
  assert.throws(() => applyMapDelta(a.held, changed), /does not match its digest/);
});

test('a list an agent holds is still the one shared after a collection', async () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const table = new PeerTable();
  const held = received(table, map('sys1', 5, [P[0]!, P[1]!])).held.raw.peers;
  // A WeakRef's target lives at least to the end of the job that made it.
  await new Promise((r) => setImmediate(r));
  gc();
  assert.equal(received(table, map('sys2', 5, [P[0]!, P[1]!])).held.raw.peers, held);
});
