import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import type { NetworkMap, SignedMap } from '../../../src-shared/wire/control.js';
import { parseCidr } from '../../../src-shared/lib/ip/ipv4.js';
import { createLogger } from '../../../src-shared/lib/log.js';
import { MapPublisher, type PublishedMap } from './publisher.js';
import { MapBuilder } from './netmap.js';
import { parsePolicyFile } from '../policy/policy-file.js';
import { Registry } from '../store/registry.js';
import { loadOrCreateSigningKey, verifySignedMap } from '../auth/signing.js';
import { SqliteStore } from '../store/sqlite-store.js';
import { openSignedDelta } from '../../../src-shared/lib/netmap/delta-parse.js';
import { sampleNewSystem } from '../testing/rows.js';

test('the publisher signs and delivers only maps whose content changed, with growing versions', () => {
  const dir = mkdtempSync(join(tmpdir(), 'warren-pub-'));
  const store = new SqliteStore(join(dir, 'c.db'));
  try {
    const { key } = loadOrCreateSigningKey(join(dir, 'signing.key'));
    let pub: MapPublisher | null = null;
    // The registry issues identities; this test names its systems, so it hands them over.
    let nextIdentity = '';
    const registry = new Registry(
      store,
      parseCidr('100.64.0.0/10')!,
      'warren.internal',
      { changed: (x) => pub?.changed(x), revoked: () => {}, removed: () => {} },
      0,
      { newIdentity: () => nextIdentity },
    );
    const delivered: [string, PublishedMap, Buffer][] = [];
    pub = new MapPublisher(
      registry,
      key,
      (s, m, out) => delivered.push([s.identity, m, out.full()]),
      createLogger(0, { write: () => {} }),
    );
    const add = (identity: string, tags: string[], n: number): void => {
      nextIdentity = identity;
      void registry.insert(
        sampleNewSystem(n, 0x64400000 + n, {
          id: `sys-${identity}`,
          wgKey: `wg${identity}`,
          machineKey: `mk${identity}`,
          hostname: identity,
          name: identity.toLowerCase(),
          tags,
        }),
        0,
      );
    };
    add('AAAAA', ['dev'], 1);
    add('BBBBB', ['server'], 2);
    add('CCCCC', [], 3);
    pub.flush();
    assert.deepEqual(delivered.map(([id]) => id).sort(), ['AAAAA', 'BBBBB', 'CCCCC']);
    const cFirst = pub.current(registry.find('CCCCC')!)!;
    delivered.length = 0;
    pub.flush();
    assert.equal(delivered.length, 0, 'nothing changed, nothing sent');

    const text = JSON.stringify({
      Tags: ['dev', 'server'],
      Policies: [{ Name: 'p', Senders: ['tag:dev'], Receivers: ['tag:server'], Acls: [] }],
    });
    const r = parsePolicyFile(text);
    assert.ok(r.ok);
    registry.applyPolicy(text, r.file, 1);
    pub.flush();
    // CCCCC is in no policy: its map is the same, so it gets nothing.
    assert.deepEqual(delivered.map(([id]) => id).sort(), ['AAAAA', 'BBBBB']);
    for (const [, m, frame] of delivered) {
      const signed = (JSON.parse(frame.toString().slice('event: map\ndata: '.length)) as { map: SignedMap }).map;
      const map = JSON.parse(verifySignedMap(key.publicKey, signed)!.toString()) as NetworkMap;
      assert.equal(map.version, registry.version);
      assert.equal(m.version, map.version);
      assert.equal(frame.toString(), `event: map\ndata: ${JSON.stringify({ type: 'map', map: signed })}\n\n`);
    }
    const a1 = pub.current(registry.find('AAAAA')!)!;
    registry.setOnline(registry.find('BBBBB')!, true, 2);
    const a2 = pub.current(registry.find('AAAAA')!)!;
    assert.ok(a2.version > a1.version);
    // CCCCC's map never changed, so it still carries the version it was first signed with.
    assert.equal(pub.current(registry.find('CCCCC')!), cFirst);
    assert.ok(cFirst.version < a1.version);
    pub.stop();
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('incremental passes give every system the same map a full recomputation would', () => {
  const dir = mkdtempSync(join(tmpdir(), 'warren-pub-'));
  const store = new SqliteStore(join(dir, 'c.db'));
  try {
    const { key } = loadOrCreateSigningKey(join(dir, 'signing.key'));
    let pub: MapPublisher | null = null;
    // The registry issues identities; this test names its systems, so it hands them over.
    let nextIdentity = '';
    const registry = new Registry(
      store,
      parseCidr('100.64.0.0/10')!,
      'warren.internal',
      { changed: (x) => pub?.changed(x), revoked: () => {}, removed: () => {} },
      0,
      { newIdentity: () => nextIdentity },
    );
    pub = new MapPublisher(registry, key, () => {}, createLogger(0, { write: () => {} }));
    // The systems set online stand for those with a watch stream (server.ts asks the hub).
    pub.hasStream = (id) => registry.get(id)?.online ?? false;
    const text = JSON.stringify({
      Tags: ['a', 'b', 'c', 'x'],
      Policies: [
        { Name: 'ab', Senders: ['tag:a'], Receivers: ['tag:b'], Acls: [] },
        { Name: 'cc', Senders: ['tag:c'], Receivers: ['tag:c'], Acls: [] },
        { Name: 'off', Senders: ['tag:a'], Receivers: ['tag:c'], Acls: [], Enabled: false },
        {
          Name: 'ip',
          Senders: ['tag:b'],
          Receivers: ['tag:a'],
          Acls: [],
          TrustRequirements: [{ Type: 'PublicIp', Ranges: ['10.0.0.0/8'] }],
        },
      ],
      Dns: { Records: [{ Name: 'bee', Targets: ['tag:b'] }] },
      Routes: [{ ExitNode: 'tag:x', Subnets: ['192.168.0.0/24'], Senders: ['tag:c'] }],
    });
    const r = parsePolicyFile(text);
    assert.ok(r.ok);
    registry.applyPolicy(text, r.file, 0);
    const TAGS = [[], ['a'], ['b'], ['c'], ['x'], ['a', 'c'], ['b', 'x']];
    // A small deterministic random source, so a failure can be replayed.
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    let made = 0;
    const add = (): void => {
      made++;
      const identity = `S${String(made).padStart(4, '0')}`.replace(/[ILOU]/g, 'A');
      nextIdentity = identity;
      registry.insert(
        {
          id: `sys-${made}`,
          wgKey: `wg${made}`,
          machineKey: `mk${made}`,
          hostname: identity,
          name: `n${made}`,
          address: 0x64400000 + made,
          tags: TAGS[rnd(TAGS.length)]!,
          dnsNames: [],
          state: rnd(5) === 0 ? 'pending' : 'active',
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
    for (let i = 0; i < 12; i++) add();
    pub.flush();
    let compared = 0;
    for (let step = 0; step < 300; step++) {
      const all = registry.all().filter((s) => s.state !== 'revoked');
      const s = all[rnd(all.length)]!;
      switch (rnd(9)) {
        case 0:
          add();
          break;
        case 1:
          registry.patch(s, { tags: TAGS[rnd(TAGS.length)]! });
          break;
        case 2:
          registry.setOnline(s, !s.online, step);
          break;
        case 3:
          registry.patch(s, { reported: [`10.9.0.${rnd(250)}:51820`] });
          break;
        case 4:
          registry.noteSeen(s, rnd(2) === 0 ? '10.1.2.3' : '203.0.113.1', step);
          break;
        case 5:
          registry.patch(s, { dnsNames: rnd(2) === 0 ? [] : ['extra'] });
          break;
        case 6:
          if (s.state === 'pending') registry.patch(s, { state: 'active' });
          break;
        case 7:
          if (rnd(3) === 0) registry.revoke(s);
          break;
        default:
          if (rnd(3) === 0) registry.remove(s);
          break;
      }
      // Sometimes several changes go into one pass.
      if (rnd(3) !== 0) continue;
      pub.flush();
      const fresh = new MapBuilder(registry);
      for (const x of registry.active()) {
        // A system with a stream has its map pushed by the pass; one without gets it when it
        // asks (flushPeers leaves it until then), made from the peers the passes noted.
        const m: PublishedMap | null | undefined = x.online ? pub.published(x.id) : pub.current(x);
        assert.ok(m, `step ${step}: ${x.identity} has a map`);
        // The published digest covers the content (the payload after its first three fields).
        const want = createHash('sha256').update(fresh.content(x).text, 'utf8').digest('hex');
        assert.equal(m.digest, want, `step ${step}: ${x.identity}'s published map is the fresh one`);
        compared++;
      }
    }
    // The loop above checks only active systems; make sure it checked a good many.
    assert.ok(compared > 300, `${compared} maps compared`);
    pub.stop();
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a policy file reaches every system through the sliced pass, without a flush, each delta signed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'warren-pub-'));
  const store = new SqliteStore(join(dir, 'c.db'));
  let pub: MapPublisher | null = null;
  try {
    const { key } = loadOrCreateSigningKey(join(dir, 'signing.key'));
    const registry = new Registry(
      store,
      parseCidr('100.64.0.0/10')!,
      'warren.internal',
      { changed: (x, soft) => pub?.changed(x, soft), revoked: () => {}, removed: () => {} },
      0,
    );
    const apply = (ports: string): void => {
      const text = JSON.stringify({
        Tags: ['dev', 'srv'],
        Policies: [
          { Name: 'p', Senders: ['tag:dev'], Receivers: ['tag:srv'], Acls: [{ Protocol: 'tcp', Ports: ports }] },
        ],
      });
      const r = parsePolicyFile(text);
      assert.ok(r.ok);
      registry.applyPolicy(text, r.file, 0);
    };
    apply('22');
    const N = 200;
    for (let n = 0; n < N; n++) {
      registry.insert(sampleNewSystem(n, 0x64400000 + n + 1, { tags: [n % 10 === 0 ? 'srv' : 'dev'] }), 0);
    }
    /** frames[systemId] is the last delta frame a system's stream got. */
    const frames = new Map<string, Buffer>();
    pub = new MapPublisher(
      registry,
      key,
      (s, _m, out) => {
        if (!out.batched((f) => frames.set(s.id, f))) frames.delete(s.id);
      },
      createLogger(0, { write: () => {} }),
    );
    pub.flush();
    const passes = pub.stats.passes;
    apply('22,443');
    const version = registry.version;
    const deadline = Date.now() + 20_000;
    while (pub.stats.passes === passes && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.equal(pub.stats.lastVersion, version, 'the pass after the policy change ran by itself');
    assert.equal(frames.size, N, 'every system got a delta');
    for (const s of registry.active()) {
      const f = frames.get(s.id)!.toString('latin1');
      const event = JSON.parse(f.slice(f.indexOf('data: ') + 6)) as { delta: { batch?: unknown } };
      assert.ok(event.delta.batch, 'signed as part of a batch');
      // Opened as a helper opens it: the batch signature against the pinned key, the recipient.
      const delta = openSignedDelta(event.delta, Buffer.from(key.publicKey, 'base64'), s.id);
      assert.equal(delta.version, version);
      assert.match(JSON.stringify(delta.set.policies), /443/, `${s.id}'s delta carries the new policy`);
      assert.equal(pub.published(s.id)!.version, version);
    }
  } finally {
    pub?.stop();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
