// Map deltas end to end between the real publisher and the helper's delta code: for random
// sequences of changes (systems joining, leaving, changing tags, going on and offline, policy
// edits), a helper that applies every delta it gets holds, byte for byte, the canonical text
// of the full map the coordinator would send at that version; one that missed a map refuses
// the next delta (base mismatch) and takes the full map.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SignedMap } from '../../../src-shared/wire/control.js';
import { parseCidr } from '../../../src-shared/lib/ip/ipv4.js';
import { createLogger } from '../../../src-shared/lib/log.js';
import { MapPublisher, type Outgoing } from './publisher.js';
import { parsePolicyFile } from '../policy/policy-file.js';
import { Registry, type LiveSystem } from '../store/registry.js';
import { loadOrCreateSigningKey, type SigningKey } from '../auth/signing.js';
import { SqliteStore } from '../store/sqlite-store.js';
import {
  canonicalMapText,
  openHeldMap,
  takeSignedDelta,
  type HeldMap,
} from '../../../src-shared/lib/netmap/delta-apply.js';
import { DeltaRefused } from '../../../src-shared/lib/netmap/delta-parse.js';

const TAGS = [[], ['a'], ['b'], ['c'], ['x'], ['a', 'c'], ['b', 'x']];

function policyText(port: number): string {
  return JSON.stringify({
    Tags: ['a', 'b', 'c', 'x'],
    Policies: [
      { Name: 'ab', Senders: ['tag:a'], Receivers: ['tag:b'], Acls: [{ Protocol: 'tcp', Ports: String(port) }] },
      { Name: 'cc', Senders: ['tag:c'], Receivers: ['tag:c'], Acls: [] },
      {
        Name: 'ip',
        Senders: ['tag:b'],
        Receivers: ['tag:a'],
        Acls: [],
        TrustRequirements: [{ Type: 'PublicIp', Ranges: ['10.0.0.0/8'] }],
      },
    ],
    Dns: { Records: [{ Name: 'bee', Targets: ['tag:b'] }] },
    Routes: [
      { ExitNode: 'tag:x', Subnets: ['192.168.0.0/24'], Senders: ['tag:c'] },
      { ExitNode: 'tag:b', Subnets: ['10.20.0.0/16'], Senders: ['tag:a'] },
    ],
  });
}

/** SimHelper is what a helper keeps: the map in force, decoded, as delta-apply.ts holds it. */
interface SimHelper {
  held: HeldMap | null;
  /** offline helpers miss what is published (their watch stream is closed). */
  listening: boolean;
}

interface Fixture {
  registry: Registry;
  pub: MapPublisher;
  key: SigningKey;
  helpers: Map<string, SimHelper>;
  counts: { deltas: number; fulls: number; deltaBytes: number; fullBytes: number };
  /** tap, when set, sees each published map before the helper does. */
  tap?: (s: LiveSystem, out: Outgoing) => void;
  rnd: (n: number) => number;
  add: () => void;
  close: () => void;
}

function frameSigned(frame: Buffer): SignedMap {
  const data = /^data: (.*)$/m.exec(frame.toString('latin1'))![1]!;
  const e = JSON.parse(data) as { map?: SignedMap; delta?: SignedMap };
  return (e.map ?? e.delta)!;
}

function fullText(frame: Buffer): string {
  return Buffer.from(frameSigned(frame).payload, 'base64').toString('utf8');
}

/** receive plays the helper's side of one published map, as the watch hub would send it. Every
 * other system takes batch-signed deltas (delta-batch.ts), which arrive when the pass ends. */
function receive(f: Fixture, s: LiveSystem, out: Outgoing): void {
  f.tap?.(s, out);
  const h = f.helpers.get(s.id) ?? { held: null, listening: true };
  f.helpers.set(s.id, h);
  if (!h.listening) return;
  const pinned = Buffer.from(f.key.publicKey, 'base64');
  const full = out.full();
  f.counts.fullBytes += full.length;
  const fits = h.held !== null && out.base === h.held.version;
  const take = (d: Buffer): void => {
    f.counts.deltas++;
    f.counts.deltaBytes += d.length;
    const taken = takeSignedDelta(frameSigned(d), pinned, s.id, h.held);
    assert.ok(taken, 'a newer delta is taken');
    h.held = taken.held;
    assert.equal(canonicalMapText(h.held.raw), fullText(full), `${s.identity} holds the full map's text`);
  };
  if (fits && Number(s.id.slice(4)) % 2 === 0) {
    if (out.batched(take)) return;
  } else {
    const d = fits ? out.delta() : null;
    if (d !== null) return take(d);
  }
  f.counts.fulls++;
  f.counts.deltaBytes += full.length;
  h.held = openHeldMap(frameSigned(full), pinned, s.id, 0).held;
  assert.equal(canonicalMapText(h.held.raw), fullText(full), `${s.identity} holds the full map's text`);
}

