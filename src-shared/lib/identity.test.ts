import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { CROCKFORD_ALPHABET, formatIdentity, IDENTITY_SPACE, identityFromPublicKey, isIdentity } from './identity.js';
import { generatePrivateKey, parseKey, publicKeyFromPrivate } from './keys.js';

// An independent spelling of the rule, via a bit string, to check the arithmetic.
function viaBitString(pub: Buffer): string {
  const h = createHash('sha256').update(pub).digest();
  const bits = [...h.subarray(0, 4)]
    .map((b) => b.toString(2).padStart(8, '0'))
    .join('')
    .slice(0, 25);
  let out = '';
  for (let i = 0; i < 25; i += 5) out += CROCKFORD_ALPHABET[parseInt(bits.slice(i, i + 5), 2)];
  return out;
}

test('identityFromPublicKey takes the first 25 bits of SHA-256, Crockford base32', () => {
  const keys = [
    Buffer.alloc(32),
    Buffer.alloc(32, 0xff),
    parseKey('xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg='),
    ...Array.from({ length: 50 }, () => publicKeyFromPrivate(generatePrivateKey())),
  ];
  for (const k of keys) {
    const id = identityFromPublicKey(k);
    assert.equal(id, viaBitString(k));
    assert.ok(isIdentity(id), id);
  }
});

test('identityFromPublicKey known value', () => {
  // SHA-256 of 32 zero bytes starts 66 68 7a ad: 01100 11001 10100 00111 10101 = C S M 7 N.
  assert.equal(identityFromPublicKey(Buffer.alloc(32)), 'CSM7N');
});

test('isIdentity', () => {
  const cases: [string, boolean][] = [
    ['G982V', true],
    ['g982v', false],
    ['G982', false],
    ['G98IV', false],
    ['G98UV', false],
  ];
  for (const [s, want] of cases) assert.equal(isIdentity(s), want, s);
});

test('formatIdentity writes every number of the space, and nothing outside it', () => {
  assert.equal(formatIdentity(0), '00000');
  assert.equal(formatIdentity(IDENTITY_SPACE - 1), 'ZZZZZ');
  // 0b00001_00010_00011_00100_00101 is 1, 2, 3, 4, 5 in base 32.
  assert.equal(formatIdentity(1 * 32 ** 4 + 2 * 32 ** 3 + 3 * 32 ** 2 + 4 * 32 + 5), '12345');
  for (const bad of [-1, IDENTITY_SPACE, 1.5, Number.NaN])
    assert.throws(() => formatIdentity(bad), RangeError, String(bad));
});
