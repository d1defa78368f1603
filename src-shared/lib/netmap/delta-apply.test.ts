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

// A map shaped like a real one: peers with identities that look like integers (a JSON parser
// puts such keys first) and ones that do not, policies naming them, routes and route grants
// keyed by identity, a dual-stack network, in the coordinator's order (peers by identity).
const IDS = Array.from({ length: 40 }, (_, i) =>
  i % 3 === 0 ? `${10000 + i * 37}` : `P${String(i).padStart(2, '0')}QR`,
);
const PEERS = IDS.map((id, i) => ({ ...peer(id, i + 2), tags: [`t${i % 4}`], online: i % 5 !== 0 })).sort((a, b) =>
  a.identity < b.identity ? -1 : 1,
);

function realisticMap(version: number, ports: string[]): NetworkMap {
  const ids = IDS;
  const peers = PEERS;
  const policy = (name: string, senders: string[], acl: string) => ({
    name,
    senders,
    receivers: ['ME123'],
    acls: [
      { protocol: 'tcp' as const, ports: acl.split(',').map((p) => ({ from: Number(p), to: Number(p) })) },
      { protocol: 'icmp' as const, ports: [] },
    ],
    trustRequirements: [],
    enabled: true,
  });
  const exits = [ids[3]!, ids[0]!, ids[7]!].sort();
  const routes: Record<string, string[]> = {};
  for (const [i, id] of exits.entries()) routes[id] = [`10.${i}.0.0/16`];
  return sampleMap({
    version,
    generatedAt: 1_700_000_000_000 + version,
    peers,
    virtualNetwork6: 'fd12:3456:789a::/48',
    policies: ports.map((p, i) => policy(`team ${i}`, ids.slice(i * 5, i * 5 + 8), p)),
    routes,
    routeGrants: { [ids[9]!]: ['192.168.0.0/24'], [ids[6]!]: ['192.168.1.0/24'] },
  });
}

test('a delta taken on the fast path (prefix cut from the full map) makes byte for byte the text of the slow path and the coordinator', () => {
  const from = realisticMap(10, ['22,443', '53', '8080']);
  const to = realisticMap(11, ['22,443,8080', '53', '8080,8443']);
  const fullText = canonicalMapText(from as unknown as Record<string, unknown>);
  const fast = openHeldMap(signWith(MAP_SIGNATURE_CONTEXT, from), pinned, 'sys1', 0).held;
  assert.ok(fast.prefix, 'a full map held has its prefix, cut from its text');
  const slow: HeldMap = { version: 10, raw: JSON.parse(fullText) as Record<string, unknown> };
  // The coordinator's text of the new map: routes keys in ascending order (canonical).
  const want = canonicalMapText(to as unknown as Record<string, unknown>);
  const d = deltaBetween(from, to, { set: { policies: to.policies } });
  assert.equal(d.peers.length, 0);
  const head = `{"protocol":${CONTROL_PROTOCOL},"version":11,"generatedAt":${to.generatedAt},`;
  d.digest = createHash('sha256').update(want.slice(head.length)).digest('hex');
  const signed = signWith(MAP_DELTA_SIGNATURE_CONTEXT, d);
  const a = takeSignedDelta(signed, pinned, 'sys1', fast)!;
  const b = takeSignedDelta(signed, pinned, 'sys1', slow)!;
  assert.equal(a.held.raw.peers, fast.raw.peers, 'the fast path kept the peer list as it was');
  assert.notEqual(b.held.raw.peers, slow.raw.peers, 'the slow path made the peer list anew');
  const textOf = (t: { stored: SignedMap }) => Buffer.from(t.stored.payload, 'base64').toString('utf8');
  assert.equal(textOf(a), textOf(b));
  assert.equal(textOf(a), want);
  assert.deepEqual(JSON.parse(textOf(a)), a.held.raw, 'the map held is the text held, decoded');
  assert.deepEqual(a.map, b.map);
  assert.equal(a.map.peers, fast.map?.peers, 'the fast path kept the checked peers');
  // What is stored reopens with a prefix of its own, and the next policy change takes it too.
  const reopened = openHeldMap(a.stored, pinned, 'sys1', 0).held;
  assert.ok(reopened.prefix);
  assert.equal(reopened.prefix.text, fast.prefix.text);
});

