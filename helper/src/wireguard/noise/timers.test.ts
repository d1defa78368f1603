// The timers of whitepaper §6, driven through NoiseCore.tick and the peer's data hooks with a
// simulated clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  KEEPALIVE_TIMEOUT,
  LAST_MINUTE_REKEY_AGE,
  MAX_TIMER_HANDSHAKES,
  REJECT_AFTER_MESSAGES,
  REJECT_AFTER_TIME,
  REKEY_AFTER_MESSAGES,
  REKEY_AFTER_TIME,
  REKEY_ATTEMPT_TIME,
  REKEY_TIMEOUT,
  REKEY_TIMEOUT_JITTER_MAX,
  ZERO_KEYS_AFTER,
} from './constants.js';
import type { TickAction } from './peer.js';
import { sealTransport } from './transport.js';
import { pooledJitter } from './timers.js';
import { control, deliverTransport, established, handshake, makePair, sendData, type Side } from './testkit.js';

const kinds = (actions: TickAction[]): string[] => actions.map((a) => a.kind);

/** firstActionTime ticks `side` every `step` ms in [from, to] and returns when it first acts. */
function firstActionTime(side: Side, from: number, to: number, step = 1): { at: number; actions: TickAction[] } | null {
  for (let t = from; t <= to; t += step) {
    const actions = side.core.tick(t);
    if (actions.length > 0) return { at: t, actions };
  }
  return null;
}

test('constants follow the whitepaper', () => {
  assert.equal(REKEY_AFTER_TIME, 120_000);
  assert.equal(REJECT_AFTER_TIME, 180_000);
  assert.equal(REKEY_ATTEMPT_TIME, 90_000);
  assert.equal(REKEY_TIMEOUT, 5_000);
  assert.equal(KEEPALIVE_TIMEOUT, 10_000);
  assert.equal(ZERO_KEYS_AFTER, 540_000);
  assert.equal(MAX_TIMER_HANDSHAKES, 18);
  assert.equal(REKEY_AFTER_MESSAGES, 2 ** 60);
  assert.equal(REJECT_AFTER_MESSAGES, Number.MAX_SAFE_INTEGER);
});

test('an unanswered initiation is retransmitted after REKEY_TIMEOUT plus jitter', () => {
  const delays = new Set<number>();
  for (let trial = 0; trial < 20; trial++) {
    const { a } = makePair();
    assert.ok(a.peer.initiate(1000));
    const first = firstActionTime(a, 1000, 1000 + REKEY_TIMEOUT + REKEY_TIMEOUT_JITTER_MAX);
    assert.ok(first, 'retransmitted');
    assert.deepEqual(kinds(first.actions), ['send-initiation']);
    const delay = first.at - 1000;
    assert.ok(delay >= REKEY_TIMEOUT && delay < REKEY_TIMEOUT + REKEY_TIMEOUT_JITTER_MAX, `delay ${delay}`);
    delays.add(delay);
  }
  assert.ok(delays.size > 1, 'the jitter varies');
  // Within REKEY_TIMEOUT of the last one, no new initiation is made, even on request.
  const { a } = makePair();
  assert.ok(a.peer.initiate(0));
  assert.equal(a.peer.initiate(REKEY_TIMEOUT - 1), null);
});

test('a completed handshake stops the retransmissions', () => {
  const { a } = established();
  assert.equal(firstActionTime(a, 0, 30_000, 100), null);
});

test('after MAX_TIMER_HANDSHAKES initiations (about 90 s) the handshake gives up until new data', () => {
  const { a } = makePair();
  assert.ok(a.peer.initiate(0));
  const sent: number[] = [0];
  let failedAt = -1;
  for (let t = 100; t <= 200_000; t += 100) {
    for (const action of a.core.tick(t)) {
      if (action.kind === 'send-initiation') sent.push(t);
      else if (action.kind === 'handshake-failed') {
        assert.equal(failedAt, -1, 'fails once');
        failedAt = t;
      } else assert.fail(`unexpected ${action.kind}`);
    }
  }
  assert.equal(sent.length, MAX_TIMER_HANDSHAKES);
  assert.ok(
    failedAt >= REKEY_ATTEMPT_TIME && failedAt <= REKEY_ATTEMPT_TIME + MAX_TIMER_HANDSHAKES * REKEY_TIMEOUT_JITTER_MAX,
    `gave up at ${failedAt}`,
  );
  assert.ok(sent.every((t) => t < failedAt));
  // New data for the peer starts a fresh attempt with its own retransmissions.
  assert.ok(a.peer.initiate(200_000));
  const again = firstActionTime(a, 200_000, 206_000, 100);
  assert.deepEqual(again && kinds(again.actions), ['send-initiation']);
});

