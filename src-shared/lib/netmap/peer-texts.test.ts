// Cutting the peers' texts out of a held map's prefix (peer-texts.ts): each cut text is the
// peer's JSON.stringify, whatever its strings hold, and text of any other shape gives null.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { peerTextsOf } from './peer-texts.js';

/** prefixOf writes fields as a prefix does: each `"key":value` followed by a comma. */
function prefixOf(fields: Record<string, unknown>): string {
  return Object.entries(fields)
    .map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)},`)
    .join('');
}

// Strings that a scan which ignored strings or escapes would split or nest on.
const TRICKY = ['a,b', '}', ']', '{"x":[', '\\', '\\"', '"peers":[', 'é😀', '\\\\"],{', ''];

test('the peers are cut from a prefix as their JSON.stringify texts, whatever their strings hold', () => {
  const peers = TRICKY.map((name, i) => ({
    identity: `ID${i}`,
    name,
    endpoints: [name, `${i}`],
    nested: { list: [{ name }, []], empty: {} },
  }));
  const prefix = prefixOf({ systemId: 's1', self: { name: '"peers":[{}]', peers: [1, 2] }, zone: 'z', peers });
  assert.deepEqual(
    peerTextsOf(prefix),
    peers.map((p) => JSON.stringify(p)),
  );
  assert.deepEqual(peerTextsOf(prefixOf({ systemId: 's1', peers: [] })), []);
});

test('randomly built peers are cut exactly (200 lists)', () => {
  let seed = 7;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const value = (depth: number): unknown => {
    switch (rand(depth > 2 ? 4 : 6)) {
      case 0:
        return TRICKY[rand(TRICKY.length)];
      case 1:
        return rand(1000) - 500;
      case 2:
        return rand(2) === 0;
      case 3:
        return null;
      case 4:
        return Array.from({ length: rand(4) }, () => value(depth + 1));
      default:
        return Object.fromEntries(
          Array.from({ length: rand(4) }, (_, i) => [`${TRICKY[rand(TRICKY.length)]}${i}`, value(depth + 1)]),
        );
    }
  };
  for (let round = 0; round < 200; round++) {
    const peers = Array.from({ length: rand(6) }, (_, i) => ({ identity: `P${i}`, extra: value(0) }));
    const prefix = prefixOf({ systemId: 's1', self: value(0), network: value(0), peers });
    assert.deepEqual(
      peerTextsOf(prefix),
      peers.map((p) => JSON.stringify(p)),
      prefix,
    );
  }
});

test('a prefix of another shape gives null, not a wrong cut', () => {
  const peers = [{ identity: 'A' }, { identity: 'B' }];
  const good = prefixOf({ systemId: 's1', peers });
  assert.equal(peerTextsOf(good.slice(0, -1)), null, 'no comma after the list');
  assert.equal(peerTextsOf(prefixOf({ systemId: 's1' })), null, 'no peer list');
  assert.equal(peerTextsOf(prefixOf({ peers, zone: 'z' })), null, 'the list is not the last field');
  assert.equal(
    peerTextsOf(prefixOf({ systemId: 's1', peers: [{ identity: 'A' }, 'B'] })),
    null,
    'an element not an object',
  );
  assert.equal(peerTextsOf('"systemId":"s1,"peers":[{"identity":"A"}],'), null, 'a string that does not end');
  assert.equal(peerTextsOf('"peers":[{"identity":"A"}}],'), null, 'a brace that closes nothing');
  assert.equal(peerTextsOf(''), null);
});
