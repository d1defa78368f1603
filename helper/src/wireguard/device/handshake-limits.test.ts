// HandshakeLimits: per-source shares before any Diffie-Hellman, cookie replies instead of
// processing (WireGuard whitepaper §5.3, §5.4.7), and their limits per source and in total.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  COOKIE_BURST_PER_SOURCE,
  COOKIES_PER_SECOND,
  HANDSHAKE_BURST_PER_SOURCE,
  HANDSHAKES_PER_SECOND_PER_SOURCE,
  HandshakeLimits,
  MAX_SOURCES,
} from './handshake-limits.js';

type Verdict = ReturnType<HandshakeLimits['admit']>;

function times(n: number, fn: () => Verdict): Verdict[] {
  return Array.from({ length: n }, fn);
}

test('an address gets its burst processed, then cookie replies, then refills at its rate', () => {
  const l = new HandshakeLimits();
  const now = 5000;
  const first = times(HANDSHAKE_BURST_PER_SOURCE, () => l.admit('192.0.2.1', false, false, now));
  assert.deepEqual(new Set(first), new Set(['process']));
  // Past its share the address must prove itself, as everyone must under load.
  assert.equal(l.admit('192.0.2.1', false, false, now), 'cookie');
  // Another address is not affected.
  assert.equal(l.admit('192.0.2.2', false, false, now), 'process');
  // One token comes back every 1000 / HANDSHAKES_PER_SECOND_PER_SOURCE ms.
  const later = now + 1000 / HANDSHAKES_PER_SECOND_PER_SOURCE;
  assert.equal(l.admit('192.0.2.1', false, false, later), 'process');
  assert.equal(l.admit('192.0.2.1', false, false, later), 'cookie');
});

test('a proven address keeps its own share: spoofing it without its cookie cannot lock it out', () => {
  const l = new HandshakeLimits();
  const now = 0;
  // A spoofer sends as 192.0.2.1 without the cookie: it drains the unproven share and the
  // cookie replies to that address.
  times(100, () => l.admit('192.0.2.1', false, false, now));
  assert.equal(l.admit('192.0.2.1', false, false, now), 'cookie-rate-limited');
  // The real owner holds a cookie, so its messages are proven and still processed.
  const owner = times(HANDSHAKE_BURST_PER_SOURCE, () => l.admit('192.0.2.1', true, false, now));
  assert.deepEqual(new Set(owner), new Set(['process']));
  assert.equal(l.admit('192.0.2.1', true, false, now), 'handshake-rate-limited');
});

test('under load only proven messages are processed, still within their share', () => {
  const l = new HandshakeLimits();
  assert.equal(l.admit('192.0.2.1', false, true, 0), 'cookie');
  const proven = times(HANDSHAKE_BURST_PER_SOURCE + 1, () => l.admit('192.0.2.1', true, true, 0));
  assert.deepEqual(proven.slice(0, -1), Array(HANDSHAKE_BURST_PER_SOURCE).fill('process'));
  assert.equal(proven.at(-1), 'handshake-rate-limited');
});

test('cookie replies are limited per address and in total', () => {
  const l = new HandshakeLimits();
  const one = times(COOKIE_BURST_PER_SOURCE + 1, () => l.admit('192.0.2.1', false, true, 0));
  assert.deepEqual(one.slice(0, -1), Array(COOKIE_BURST_PER_SOURCE).fill('cookie'));
  assert.equal(one.at(-1), 'cookie-rate-limited');
  // Many addresses, one message each: the total stops them at COOKIES_PER_SECOND (its burst).
  let cookies = COOKIE_BURST_PER_SOURCE;
  let limited = 0;
  for (let i = 0; i < COOKIES_PER_SECOND * 2; i++) {
    const v = l.admit(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, false, true, 0);
    if (v === 'cookie') cookies++;
    else if (v === 'cookie-rate-limited') limited++;
  }
  assert.equal(cookies, COOKIES_PER_SECOND);
  assert.equal(limited, COOKIES_PER_SECOND * 2 - (COOKIES_PER_SECOND - COOKIE_BURST_PER_SOURCE));
});

test('the tables stay bounded however many addresses send, and quiet ones are swept', () => {
  const l = new HandshakeLimits();
  for (let i = 0; i < MAX_SOURCES * 3; i++) {
    l.admit(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, i % 2 === 0, false, 0);
  }
  assert.ok(l.sources <= MAX_SOURCES, `${l.sources} addresses tracked`);
  assert.ok(l.sources > 0);
  l.sweep(60_000);
  assert.equal(l.sources, 0);
});
