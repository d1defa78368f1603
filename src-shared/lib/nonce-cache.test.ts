import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NonceCache } from './nonce-cache.js';

test('NonceCache forgets after its lifetime and is bounded per system and in total', () => {
  const c = new NonceCache(1000, { total: 5, perSystem: 3 });
  assert.equal(c.admit('a', '1', 0), 'ok');
  assert.equal(c.admit('a', '1', 999), 'replay');
  assert.equal(c.admit('a', '2', 10), 'ok');
  assert.equal(c.admit('a', '3', 20), 'ok');
  assert.equal(c.admit('a', '4', 30), 'rate-limited');
  assert.equal(c.admit('b', '1', 40), 'ok');
  assert.equal(c.admit('c', '1', 50), 'ok');
  assert.equal(c.admit('d', '1', 60), 'rate-limited');
  // After 1000 ms the first entries expire, freeing room for both limits.
  assert.equal(c.admit('a', '1', 1001), 'ok');
  assert.equal(c.admit('d', '1', 1011), 'ok');
  assert.ok(c.size <= 5);
});
