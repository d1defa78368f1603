import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keyFingerprint } from './fingerprint.js';

test('keyFingerprint is the first 16 bytes of SHA-256 of the raw key in groups of four hex digits', () => {
  // SHA-256 of 32 zero bytes is 66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925.
  assert.equal(keyFingerprint(Buffer.alloc(32)), '6668-7aad-f862-bd77-6c8f-c18b-8e9f-8e20');
  assert.notEqual(keyFingerprint(Buffer.alloc(32, 1)), keyFingerprint(Buffer.alloc(32)));
});
