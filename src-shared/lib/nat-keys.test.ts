// NAT keys and MACs: the derivation is HKDF-SHA256 as RFC 5869 defines it (checked against
// OpenSSL's through node:crypto's hkdfSync), each relay name and each system id gets its own
// key, and natMacOk accepts exactly the MAC natMac makes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { NatKeys, natMac, natMacOk } from './nat-keys.js';

const secret = randomBytes(32);

test('relay and discovery keys are HKDF-SHA256 of the secret (RFC 5869), one per name and per id', () => {
  const keys = new NatKeys(secret);
  const hkdf = (info: string): Buffer => Buffer.from(hkdfSync('sha256', secret, 'warren-nat-keys-v1', info, 32));
  assert.deepEqual(keys.relayKey('eu-1'), hkdf('warren-relay-key-v1\neu-1'));
  assert.deepEqual(keys.discoveryKey('sys-abc'), hkdf('warren-discovery-key-v1\nsys-abc'));
  // The same text as a relay name and as a system id gives two keys.
  assert.notDeepEqual(keys.relayKey('x'), keys.discoveryKey('x'));
  assert.notDeepEqual(keys.relayKey('eu-1'), keys.relayKey('eu-2'));
  // Another secret, other keys; the same secret, the same keys.
  assert.notDeepEqual(new NatKeys(randomBytes(32)).relayKey('eu-1'), keys.relayKey('eu-1'));
  assert.deepEqual(new NatKeys(Buffer.from(secret)).relayKey('eu-1'), keys.relayKey('eu-1'));
  assert.throws(() => new NatKeys(randomBytes(31)), /32 bytes/);
});

test('natMac is HMAC-SHA256 over context and bytes, truncated to 16 bytes; natMacOk takes nothing else', () => {
  const key = randomBytes(32);
  const bytes = randomBytes(100);
  const mac = natMac(key, 'ctx\n', bytes);
  const full = createHmac('sha256', key)
    .update(Buffer.concat([Buffer.from('ctx\n'), bytes]))
    .digest();
  assert.deepEqual(mac, full.subarray(0, 16));
  assert.ok(natMacOk(key, 'ctx\n', bytes, mac));
  for (let i = 0; i < 16; i++) {
    const m: Buffer = Buffer.from(mac);
    m[i]! ^= 0x01;
    assert.equal(natMacOk(key, 'ctx\n', bytes, m), false, `a flipped bit in byte ${i}`);
  }
  assert.equal(natMacOk(key, 'other\n', bytes, mac), false, 'another context');
  assert.equal(natMacOk(randomBytes(32), 'ctx\n', bytes, mac), false, 'another key');
  assert.equal(natMacOk(key, 'ctx\n', bytes.subarray(1), mac), false, 'other bytes');
  assert.equal(natMacOk(key, 'ctx\n', bytes, mac.subarray(0, 15)), false, 'a short MAC');
  assert.equal(natMacOk(key, 'ctx\n', bytes, full), false, 'the untruncated HMAC');
});
