// Rate limits by source: which prefix an address belongs to (IPv4 /24, IPv6 /64, mapped IPv4 as
// IPv4), and a SourceLimiter that refuses a prefix's addresses together once the prefix's bucket
// is empty while other prefixes go on, with its tables bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RateLimiter, SourceLimiter, sourcePrefix } from './rate-limit.js';

test('sourcePrefix: IPv4 /24, IPv6 /64, IPv4-mapped IPv6 as IPv4, anything else as itself', () => {
  assert.equal(sourcePrefix('203.0.113.7'), sourcePrefix('203.0.113.250'));
  assert.notEqual(sourcePrefix('203.0.113.7'), sourcePrefix('203.0.114.7'));
  assert.equal(sourcePrefix('::ffff:203.0.113.9'), sourcePrefix('203.0.113.7'));
  assert.equal(sourcePrefix('2001:db8:1:2::1'), sourcePrefix('2001:db8:1:2:ffff:ffff:ffff:ffff'));
  assert.equal(sourcePrefix('2001:db8:1:2::1'), sourcePrefix('2001:0db8:0001:0002:0:0:0:9'));
  assert.notEqual(sourcePrefix('2001:db8:1:2::1'), sourcePrefix('2001:db8:1:3::1'));
  assert.notEqual(sourcePrefix('2001:db8::1'), sourcePrefix('2001:db9::1'));
  assert.equal(sourcePrefix('not an address'), 'not an address');
});

test('SourceLimiter: addresses of one /24 share its bucket; another /24 is not affected', () => {
  const l = new SourceLimiter({
    address: { perSecond: 1, burst: 2 },
    prefix: { perSecond: 1, burst: 3 },
    maxSources: 100,
  });
  const now = 1_000_000;
  // Per address: two, then no more from that address (which leaves the prefix's bucket alone).
  assert.ok(l.allow('198.51.100.1', now));
  assert.ok(l.allow('198.51.100.1', now));
  assert.equal(l.allow('198.51.100.1', now), false);
  // The prefix's third token goes to a neighbour; then the /24 is empty for every address in it.
  assert.ok(l.allow('198.51.100.2', now));
  assert.equal(l.allow('198.51.100.3', now), false);
  assert.ok(l.allow('198.51.101.1', now), 'another /24 has its own bucket');
  // A second later the /24 has one token back: one neighbour gets it, the next does not.
  assert.ok(l.allow('198.51.100.3', now + 1000));
  assert.equal(l.allow('198.51.100.4', now + 1000), false);
  // IPv6: the same /64 shares, another /64 does not.
  assert.ok(l.allow('2001:db8::1', now));
  assert.ok(l.allow('2001:db8::2', now));
  assert.ok(l.allow('2001:db8::3', now));
  assert.equal(l.allow('2001:db8::4', now), false);
  assert.ok(l.allow('2001:db8:0:1::4', now));
});

test('RateLimiter keeps at most maxKeys buckets, forgetting the oldest', () => {
  const r = new RateLimiter(1, 1, 3);
  for (const k of ['a', 'b', 'c', 'd', 'e']) assert.ok(r.allow(k, 0));
  assert.equal(r.size, 3);
  // 'a' was forgotten, so it has a fresh bucket; 'e' is still empty.
  assert.ok(r.allow('a', 0));
  assert.equal(r.allow('e', 0), false);
});
