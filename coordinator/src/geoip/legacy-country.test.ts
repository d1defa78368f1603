// The legacy country reader treats its file as untrusted: hand-made trees (a loop, a pointer
// past the end, the wrong edition) and Debian's file truncated or with random bytes changed
// either load or fail with GeoIpFileError, and a loaded tree answers every lookup in bounded
// steps with null or a code from the table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { randomBytes, randomInt } from 'node:crypto';
import { COUNTRY_BEGIN, GeoIpFileError, parseCountryTree, type CountryTree } from './legacy-country.js';
import { LEGACY_COUNTRY_CODES } from './country-codes.js';
import { DEBIAN_GEOIP_FILES } from './geoip.js';

/** tree builds a file from [left, right] records and an edition byte. */
function tree(nodes: [number, number][], edition: number): Uint8Array {
  const out = Buffer.alloc(nodes.length * 6 + 4);
  nodes.forEach(([l, r], i) => {
    out.writeUIntLE(l, i * 6, 3);
    out.writeUIntLE(r, i * 6 + 3, 3);
  });
  out.set([0xff, 0xff, 0xff, edition], nodes.length * 6);
  return out;
}

const leaf = (code: string) => COUNTRY_BEGIN + LEGACY_COUNTRY_CODES.indexOf(code);
const bits = (n: number) => (i: number) => (n >>> (31 - i)) & 1;

test('a two-level hand-made tree answers by the leading address bits', () => {
  // 0.0.0.0/1 → node 1 (0/2 DE, 64/2 unknown); 128.0.0.0/1 → FR.
  const t = parseCountryTree(
    tree(
      [
        [1, leaf('FR')],
        [leaf('DE'), COUNTRY_BEGIN],
      ],
      1,
    ),
    'hand.dat',
  );
  assert.equal(t.family, 4);
  assert.equal(t.country(bits(0x01020304)), 'DE');
  assert.equal(t.country(bits(0x41020304)), null);
  assert.equal(t.country(bits(0x81020304)), 'FR');
  const six = parseCountryTree(tree([[leaf('JP'), leaf('US')]], 12), 'hand6.dat');
  assert.equal(six.family, 6);
});

test('a loop in the tree ends after one step per address bit, with no country', () => {
  const t = parseCountryTree(tree([[0, 0]], 1), 'loop.dat');
  assert.equal(t.country(bits(0x08080808)), null);
  const t6 = parseCountryTree(
    tree(
      [
        [1, 1],
        [0, 0],
      ],
      12,
    ),
    'loop6.dat',
  );
  assert.equal(
    t6.country(() => 1),
    null,
  );
});

test('a record pointing past the tree, the wrong edition and a missing marker are refused', () => {
  assert.throws(
    () =>
      parseCountryTree(
        tree(
          [
            [1, leaf('FR')],
            [7, 0],
          ],
          1,
        ),
        'bad.dat',
      ),
    (e: unknown) => e instanceof GeoIpFileError && /bad\.dat is corrupt: node 1 points at node 7/.test(e.message),
  );
  // Edition 2 is City Rev 1: another record layout, so it is refused rather than misread.
  assert.throws(
    () => parseCountryTree(tree([[leaf('FR'), leaf('DE')]], 2), 'city.dat'),
    /city\.dat is a GeoIP Legacy database of edition 2, not a country edition/,
  );
  assert.throws(() => parseCountryTree(new Uint8Array(64), 'zero.dat'), /zero\.dat is not a GeoIP Legacy database/);
  assert.throws(() => parseCountryTree(new Uint8Array(0), 'empty.dat'), /not a GeoIP Legacy database/);
  assert.throws(() => parseCountryTree(Uint8Array.of(0xff, 0xff, 0xff, 1), 'bare.dat'), /holds no tree/);
});

/** probe loads bytes and, if they load, looks up random addresses: only GeoIpFileError may
 * come out, and every answer is null or a table code. */
function probe(bytes: Uint8Array, name: string): 'loaded' | 'refused' {
  let t: CountryTree;
  try {
    t = parseCountryTree(bytes, name);
  } catch (e) {
    assert.ok(e instanceof GeoIpFileError, `${name}: ${String(e)}`);
    return 'refused';
  }
  for (let k = 0; k < 50; k++) {
    const r = randomBytes(16);
    const c = t.country((i) => (r[i >> 3]! >>> (7 - (i & 7))) & 1);
    assert.ok(c === null || LEGACY_COUNTRY_CODES.includes(c), `${name}: ${String(c)}`);
  }
  return 'loaded';
}

const v4 = DEBIAN_GEOIP_FILES[0];
test(
  "Debian's file truncated or with bytes changed never throws another error",
  { skip: existsSync(v4) ? false : `needs ${v4}: apt-get install geoip-database` },
  () => {
    const whole = readFileSync(v4);
    const seen = { loaded: 0, refused: 0 };
    for (let k = 0; k < 40; k++) {
      // Truncated: the marker is gone unless the cut is at the very end.
      seen[probe(whole.subarray(0, randomInt(whole.length)), `truncated-${k}`)]++;
    }
    for (let k = 0; k < 40; k++) {
      const copy = Buffer.from(whole);
      // Corrupt the tree near the root, where every lookup passes, and anywhere else.
      for (let j = 0; j < 8; j++) copy[randomInt(j < 4 ? 600 : copy.length)] = randomInt(256);
      seen[probe(copy, `corrupt-${k}`)]++;
    }
    // Keeping the marker but cutting the tree short makes pointers reach past the end.
    const cut = Buffer.concat([whole.subarray(0, 6000), whole.subarray(whole.length - 4)]);
    assert.equal(probe(cut, 'cut'), 'refused');
    assert.ok(seen.refused > 0, 'some damaged files are refused');
  },
);