test('received data without anything sent back gets a keepalive after KEEPALIVE_TIMEOUT', () => {
  const cases = [
    { name: 'silent receiver', bReplies: false, keepalive: true },
    { name: 'receiver sent data meanwhile', bReplies: true, keepalive: false },
  ];
  for (const c of cases) {
    const { a, b } = established();
    assert.ok(!('drop' in sendData(a, b, Buffer.from('data'), 1000)));
    if (c.bReplies) assert.ok(!('drop' in sendData(b, a, Buffer.from('reply'), 5000)));
    assert.deepEqual(b.core.tick(1000 + KEEPALIVE_TIMEOUT - 1), [], c.name);
    assert.deepEqual(kinds(b.core.tick(1000 + KEEPALIVE_TIMEOUT)), c.keepalive ? ['send-keepalive'] : [], c.name);
  }
  // Keepalives themselves do not ask for keepalives.
  const { a, b } = established();
  sendData(a, b, Buffer.alloc(0), 1000);
  assert.deepEqual(b.core.tick(1000 + KEEPALIVE_TIMEOUT), []);
});

test('sent data without any reply starts a new handshake after KEEPALIVE_TIMEOUT + REKEY_TIMEOUT', () => {
  const { a, b } = established();
  const base = REKEY_TIMEOUT; // past the gate of the first handshake
  sendData(a, b, Buffer.from('hello?'), base);
  assert.deepEqual(a.core.tick(base + KEEPALIVE_TIMEOUT + REKEY_TIMEOUT - 1), []);
  const got = firstActionTime(
    a,
    base + KEEPALIVE_TIMEOUT + REKEY_TIMEOUT,
    base + KEEPALIVE_TIMEOUT + REKEY_TIMEOUT + REKEY_TIMEOUT_JITTER_MAX,
  );
  assert.deepEqual(got && kinds(got.actions), ['send-initiation']);

  // Any authenticated packet back (here the passive keepalive) cancels it.
  const p = established();
  sendData(p.a, p.b, Buffer.from('hello?'), base);
  sendData(p.b, p.a, Buffer.alloc(0), base + KEEPALIVE_TIMEOUT);
  assert.equal(firstActionTime(p.a, base + KEEPALIVE_TIMEOUT, base + 2 * KEEPALIVE_TIMEOUT + REKEY_TIMEOUT, 10), null);
});

test('the initiator rekeys when sending on a session older than REKEY_AFTER_TIME', () => {
  const { a, b } = established();
  assert.equal(a.peer.sentData(REKEY_AFTER_TIME, 1, false), null);
  const msg = a.peer.sentData(REKEY_AFTER_TIME + 1, 1, false);
  assert.ok(msg);
  assert.equal(msg.length, 148);
  // The responder of that session does not: both rekeying at once would collide.
  assert.equal(b.peer.sentData(REKEY_AFTER_TIME + 1, 1, false), null);
});

test('REKEY_AFTER_MESSAGES and REJECT_AFTER_MESSAGES apply to the send counter', () => {
  const { a, b } = established();
  const kb = b.peer.sendKeypair(0)!;
  kb.sendCounter = REKEY_AFTER_MESSAGES;
  assert.equal(b.peer.sentData(REKEY_TIMEOUT, 1, false), null);
  kb.sendCounter = REKEY_AFTER_MESSAGES + 256; // the next double after 2^60
  assert.ok(b.peer.sentData(REKEY_TIMEOUT, 1, false));
  const ka = a.peer.sendKeypair(0)!;
  ka.sendCounter = REJECT_AFTER_MESSAGES - 1;
  assert.equal(a.peer.sendKeypair(1), ka);
  const last = sealTransport(ka, Buffer.from('last'));
  assert.equal(a.peer.sendKeypair(1), null);
  assert.throws(() => sealTransport(ka, Buffer.from('one too many')), /cannot send/);
  assert.ok(!('drop' in deliverTransport(b, last, 1)), 'the last allowed counter is accepted');
});

test('sessions are unusable from REJECT_AFTER_TIME', () => {
  const { a, b } = established();
  const ka = a.peer.sendKeypair(0)!;
  const early = sealTransport(ka, Buffer.from('early'));
  const late = sealTransport(ka, Buffer.from('late'));
  assert.equal(a.peer.sendKeypair(REJECT_AFTER_TIME - 1), ka);
  assert.equal(a.peer.sendKeypair(REJECT_AFTER_TIME), null);
  assert.ok(!('drop' in deliverTransport(b, early, REJECT_AFTER_TIME - 1)));
  assert.deepEqual(deliverTransport(b, late, REJECT_AFTER_TIME), { drop: 'expired-keypair' });
});

