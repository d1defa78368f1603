// Batch-signed deltas (delta-batch.ts) against the helper's own check (delta-parse.ts
// openSignedDelta): every delta of a batch opens on its own, and none opens with another's
// proof, another count or index, another batch's signature, or without its proof.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONTROL_PROTOCOL } from '../../../src-shared/wire/control.js';
import type { SignedMapDelta } from '../../../src-shared/wire/map-delta.js';
import { DeltaRefused, openSignedDelta } from '../../../src-shared/lib/netmap/delta-parse.js';
import { loadOrCreateSigningKey, type SigningKey } from '../auth/signing.js';
import { DeltaBatch } from './delta-batch.js';
import { ProvenNodes } from '../../../src-shared/lib/merkle.js';

function deltaText(i: number): string {
  return JSON.stringify({
    protocol: CONTROL_PROTOCOL,
    systemId: `sys${i}`,
    baseVersion: 1,
    version: 2,
    generatedAt: 0,
    digest: '0'.repeat(64),
    peers: [],
    removed: [],
    set: {},
  });
}

function signedOf(frame: Buffer): SignedMapDelta {
  return (JSON.parse(/^data: (.*)$/m.exec(frame.toString('latin1'))![1]!) as { delta: SignedMapDelta }).delta;
}

function sealed(key: SigningKey, n: number): SignedMapDelta[] {
  const batch = new DeltaBatch(key);
  const out: SignedMapDelta[] = [];
  for (let i = 0; i < n; i++) batch.add(deltaText(i), (f) => (out[i] = signedOf(f)));
  assert.equal(out.length, 0, 'no frame before the batch is sealed');
  batch.seal();
  return out;
}

test('each delta of a sealed batch opens with the pinned key, and none opens with what belongs to another', () => {
  const dir = mkdtempSync(join(tmpdir(), 'warren-dbatch-'));
  try {
    const { key } = loadOrCreateSigningKey(join(dir, 'signing.key'));
    const pinned = Buffer.from(key.publicKey, 'base64');
    const deltas = sealed(key, 7);
    assert.equal(new Set(deltas.map((d) => d.signature)).size, 1, 'one signature for the batch');
    const verified = new ProvenNodes();
    deltas.forEach((d, i) => {
      assert.equal(d.batch?.count, 7);
      assert.equal(openSignedDelta(d, pinned, `sys${i}`).systemId, `sys${i}`);
      assert.equal(openSignedDelta(d, pinned, `sys${i}`, verified).systemId, `sys${i}`);
    });
    const refused = (d: unknown, who = 'sys0'): void =>
      assert.throws(() => openSignedDelta(d, pinned, who, verified), DeltaRefused);
    const [a, b] = [deltas[0]!, deltas[1]!];
    refused({ ...a, payload: b.payload }, 'sys1'); // another delta's payload under a's proof
    refused({ ...a, batch: b.batch }); // another's proof
    refused({ ...a, batch: { ...a.batch!, index: 1 } });
    refused({ ...a, batch: { ...a.batch!, count: 8 } });
    refused({ ...a, batch: { ...a.batch!, path: [...a.batch!.path, a.batch!.path[0]!] } });
    refused({ payload: a.payload, signature: a.signature }); // the batch signature is no delta's own
    const other = sealed(key, 7)[0]!;
    assert.equal(openSignedDelta(other, pinned, 'sys0').systemId, 'sys0', 'the same delta sealed again opens');
    const third = sealed(key, 3);
    refused({ ...a, signature: third[0]!.signature }); // another batch's signature
    const { key: stranger } = loadOrCreateSigningKey(join(dir, 'other.key'));
    assert.throws(() => openSignedDelta(a, Buffer.from(stranger.publicKey, 'base64'), 'sys0'), /bad signature/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a batch of one is its own root, with an empty path', () => {
  const dir = mkdtempSync(join(tmpdir(), 'warren-dbatch-'));
  try {
    const { key } = loadOrCreateSigningKey(join(dir, 'signing.key'));
    const [d] = sealed(key, 1);
    assert.deepEqual(d!.batch, { count: 1, index: 0, path: [] });
    assert.equal(openSignedDelta(d, Buffer.from(key.publicKey, 'base64'), 'sys0').version, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a pass larger than a slice is signed slice by slice, each frame handed out as its slice fills', () => {
  const dir = mkdtempSync(join(tmpdir(), 'warren-dbatch-'));
  try {
    const { key } = loadOrCreateSigningKey(join(dir, 'signing.key'));
    const pinned = Buffer.from(key.publicKey, 'base64');
    const batch = new DeltaBatch(key, 4);
    const out: SignedMapDelta[] = [];
    for (let i = 0; i < 10; i++) {
      batch.add(deltaText(i), (f) => (out[i] = signedOf(f)));
      // The slice's frames come as soon as it is full, before the pass seals the rest.
      assert.equal(out.filter(Boolean).length, Math.floor((i + 1) / 4) * 4, `frames after delta ${i}`);
    }
    batch.seal();
    assert.deepEqual(
      out.map((d) => d.batch?.count),
      [4, 4, 4, 4, 4, 4, 4, 4, 2, 2],
    );
    assert.equal(new Set(out.map((d) => d.signature)).size, 3, 'one signature per slice');
    out.forEach((d, i) => assert.equal(openSignedDelta(d, pinned, `sys${i}`).systemId, `sys${i}`));
    assert.throws(() => openSignedDelta({ ...out[0]!, signature: out[4]!.signature }, pinned, 'sys0'), DeltaRefused);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
