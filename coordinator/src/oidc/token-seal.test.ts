// Sealed refresh tokens open only with the same admin token and for the same person.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TokenSeal } from './token-seal.js';

test('a sealed token opens for its person only, and not under another admin token', () => {
  const seal = new TokenSeal('wrn_admin-token-one');
  const sealed = seal.seal('refresh-abc', 'https://idp.example.com', 'alice');
  assert.doesNotMatch(sealed, /refresh-abc/);
  assert.notEqual(sealed, seal.seal('refresh-abc', 'https://idp.example.com', 'alice'), 'a fresh IV each time');
  assert.equal(seal.open(sealed, 'https://idp.example.com', 'alice'), 'refresh-abc');
  assert.equal(seal.open(sealed, 'https://idp.example.com', 'bob'), null, 'copied onto another row');
  assert.equal(new TokenSeal('wrn_admin-token-two').open(sealed, 'https://idp.example.com', 'alice'), null);
  assert.equal(seal.open(`${sealed.slice(0, -2)}AA`, 'https://idp.example.com', 'alice'), null, 'damaged');
  assert.equal(seal.open('plain-token', 'https://idp.example.com', 'alice'), null);
});
