// Untrusted input: ten thousand random, truncated, extended and bit-flipped datagrams of every
// type must each come back with a drop reason, never an exception, and leave the cores working.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { REKEY_TIMEOUT } from './constants.js';
import { sealTransport } from './transport.js';
import { control, deliverTransport, established, handshake, sendData, type Side } from './testkit.js';
import { DROP_REASONS, type DropReason } from './types.js';

const REASONS: ReadonlySet<DropReason> = new Set<DropReason>(DROP_REASONS);

function mutate(seed: Buffer): Buffer {
  switch (randomInt(5)) {
    case 0:
      return seed.subarray(0, randomInt(seed.length)); // truncated
    case 1:
      return Buffer.concat([seed, randomBytes(randomInt(1, 64))]); // extended
    case 2: {
      // a few bits flipped
      const b = Buffer.from(seed);
      for (let i = randomInt(1, 4); i > 0; i--) b[randomInt(b.length)]! ^= 1 << randomInt(8);
      return b;
    }
    case 3: {
      // random body behind a plausible type word
      const b = randomBytes(randomInt(0, 200));
      if (b.length >= 4) b.writeUInt32LE(randomInt(1, 5), 0);
      return b;
    }
    default:
      return randomBytes(randomInt(0, 200)); // pure noise
  }
}

function deliver(to: Side, from: Side, msg: Buffer, now: number): DropReason | null {
  if (msg.length >= 4 && msg.readUInt32LE(0) === 4) {
    const r = deliverTransport(to, msg, now);
    return 'drop' in r ? r.drop : null;
  }
  return control(to, from, msg, now).drop;
}

test('10k hostile datagrams are dropped with a reason and never throw', () => {
  let loaded = false;
  const { a, b, clock } = established({ underLoadB: () => loaded, underLoadA: () => loaded });
  // Seeds of every type, each already consumed once, so even a harmless change is a replay.
  clock.now = REKEY_TIMEOUT;
  const init = a.peer.initiate(clock.now)!;
  const resp = control(b, a, init, clock.now).reply!;
  assert.equal(control(a, b, resp, clock.now).drop, null);
  const data = sealTransport(a.peer.sendKeypair(clock.now)!, Buffer.from('seed payload'));
  assert.ok(!('drop' in deliverTransport(b, data, clock.now)));
  loaded = true;
  const cookieReply = control(b, a, a.peer.initiate(clock.now + REKEY_TIMEOUT)!, clock.now).reply!;
  loaded = false;
  const seeds: Array<[Side, Side, Buffer]> = [
    [b, a, init],
    [a, b, resp],
    [a, b, cookieReply],
    [b, a, data],
  ];

  const seen = new Map<string, number>();
  for (let i = 0; i < 10_000; i++) {
    const [to, from, seed] = seeds[i % seeds.length]!;
    const msg = mutate(seed);
    loaded = i % 7 === 0;
    let drop: DropReason | null;
    try {
      drop = deliver(to, from, msg, clock.now);
    } catch (err) {
      assert.fail(`threw on ${msg.toString('hex')}: ${String(err)}`);
    }
    if (drop === null) {
      // Only an unchanged seed may pass: a cookie reply can be applied twice.
      assert.ok(msg.equals(cookieReply), `accepted a mutated message ${msg.toString('hex')}`);
      continue;
    }
    assert.ok(REASONS.has(drop), `unknown reason ${drop}`);
    seen.set(drop, (seen.get(drop) ?? 0) + 1);
  }
  loaded = false;
  for (const r of [
    'bad-length',
    'bad-type',
    'bad-mac1',
    'unknown-index',
    'decrypt-failed',
    'replayed-counter',
  ] as const) {
    assert.ok((seen.get(r) ?? 0) > 0, `exercised ${r}`);
  }
  // Both cores still work.
  clock.now += 10 * REKEY_TIMEOUT;
  handshake(a, b, clock.now);
  assert.ok(!('drop' in sendData(a, b, Buffer.from('still fine'), clock.now)));
  assert.ok(!('drop' in sendData(b, a, Buffer.from('here too'), clock.now)));
});
