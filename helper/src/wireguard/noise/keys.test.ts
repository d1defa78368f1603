// Static keys: RFC 7748 derivation, clamping and the strict text format.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatKey, generatePrivateKey, parseKey, publicKeyFromPrivate } from './keys.js';

test('publicKeyFromPrivate follows RFC 7748 §6.1', () => {
  const alice = Buffer.from('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a', 'hex');
  assert.equal(publicKeyFromPrivate(alice).toString('hex'), '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
  assert.throws(() => publicKeyFromPrivate(Buffer.alloc(31)), /32 bytes/);
});

test('generatePrivateKey returns fresh clamped keys', () => {
  const a = generatePrivateKey();
  const b = generatePrivateKey();
  assert.equal(a.length, 32);
  assert.notDeepEqual(a, b);
  for (const k of [a, b]) {
    assert.equal(k[0]! & 7, 0);
    assert.equal(k[31]! & 0x80, 0);
    assert.equal(k[31]! & 0x40, 0x40);
  }
});

test('formatKey and parseKey round-trip', () => {
  const k = generatePrivateKey();
  const text = formatKey(k);
  assert.equal(text.length, 44);
  assert.deepEqual(parseKey(text), k);
  assert.throws(() => formatKey(Buffer.alloc(16)), /32 bytes/);
});

test('parseKey refuses anything but 32 bytes of canonical base64', () => {
  const good = formatKey(Buffer.alloc(32, 7));
  const cases: Array<[string, string]> = [
    ['empty', ''],
    ['too short', good.slice(0, 43)],
    ['too long', good + 'A'],
    ['missing padding', good.slice(0, 43) + 'A'],
    ['non-canonical last character', good.slice(0, 42) + 'B='],
    ['invalid character', '!' + good.slice(1)],
    ['surrounding whitespace', ` ${good}`],
    ['hex instead of base64', Buffer.alloc(32, 7).toString('hex')],
    ['url-safe alphabet', good.replace(/\+/g, '-').replace(/\//g, '_').slice(0, 42) + '-='],
    ['16 bytes', Buffer.alloc(16).toString('base64')],
  ];
  for (const [name, text] of cases) {
    assert.throws(() => parseKey(text), /must be 32 bytes of base64/, name);
  }
});
