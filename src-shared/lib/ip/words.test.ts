// Addresses as four words (words.ts): IPv4 is written mapped and read back as family 4, IPv6
// round-trips at any index, equality spans both families in one comparison, and the fairness
// and rate keys group IPv4 by /24 (fairness) or address (rate) and IPv6 by /64.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIp, type IpAddress } from './addr.js';
import {
  copyWords,
  formatWords,
  readWordsAddress,
  sourceNetworkKey,
  sourceRateKey,
  wordsAreIPv4,
  wordsAreZero,
  wordsEqual,
  writeWordsAddress,
  writeWordsIPv4,
} from './words.js';

const ip = (s: string): IpAddress => parseIp(s)!;

/** at4 writes `s` at word index 4 of a fresh 12-word array. */
function at4(s: string): Uint32Array {
  const w = new Uint32Array(12);
  writeWordsAddress(w, 4, ip(s));
  return w;
}

test('IPv4 is written IPv4-mapped and read back as family 4', () => {
  const w = at4('192.0.2.1');
  assert.deepEqual(Array.from(w.subarray(4, 8)), [0, 0, 0xffff, 0xc0000201]);
  assert.equal(wordsAreIPv4(w, 4), true);
  assert.deepEqual(readWordsAddress(w, 4), { family: 4, v4: 0xc0000201 });
  assert.equal(formatWords(w, 4), '192.0.2.1');
  const v = new Uint32Array(4);
  writeWordsIPv4(v, 0, 0xc0000201);
  assert.equal(wordsEqual(v, 0, w, 4), true, 'writeWordsIPv4 is the same form');
});

test('a mapped IPv6 address and its IPv4 address are the same words', () => {
  assert.equal(wordsEqual(at4('::ffff:192.0.2.1'), 4, at4('192.0.2.1'), 4), true);
  assert.deepEqual(readWordsAddress(at4('::ffff:192.0.2.1'), 4), { family: 4, v4: 0xc0000201 });
});

test('IPv6 round-trips whole at any index and is not IPv4', () => {
  for (const s of ['2001:db8::1', '::1', 'fe80::1:2:3:4', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', '::fffe:0:1']) {
    const w = at4(s);
    assert.deepEqual(readWordsAddress(w, 4), ip(s), s);
    assert.equal(formatWords(w, 4), s);
  }
  assert.equal(wordsAreIPv4(at4('::1'), 4), false);
  assert.equal(wordsAreIPv4(at4('::fffe:0:1'), 4), false, '::fffe:0:1 is outside ::ffff:0:0/96');
  assert.equal(wordsAreIPv4(at4('1::ffff:0:1'), 4), false, 'and so is 1::ffff:0:1');
  assert.equal(wordsAreIPv4(at4('0.0.0.1'), 4), true);
  assert.equal(wordsEqual(at4('::1'), 4, at4('0.0.0.1'), 4), false, '::1 is not ::ffff:0.0.0.1');
});

test('wordsEqual compares all four words; copyWords copies them; wordsAreZero is ::', () => {
  const a = at4('2001:db8::1');
  for (let i = 0; i < 4; i++) {
    const b = at4('2001:db8::1');
    b[4 + i] = (b[4 + i]! ^ 1) >>> 0;
    assert.equal(wordsEqual(a, 4, b, 4), false, `word ${i} differs`);
  }
  const c = new Uint32Array(4);
  assert.equal(wordsAreZero(c, 0), true);
  copyWords(a, 4, c, 0);
  assert.equal(wordsEqual(a, 4, c, 0), true);
  assert.equal(wordsAreZero(c, 0), false);
});

test('sourceNetworkKey: IPv4 by /24 (a number), IPv6 by /64 (a string); the families never share a key', () => {
  assert.equal(sourceNetworkKey(at4('10.1.2.3'), 4), sourceNetworkKey(at4('10.1.2.250'), 4));
  assert.notEqual(sourceNetworkKey(at4('10.1.2.3'), 4), sourceNetworkKey(at4('10.1.3.3'), 4));
  assert.equal(typeof sourceNetworkKey(at4('10.1.2.3'), 4), 'number');
  assert.equal(sourceNetworkKey(at4('2001:db8:1:2::1'), 4), sourceNetworkKey(at4('2001:db8:1:2:ffff::'), 4));
  assert.notEqual(sourceNetworkKey(at4('2001:db8:1:2::1'), 4), sourceNetworkKey(at4('2001:db8:1:3::1'), 4));
  assert.equal(typeof sourceNetworkKey(at4('2001:db8:1:2::1'), 4), 'string');
});

test('sourceRateKey: an IPv4 address, or the /64 of an IPv6 one', () => {
  assert.equal(sourceRateKey(ip('192.0.2.1')), '192.0.2.1');
  assert.notEqual(sourceRateKey(ip('192.0.2.1')), sourceRateKey(ip('192.0.2.2')));
  assert.equal(sourceRateKey(ip('2001:db8:1:2::1')), '2001:db8:1:2::/64');
  assert.equal(sourceRateKey(ip('2001:db8:1:2:aaaa:bbbb:cccc:dddd')), '2001:db8:1:2::/64');
  assert.notEqual(sourceRateKey(ip('2001:db8:1:2::1')), sourceRateKey(ip('2001:db8:1:3::1')));
});