test('a delta whose result does not match its digest is refused on the fast path, a full map held or a stored one', () => {
  const from = realisticMap(10, ['22,443', '53', '8080']);
  const to = realisticMap(11, ['22,443,8080', '53', '8080,8443']);
  const fast = openHeldMap(signWith(MAP_SIGNATURE_CONTEXT, from), pinned, 'sys1', 0).held;
  assert.ok(fast.prefix);
  // The signed digest is the new map's, but the delta sets the old policies (or one port off).
  const stale = deltaBetween(from, to, { set: { policies: from.policies } });
  const offByOne = deltaBetween(from, to, {
    set: { policies: [{ ...to.policies[0]!, acls: [{ protocol: 'tcp', ports: [{ from: 22, to: 23 }] }] }] },
  });
  for (const [what, d] of [
    ['stale', stale],
    ['off by one', offByOne],
  ] as const) {
    assert.throws(
      () => takeSignedDelta(signWith(MAP_DELTA_SIGNATURE_CONTEXT, d), pinned, 'sys1', fast),
      (e: unknown) => e instanceof DeltaRefused && e.needFull && /does not match its digest/.test(e.message),
      what,
    );
  }
  // A full map whose middle names "version" (a peer so named) gets no prefix: the slow path
  // takes its deltas, and still makes the coordinator's text.
  const odd = realisticMap(10, ['22']);
  odd.peers[1] = { ...odd.peers[1]!, name: 'version' };
  const oddTo = { ...realisticMap(11, ['22,443']), peers: odd.peers };
  const oddHeld = openHeldMap(signWith(MAP_SIGNATURE_CONTEXT, odd), pinned, 'sys1', 0).held;
  assert.equal(oddHeld.prefix, undefined);
  const t = takeSignedDelta(
    signWith(MAP_DELTA_SIGNATURE_CONTEXT, deltaBetween(odd, oddTo, { set: { policies: oddTo.policies } })),
    pinned,
    'sys1',
    oddHeld,
  )!;
  assert.equal(Buffer.from(t.stored.payload, 'base64').toString('utf8'), JSON.stringify(oddTo));
});

test("a delta that changes the peers of a map held since a full map writes the kept peers from the map's own text, and from JSON.stringify when that text is not the canonical one", () => {
  const from = map(7, [P[0]!, P[1]!]);
  const to = map(9, [...from.peers, P[2]!]);
  // A full map whose text for peer AAAAA has a space that JSON.stringify would not write.
  const canonical = JSON.stringify(from);
  const spaced = canonical.replace('{"identity":"AAAAA",', '{"identity":"AAAAA", ');
  assert.notEqual(spaced, canonical);
  const heldSpaced = (): HeldMap => {
    const payload = Buffer.from(spaced);
    const sig = nacl.sign.detached(Buffer.concat([Buffer.from(MAP_SIGNATURE_CONTEXT), payload]), coord.secretKey);
    const signed = { payload: payload.toString('base64'), signature: Buffer.from(sig).toString('base64') };
    const h = openHeldMap(signed, pinned, 'sys1', 0).held;
    assert.ok(h.prefix?.text.includes('"AAAAA", '), 'the prefix is cut from the text as sent');
    return h;
  };
  const head = `{"protocol":${CONTROL_PROTOCOL},"version":9,"generatedAt":${to.generatedAt},`;
  const take = (want: string) => {
    const d = deltaBetween(from, to, { digest: createHash('sha256').update(want.slice(head.length)).digest('hex') });
    assert.deepEqual(
      d.peers.map((p) => p.identity),
      ['CCCCC'],
    );
    const t = takeSignedDelta(signWith(MAP_DELTA_SIGNATURE_CONTEXT, d), pinned, 'sys1', heldSpaced())!;
    return Buffer.from(t.stored.payload, 'base64').toString('utf8');
  };
  // A coordinator that kept the peer's text as it sent it: the kept text makes its digest.
  const keptText = JSON.stringify(to).replace('{"identity":"AAAAA",', '{"identity":"AAAAA", ');
  assert.equal(take(keptText), keptText);
  // A coordinator whose text is canonical: the peers are written again and the delta is taken.
  assert.equal(take(JSON.stringify(to)), JSON.stringify(to));
});

test('a held map whose first fields are not protocol, version and generatedAt in that order takes no delta: it asks for the full map', () => {
  const from = map(7, [P[0]!, P[1]!]);
  const { version, protocol, ...rest } = from;
  const reordered = { version, protocol, ...rest } as unknown as NetworkMap;
  const to = { ...map(8, [P[0]!, P[1]!]), policies: [] };
  const d = deltaBetween(from, to, { set: { policies: [] } });
  const signed = signWith(MAP_DELTA_SIGNATURE_CONTEXT, d);
  // The same delta fits the map as the coordinator orders it.
  assert.equal(takeSignedDelta(signed, pinned, 'sys1', held(from))!.map.version, 8);
  assert.throws(
    () => takeSignedDelta(signed, pinned, 'sys1', held(reordered)),
    (e: unknown) => e instanceof DeltaRefused && e.needFull && /does not match its digest/.test(e.message),
  );
});