test('an initiator receiving on an old session renews it once, before it expires', () => {
  const { a, b } = established();
  sendData(b, a, Buffer.from('x'), LAST_MINUTE_REKEY_AGE - 1);
  assert.deepEqual(a.core.tick(LAST_MINUTE_REKEY_AGE - 1), []);
  sendData(b, a, Buffer.from('y'), LAST_MINUTE_REKEY_AGE);
  assert.deepEqual(kinds(a.core.tick(LAST_MINUTE_REKEY_AGE)), ['send-initiation']);
  sendData(b, a, Buffer.from('z'), LAST_MINUTE_REKEY_AGE + REKEY_TIMEOUT + 1);
  assert.deepEqual(a.core.tick(LAST_MINUTE_REKEY_AGE + REKEY_TIMEOUT + 1), [], 'only once');
  // The responder does not do this.
  sendData(a, b, Buffer.from('w'), LAST_MINUTE_REKEY_AGE);
  assert.deepEqual(b.core.tick(LAST_MINUTE_REKEY_AGE), []);
});

test('persistent keepalive: a handshake at start, then a keepalive after every quiet interval', () => {
  const { a, b } = makePair({ keepaliveA: 25 });
  const start = a.core.tick(0);
  assert.deepEqual(kinds(start), ['send-initiation'], 'no session yet, so the keepalive starts a handshake');
  const init = start[0]!.kind === 'send-initiation' ? start[0]!.message : Buffer.alloc(0);
  const resp = control(b, a, init, 0);
  assert.equal(control(a, b, resp.reply!, 0).sessionReady, true);
  sendData(a, b, Buffer.alloc(0), 0);
  assert.deepEqual(a.core.tick(24_999), []);
  assert.deepEqual(kinds(a.core.tick(25_000)), ['send-keepalive']);
  sendData(a, b, Buffer.alloc(0), 25_000);
  sendData(a, b, Buffer.from('traffic'), 30_000);
  sendData(b, a, Buffer.alloc(0), 30_000); // b's passive keepalive, so a need not renew or answer
  assert.deepEqual(a.core.tick(50_000), [], 'traffic moved the interval');
  assert.deepEqual(kinds(a.core.tick(55_000)), ['send-keepalive']);
  a.peer.persistentKeepalive = 0;
  sendData(a, b, Buffer.alloc(0), 55_000);
  assert.equal(firstActionTime(a, 55_001, 79_000, 1000), null);
});

test('all key material is erased ZERO_KEYS_AFTER the last handshake', () => {
  const { a, b, clock } = established();
  const ka = a.peer.sendKeypair(0)!;
  const kb = b.peer.sendKeypair(0)!;
  assert.deepEqual(a.core.tick(ZERO_KEYS_AFTER - 1), []);
  assert.ok(!ka.sendKey.equals(Buffer.alloc(32)));
  for (const [side, kp] of [
    [a, ka],
    [b, kb],
  ] as const) {
    assert.deepEqual(side.core.tick(ZERO_KEYS_AFTER), []);
    assert.ok(kp.sendKey.equals(Buffer.alloc(32)) && kp.recvKey.equals(Buffer.alloc(32)));
    assert.equal(kp.isZeroed, true);
    assert.equal(side.core.keypairForIndex(kp.localIndex), undefined);
    assert.equal(side.peer.sendKeypair(ZERO_KEYS_AFTER - 1), null);
    assert.deepEqual(side.peer.keypairs(), { previous: null, current: null, next: null });
  }
  // A new handshake works afterwards (the stored TAI64N still blocks replays, not new ones).
  clock.now = ZERO_KEYS_AFTER + 1;
  handshake(a, b, clock.now);
  assert.ok(!('drop' in sendData(a, b, Buffer.from('back'), clock.now)));
});

test('pooledJitter draws 64 jitters per call to random, in order and in [0, 1)', () => {
  const asked: number[] = [];
  let next = 0;
  const random = (n: number): Buffer => {
    asked.push(n);
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i += 4) b.writeUInt32LE((next++ * 0x0100_0001) >>> 0, i);
    return b;
  };
  const draw = pooledJitter(random);
  const got = Array.from({ length: 130 }, () => draw());
  assert.deepEqual(asked, [256, 256, 256]);
  got.forEach((v, i) => {
    assert.ok(v >= 0 && v < 1);
    assert.equal(v, ((i * 0x0100_0001) >>> 0) / 0x1_0000_0000);
  });
});
