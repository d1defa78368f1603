import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OneTimeCodes, type CodeEnd } from './codes.js';

/** clocked is a OneTimeCodes on a clock the test moves. */
function clocked(): { codes: OneTimeCodes; advance(ms: number): void } {
  let now = 1_000_000;
  return { codes: new OneTimeCodes(() => now), advance: (ms) => (now += ms) };
}

test('a code is 32 random bytes as base64url and redeems once', () => {
  const { codes } = clocked();
  const ends: CodeEnd[] = [];
  const code = codes.mint(60_000, (e) => ends.push(e));
  assert.match(code, /^[A-Za-z0-9_-]{43}$/);
  assert.notEqual(codes.mint(60_000), code, 'each code is new');
  assert.equal(codes.redeem(code), true);
  assert.deepEqual(ends, ['used']);
  assert.equal(codes.redeem(code), false, 'the second exchange is refused');
  assert.deepEqual(ends, ['used'], 'onEnd is told once');
  codes.closeAll();
});

test('a code is refused from the moment it expires, and a refused guess spends nothing', () => {
  const { codes, advance } = clocked();
  const a = codes.mint(60_000);
  const b = codes.mint(60_000);
  assert.equal(codes.redeem(a.slice(0, -1) + (a.endsWith('A') ? 'B' : 'A')), false);
  assert.equal(codes.redeem(a.slice(0, 20)), false);
  assert.equal(codes.redeem(''), false);
  assert.equal(codes.size, 2, 'wrong guesses end no code');
  advance(59_999);
  assert.equal(codes.redeem(a), true, 'just in time');
  advance(1);
  assert.equal(codes.redeem(b), false, 'at 60 s it has expired');
  assert.equal(codes.size, 0, 'the expired code is gone too');
});

test('the timer ends an unused code as expired; closeAll ends the rest as closed', async () => {
  const codes = new OneTimeCodes();
  const ends: string[] = [];
  codes.mint(20, (e) => ends.push(`short ${e}`));
  codes.mint(60_000, (e) => ends.push(`long ${e}`));
  await new Promise((r) => setTimeout(r, 80));
  assert.deepEqual(ends, ['short expired']);
  codes.closeAll();
  assert.deepEqual(ends, ['short expired', 'long closed']);
  assert.equal(codes.size, 0);
});

test('at most 8 codes are alive: a ninth ends the oldest', () => {
  const { codes } = clocked();
  const ends: string[] = [];
  const minted = Array.from({ length: 9 }, (_, i) => codes.mint(60_000, (e) => ends.push(`${i} ${e}`)));
  assert.deepEqual(ends, ['0 expired']);
  assert.equal(codes.size, 8);
  assert.equal(codes.redeem(minted[0]!), false);
  assert.equal(codes.redeem(minted[8]!), true);
  codes.closeAll();
});