function fixture(seed0: number): Fixture {
  const dir = mkdtempSync(join(tmpdir(), 'warren-delta-'));
  const store = new SqliteStore(join(dir, 'c.db'));
  const { key } = loadOrCreateSigningKey(join(dir, 'signing.key'));
  let nextIdentity = '';
  const f = { key, helpers: new Map(), counts: { deltas: 0, fulls: 0, deltaBytes: 0, fullBytes: 0 } } as Fixture;
  f.registry = new Registry(
    store,
    parseCidr('100.64.0.0/10')!,
    'warren.internal',
    { changed: (x) => f.pub?.changed(x), revoked: () => {}, removed: () => {} },
    0,
    { newIdentity: () => nextIdentity },
  );
  f.pub = new MapPublisher(
    f.registry,
    key,
    (s, _m, out) => receive(f, s, out),
    createLogger(0, { write: () => {} }),
    () => 1_700_000_000_000,
  );
  let seed = seed0;
  f.rnd = (n) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  let made = 0;
  f.add = () => {
    made++;
    // Every third identity is all digits, which a JSON parser puts first among an object's keys
    // (routes), while the others ("0S001") come first in the map's sorted order.
    nextIdentity = made % 3 === 0 ? String(10000 + made) : `0S${String(made).padStart(3, '0')}`;
    f.registry.insert(
      {
        id: `sys-${made}`,
        wgKey: Buffer.alloc(32, made).toString('base64'),
        machineKey: `mk${made}`,
        hostname: nextIdentity,
        name: `n${made}`,
        address: 0x64400000 + made,
        tags: TAGS[f.rnd(TAGS.length)]!,
        dnsNames: [],
        state: f.rnd(5) === 0 ? 'pending' : 'active',
        ephemeral: false,
        keyId: null,
        createdAt: made,
        lastSeen: null,
        observedIp: null,
        listenPort: 51820,
        reported: [],
      },
      0,
    );
  };
  f.close = () => {
    f.pub.stop();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  };
  return f;
}

function applyPolicy(f: Fixture, port: number, at: number): void {
  const text = policyText(port);
  const r = parsePolicyFile(text);
  assert.ok(r.ok);
  f.registry.applyPolicy(text, r.file, at);
}

/** step makes one random change. */
function step(f: Fixture, i: number): void {
  const all = f.registry.all().filter((s) => s.state !== 'revoked');
  const s = all[f.rnd(all.length)]!;
  switch (f.rnd(10)) {
    case 0:
      f.add();
      break;
    case 1:
      f.registry.patch(s, { tags: TAGS[f.rnd(TAGS.length)]! });
      break;
    case 2:
      f.registry.setOnline(s, !s.online, i);
      break;
    case 3:
      f.registry.patch(s, { reported: [`10.9.0.${f.rnd(250)}:51820`] });
      break;
    case 4:
      f.registry.noteSeen(s, f.rnd(2) === 0 ? '10.1.2.3' : '203.0.113.1', i);
      break;
    case 5:
      f.registry.patch(s, { dnsNames: f.rnd(2) === 0 ? [] : ['extra'] });
      break;
    case 6:
      if (s.state === 'pending') f.registry.patch(s, { state: 'active' });
      break;
    case 7:
      applyPolicy(f, 1000 + f.rnd(5), i);
      break;
    case 8:
      if (f.rnd(3) === 0) f.registry.revoke(s);
      break;
    default:
      if (f.rnd(3) === 0) f.registry.remove(s);
      break;
  }
}

test('for random change sequences, applying each delta gives the full map byte for byte', () => {
  for (const seed of [1, 77, 4242]) {
    const f = fixture(seed);
    try {
      applyPolicy(f, 22, 0);
      for (let i = 0; i < 14; i++) f.add();
      f.pub.flush();
      for (let i = 0; i < 250; i++) {
        step(f, i);
        if (f.rnd(3) === 0) f.pub.flush();
      }
      f.pub.flush();
      // Every active system's helper holds its current map (the assertion in receive compared
      // each one as it arrived; this checks nobody was left behind).
      for (const s of f.registry.active()) {
        const m = f.pub.published(s.id)!;
        assert.equal(f.helpers.get(s.id)?.held?.version, m.version, `${s.identity} holds version ${m.version}`);
      }
      assert.ok(f.counts.deltas > 100, `${f.counts.deltas} deltas applied (seed ${seed})`);
      assert.ok(
        f.counts.deltaBytes < f.counts.fullBytes / 2,
        `delta bytes ${f.counts.deltaBytes} against full ${f.counts.fullBytes}`,
      );
    } finally {
      f.close();
    }
  }
});

test('a helper that missed a map refuses the next delta as against another base, and the full map is right', () => {
  const f = fixture(9);
  try {
    applyPolicy(f, 22, 0);
    for (let i = 0; i < 10; i++) f.add();
    f.pub.flush();
    const s = f.registry.active().find((x) => (f.pub.published(x.id)?.identities.length ?? 0) > 0)!;
    const h = f.helpers.get(s.id)!;
    const stale = h.held!;
    h.listening = false;
    // Its own DNS names are in its map (self), so each change gives it a new one.
    f.registry.patch(s, { dnsNames: ['one'] });
    f.pub.flush();
    h.listening = true;
    let refused: unknown = null;
    const pinned = Buffer.from(f.key.publicKey, 'base64');
    f.tap = (x, out) => {
      if (x.id !== s.id) return;
      const d = out.delta();
      assert.ok(d, 'the coordinator offers a delta against what it last published');
      try {
        takeSignedDelta(frameSigned(d), pinned, s.id, stale);
      } catch (e) {
        refused = e;
      }
    };
    f.registry.patch(s, { dnsNames: ['two'] });
    f.pub.flush();
    assert.ok(refused instanceof DeltaRefused, 'the delta was refused');
    assert.equal(refused.needFull, true, 'a base mismatch asks for the full map');
    assert.match(refused.message, /against map version \d+, this helper holds \d+/);
    const full = f.pub.fullMap(s)!;
    const held = openHeldMap(frameSigned(full.frame), pinned, s.id, stale.version).held;
    assert.ok(held.version > stale.version);
    assert.equal(canonicalMapText(held.raw), fullText(full.frame));
  } finally {
    f.close();
  }
});
