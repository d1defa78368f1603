// Map deltas on the helper's side (delta-parse.ts, delta-apply.ts): signature with the pinned
// key and the delta context, recipient, base version, the digest of the result, the bounds of
// the parser, and the stored form that is verified again on load.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import nacl from 'tweetnacl';
import {
  CONTROL_PROTOCOL,
  MAP_SIGNATURE_CONTEXT,
  type MapPeer,
  type NetworkMap,
  type SignedMap,
} from '../../wire/control.js';
import { MAP_DELTA_SIGNATURE_CONTEXT, type MapDelta } from '../../wire/map-delta.js';
import { formatKey, generatePrivateKey, publicKeyFromPrivate } from '../keys.js';
import { canonicalMapText, openHeldMap, takeSignedDelta, type HeldMap } from './delta-apply.js';
import { DeltaRefused, parseMapDelta } from './delta-parse.js';
import { MAP_LIMITS } from './map-parse.js';
import { sampleMap } from './testing.js';

const coord = nacl.sign.keyPair();
const pinned = Buffer.from(coord.publicKey);

function peer(identity: string, n: number): MapPeer {
  return {
    identity,
    name: `p${n}`,
    publicKey: formatKey(publicKeyFromPrivate(generatePrivateKey())),
    virtualAddress: `100.64.0.${n}`,
    endpoints: [`192.0.2.${n}:51820`],
    tags: [],
    dnsNames: [`p${n}`],
    providesRoutes: [],
    online: true,
  };
}

const P = [peer('AAAAA', 2), peer('BBBBB', 3), peer('CCCCC', 4)];

function map(version: number, peers: MapPeer[]): NetworkMap {
  return sampleMap({ version, peers, routeGrants: {} });
}

function signWith(context: string, body: unknown, key = coord.secretKey): SignedMap {
  const payload = Buffer.from(JSON.stringify(body));
  const sig = nacl.sign.detached(Buffer.concat([Buffer.from(context), payload]), key);
  return { payload: payload.toString('base64'), signature: Buffer.from(sig).toString('base64') };
}

/** deltaBetween makes the delta a coordinator would send from `from` to `to`. */
function deltaBetween(from: NetworkMap, to: NetworkMap, over: Partial<MapDelta> = {}): MapDelta {
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
    set: {},
    ...over,
  };
}

function held(m: NetworkMap): HeldMap {
  return openHeldMap(signWith(MAP_SIGNATURE_CONTEXT, m), pinned, 'sys1', 0).held;
}

test('a delta adds, changes and removes peers, and the result is the full map byte for byte', () => {
  const from = map(7, [P[0]!, P[1]!]);
  const to = map(9, [{ ...P[1]!, online: false }, P[2]!]);
  const d = deltaBetween(from, to);
  assert.deepEqual(d.removed, ['AAAAA']);
  assert.equal(d.peers.length, 2);
  const taken = takeSignedDelta(signWith(MAP_DELTA_SIGNATURE_CONTEXT, d), pinned, 'sys1', held(from))!;
  assert.equal(canonicalMapText(taken.held.raw), JSON.stringify(to));
  assert.deepEqual(
    taken.map.peers.map((p) => [p.identity, p.online]),
    [
      ['BBBBB', false],
      ['CCCCC', true],
    ],
  );
  // What is stored verifies on load: the signed delta's digest covers the stored text.
  const reopened = openHeldMap(taken.stored, pinned, 'sys1', 0);
  assert.equal(reopened.map.version, 9);
  const tampered = {
    ...taken.stored,
    payload: Buffer.from(JSON.stringify({ ...to, dnsZone: 'evil.internal' })).toString('base64'),
  };
  assert.throws(() => openHeldMap(tampered, pinned, 'sys1', 0), /does not match the digest/);
});

test('a delta with a tampered signature, or signed as a map, or for another system, is refused outright', () => {
  const from = map(7, [P[0]!]);
  const d = deltaBetween(from, map(8, [P[0]!, P[1]!]));
  const good = signWith(MAP_DELTA_SIGNATURE_CONTEXT, d);
  const flipped = Buffer.from(good.payload, 'base64');
  flipped[flipped.length - 2]! ^= 1;
  const cases: [string, SignedMap, string][] = [
    ['payload changed', { ...good, payload: flipped.toString('base64') }, 'sys1'],
    ['signed by another key', signWith(MAP_DELTA_SIGNATURE_CONTEXT, d, nacl.sign.keyPair().secretKey), 'sys1'],
    ['signed under the map context', signWith(MAP_SIGNATURE_CONTEXT, d), 'sys1'],
    ['for another system', good, 'sys2'],
  ];
  for (const [what, signed, systemId] of cases) {
    assert.throws(
      () => takeSignedDelta(signed, pinned, systemId, held(from)),
      (e: unknown) => e instanceof DeltaRefused && !e.needFull,
      what,
    );
  }
});

