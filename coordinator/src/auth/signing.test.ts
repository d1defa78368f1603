import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nacl from 'tweetnacl';
import { MAP_SIGNATURE_CONTEXT } from '../../../src-shared/wire/control.js';
import { loadOrCreateSigningKey, signMapPayload, verifySignedMap } from './signing.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'warren-signing-'));
}

test('the key is created once with mode 0600 and loads back the same', () => {
  const dir = tempDir();
  try {
    const file = join(dir, 'signing.key');
    const first = loadOrCreateSigningKey(file);
    assert.equal(first.created, true);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const again = loadOrCreateSigningKey(file);
    assert.equal(again.created, false);
    assert.equal(again.key.publicKey, first.key.publicKey);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a damaged key file is refused with advice, not replaced', () => {
  const dir = tempDir();
  try {
    const file = join(dir, 'signing.key');
    writeFileSync(file, 'not a key\n', { mode: 0o600 });
    assert.throws(() => loadOrCreateSigningKey(file), /does not hold an Ed25519 key/);
    assert.equal(readFileSync(file, 'utf8'), 'not a key\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('map signatures verify with tweetnacl over the documented bytes, and tampering fails', () => {
  const dir = tempDir();
  try {
    const { key } = loadOrCreateSigningKey(join(dir, 'signing.key'));
    const payload = Buffer.from(JSON.stringify({ version: 7, peers: [] }));
    const signed = signMapPayload(key, payload);
    const message = Buffer.concat([Buffer.from(MAP_SIGNATURE_CONTEXT), payload]);
    const ok = nacl.sign.detached.verify(
      message,
      Buffer.from(signed.signature, 'base64'),
      Buffer.from(key.publicKey, 'base64'),
    );
    assert.equal(ok, true);
    assert.deepEqual(verifySignedMap(key.publicKey, signed), payload);
    const tampered = { ...signed, payload: Buffer.from(JSON.stringify({ version: 8, peers: [] })).toString('base64') };
    assert.equal(verifySignedMap(key.publicKey, tampered), null);
    const other = nacl.sign.keyPair();
    assert.equal(verifySignedMap(Buffer.from(other.publicKey).toString('base64'), signed), null);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
