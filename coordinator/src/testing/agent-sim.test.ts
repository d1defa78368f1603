import { test } from 'node:test';
import assert from 'node:assert/strict';
import { peekMapVersion } from './agent-sim.js';

test('peekMapVersion reads the version from the payload head', () => {
  const payload = Buffer.from('{"protocol":1,"version":4711,"generatedAt":1,"systemId":"s"}').toString('base64');
  assert.equal(peekMapVersion(JSON.stringify({ type: 'map', map: { payload, signature: 'x' } })), 4711);
  assert.equal(peekMapVersion('{"type":"ping","ts":1}'), null);
});
