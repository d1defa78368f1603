// Bounded fuzzing of the IP parsers: seeded, so a failure names an input that reproduces it, and
// small enough to finish in well under a second on a shared machine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isIPv6 } from 'node:net';
import { formatIPv6, ipv6FromBytes, parseIPv6, parseScopedIPv6, type IPv6 } from './ipv6.js';
import { formatIp, formatIpPrefix, parseIp, parseIpPrefix } from './addr.js';
import { formatIpEndpoint, parseIpEndpoint } from './endpoint.js';

/** xorshift32 returns a seeded generator of unsigned 32-bit numbers (Marsaglia's xorshift). */
function xorshift32(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    return x;
  };
}

/**
 * spell writes eight groups in one of the many valid RFC 4291 §2.2 spellings, chosen at random:
 * zero-padded or not, either case, a dotted low 32 bits or not, any zero run as "::" or none.
 */
function spell(groups: number[], next: () => number): string {
  const dotted = (next() & 3) === 0;
  const n = dotted ? 6 : 8;
  const parts = groups.slice(0, n).map((x) => {
    const h = next() & 1 ? x.toString(16).padStart(4, '0') : x.toString(16);
    return next() & 1 ? h.toUpperCase() : h;
  });
  if (dotted) parts.push([groups[6]! >>> 8, groups[6]! & 255, groups[7]! >>> 8, groups[7]! & 255].join('.'));
  const zeros = groups.slice(0, n).flatMap((x, i) => (x === 0 ? [i] : []));
  if (zeros.length === 0 || (next() & 1) === 0) return parts.join(':');
  const start = zeros[next() % zeros.length]!;
  let end = start + 1;
  while (end < n && groups[end] === 0 && (next() & 3) !== 0) end++;
  return `${parts.slice(0, start).join(':')}::${parts.slice(end).join(':')}`;
}

/** mutate inserts, deletes or replaces one character of s. */
function mutate(s: string, alphabet: string, next: () => number): string {
  const at = next() % (s.length + 1);
  const c = alphabet[next() % alphabet.length]!;
  switch (next() % 3) {
    case 0:
      return s.slice(0, at) + c + s.slice(at);
    case 1:
      return s.slice(0, at) + s.slice(at + 1);
    default:
      return s.slice(0, at) + c + s.slice(at + 1);
  }
}

/** validWords tells whether every word is an unsigned 32-bit integer. */
function validWords(a: IPv6): boolean {
  return [a.w0, a.w1, a.w2, a.w3].every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffffffff);
}

test('random addresses survive format then parse unchanged, in canonical text', () => {
  const next = xorshift32(0x5eed1);
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 3000; i++) {
    // Zero groups are made common, so that runs of every length and position are formatted.
    for (let j = 0; j < 16; j += 2) {
      const r = next();
      const group = r & 1 ? 0 : r >>> 16;
      bytes[j] = group >>> 8;
      bytes[j + 1] = group & 255;
    }
    if ((next() & 15) === 0) bytes.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]); // IPv4-mapped now and then
    const a = ipv6FromBytes(bytes)!;
    const text = formatIPv6(a);
    const hex = Buffer.from(bytes).toString('hex');
    assert.ok(text.length <= 45 && /^[0-9a-f:.]+$/.test(text), `${hex} -> ${text}`);
    assert.deepEqual(parseIPv6(text), a, `${hex} -> ${text}`);
    assert.equal(formatIp(parseIp(text)!), text, hex);
    const endpoint = `[${text}]:${1 + (i % 65535)}`;
    assert.equal(formatIpEndpoint(parseIpEndpoint(endpoint)!), endpoint, hex);
  }
});

test('random short strings never make a parser throw, and IPv6 acceptance agrees with node:net', () => {
  const next = xorshift32(0xc0ffee);
  const alphabet = '0123456789abcdefABCDEF:.[]%/';
  const tokens = [
    '0',
    '1',
    'ff',
    'ffff',
    'fffff',
    '0db8',
    ':',
    ':',
    ':',
    '::',
    '.',
    '1.2.3.4',
    '01.2.3.4',
    '255.255.255.255',
    '[',
    ']',
    '%',
    '%eth0',
    '/',
    '/64',
    ':80',
    'fe80',
    '::ffff:',
  ];
  let accepted = 0;
  for (let i = 0; i < 18000; i++) {
    let s = '';
    const len = next() % 48;
    if (i % 3 === 0) {
      while (s.length < len) s += alphabet[next() % alphabet.length];
    } else if (i % 3 === 1) {
      while (s.length < len) s += tokens[next() % tokens.length];
    } else {
      const groups = Array.from({ length: 8 }, () => (next() & 1 ? 0 : next() >>> 16));
      s = spell(groups, next);
      if (next() & 1) {
        s = mutate(s, alphabet, next);
      } else {
        const b = Uint8Array.from(groups.flatMap((x) => [x >>> 8, x & 255]));
        assert.deepEqual(parseIPv6(s), ipv6FromBytes(b), `${s} spells ${groups.map((x) => x.toString(16)).join(':')}`);
      }
    }
    const v6 = parseIPv6(s);
    parseScopedIPv6(s);
    const anyIp = parseIp(s);
    const prefix = parseIpPrefix(s);
    const endpoint = parseIpEndpoint(s);
    if (v6 !== null) {
      accepted++;
      assert.ok(validWords(v6), s);
      assert.deepEqual(parseIPv6(formatIPv6(v6)), v6, s);
      // WHATWG URL parses IPv6 hosts independently of this code; same value, whatever the text.
      assert.deepEqual(parseIPv6(new URL(`http://[${s}]/`).hostname.slice(1, -1)), v6, s);
    }
    if (!s.includes('%')) assert.equal(v6 !== null, isIPv6(s), s);
    if (anyIp !== null) assert.deepEqual(parseIp(formatIp(anyIp)), anyIp, s);
    if (prefix !== null) assert.deepEqual(parseIpPrefix(formatIpPrefix(prefix)), prefix, s);
    if (endpoint !== null) assert.deepEqual(parseIpEndpoint(formatIpEndpoint(endpoint)), endpoint, s);
  }
  // The spelled strings reach the accepting paths too, not only the early refusals.
  assert.ok(accepted > 3000, `only ${accepted} accepted`);
});