test('a delta against another version, or whose result misses its digest, asks for the full map', () => {
  const from = map(7, [P[0]!]);
  const to = map(8, [P[0]!, P[1]!]);
  const other = deltaBetween({ ...from, version: 6 }, to);
  assert.throws(
    () => takeSignedDelta(signWith(MAP_DELTA_SIGNATURE_CONTEXT, other), pinned, 'sys1', held(from)),
    (e: unknown) =>
      e instanceof DeltaRefused && e.needFull && /against map version 6, this helper holds 7/.test(e.message),
  );
  const wrong = deltaBetween(from, to, { peers: [] });
  assert.throws(
    () => takeSignedDelta(signWith(MAP_DELTA_SIGNATURE_CONTEXT, wrong), pinned, 'sys1', held(from)),
    (e: unknown) => e instanceof DeltaRefused && e.needFull && /does not match its digest/.test(e.message),
  );
  // A late delta (no newer than the map in force) is dropped, not applied.
  const late = deltaBetween(map(5, []), map(7, [P[0]!]));
  assert.equal(takeSignedDelta(signWith(MAP_DELTA_SIGNATURE_CONTEXT, late), pinned, 'sys1', held(from)), null);
});

test('the parser refuses absurd counts before it reads any entry', () => {
  const d = deltaBetween(map(7, []), map(8, [P[0]!])) as unknown as Record<string, unknown>;
  // An array that throws when an entry is read: the refusal must come from its length alone.
  const trap = (n: number): unknown[] =>
    new Proxy(new Array<unknown>(n), {
      get(t, k) {
        if (typeof k === 'string' && /^\d+$/.test(k)) throw new Error('an entry was read');
        return Reflect.get(t, k) as unknown;
      },
    });
  for (const field of ['peers', 'removed']) {
    assert.throws(
      () => parseMapDelta({ ...d, [field]: trap(MAP_LIMITS.peers + 1) }),
      (e: unknown) =>
        e instanceof DeltaRefused && new RegExp(`${field} has ${MAP_LIMITS.peers + 1} entries`).test(e.message),
      field,
    );
  }
  assert.throws(() => parseMapDelta({ ...d, set: { dnsZone: 'x' } }), /set may only hold/);
  assert.throws(() => parseMapDelta({ ...d, removed: ['not an identity'] }), /removed\[0\] is not an identity/);
  assert.throws(() => parseMapDelta({ ...d, version: 7, baseVersion: 7 }), /does not follow base/);
  assert.throws(() => parseMapDelta({ ...d, digest: 'abc' }), /digest is not hex SHA-256/);
});

test('a chain of deltas that set only the policies reuses the kept prefix and still matches the full map, and a wrong digest is still refused', () => {
  const policy = (ports: number[]) => ({
    name: 'p',
    senders: ['AAAAA'],
    receivers: ['ME123'],
    acls: [{ protocol: 'tcp' as const, ports: ports.map((p) => ({ from: p, to: p })) }],
    trustRequirements: [],
    enabled: true,
  });
  const m = (version: number, peers: MapPeer[], ports: number[]): NetworkMap =>
    sampleMap({ version, peers, routeGrants: {}, policies: [policy(ports)] });
  const v1 = m(1, [P[0]!, P[1]!], [22]);
  const v2 = m(2, [P[0]!, { ...P[1]!, online: false }], [22]);
  const v3 = m(3, v2.peers, [22, 443]);
  const v4 = m(4, v2.peers, [22, 443, 8080]);
  const take = (h: HeldMap, from: NetworkMap, to: NetworkMap, over: Partial<MapDelta> = {}) =>
    takeSignedDelta(signWith(MAP_DELTA_SIGNATURE_CONTEXT, deltaBetween(from, to, over)), pinned, 'sys1', h)!;
  // A peer changed: the prefix is made anew and kept.
  const t2 = take(held(v1), v1, v2);
  assert.ok(t2.held.prefix, 'the prefix is kept with the held map');
  // Only the policies changed: the kept prefix (the same object) is used.
  const t3 = take(t2.held, v2, v3, { set: { policies: v3.policies } });
  assert.equal(t3.held.prefix, t2.held.prefix);
  assert.equal(canonicalMapText(t3.held.raw), JSON.stringify(v3));
  assert.equal(Buffer.from(t3.stored.payload, 'base64').toString(), JSON.stringify(v3));
  const t4 = take(t3.held, v3, v4, { set: { policies: v4.policies } });
  assert.equal(Buffer.from(t4.stored.payload, 'base64').toString(), JSON.stringify(v4));
  // A delta whose result is not what its digest says is refused on the kept path too.
  const wrong = deltaBetween(v3, v4, { set: { policies: v3.policies } });
  assert.throws(
    () => takeSignedDelta(signWith(MAP_DELTA_SIGNATURE_CONTEXT, wrong), pinned, 'sys1', t3.held),
    /does not match its digest/,
  );
  // A delta that sets a field before the peers cannot reuse it, and still matches.
  const v5 = sampleMap({ ...v4, version: 5, self: { ...v4.self, dnsNames: ['me', 'db'] } });
  const t5 = take(t4.held, v4, v5, { set: { self: v5.self } });
  assert.notEqual(t5.held.prefix, t4.held.prefix);
  assert.equal(Buffer.from(t5.stored.payload, 'base64').toString(), JSON.stringify(v5));
});
