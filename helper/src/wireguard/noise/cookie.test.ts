// mac1/mac2 and cookie replies (whitepaper §5.4.7) between two cores.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { COOKIE_REFRESH_TIME, REKEY_TIMEOUT } from './constants.js';
import { COOKIE_REPLY_SIZE, INIT, MessageType } from './messages.js';
import { control, makePair, sendData, type Side } from './testkit.js';
import { endpointBytes } from './cookie.js';
import type { DropReason, Endpoint } from './types.js';

function mac2Of(msg: Buffer): Buffer {
  return msg.subarray(INIT.mac2, INIT.mac2 + 16);
}

/** cookieRound sends an initiation from a to a loaded b and hands the cookie back to a. */
function cookieRound(a: Side, b: Side, now: number): Buffer {
  const init = a.peer.initiate(now)!;
  assert.ok(mac2Of(init).equals(Buffer.alloc(16)), 'no cookie yet: mac2 is zero');
  const r = control(b, a, init, now);
  assert.equal(r.drop, 'bad-mac2-cookie-sent');
  assert.equal(r.peer, null);
  assert.ok(r.reply);
  assert.equal(r.reply.length, COOKIE_REPLY_SIZE);
  assert.equal(r.reply.readUInt32LE(0), MessageType.CookieReply);
  assert.equal(r.reply.readUInt32LE(4), init.readUInt32LE(INIT.sender), 'addressed to the initiation sender index');
  assert.equal(b.peer.keypairs().next, null, 'nothing was processed');
  const consumed = control(a, b, r.reply, now);
  // The cookie is taken, but the reply names no peer: it authenticates nobody, so the device
  // must not roam on it (§5.4.7).
  assert.deepEqual(consumed, { peer: null, reply: null, sessionReady: false, drop: null });
  assert.ok(a.peer.cookies.hasCookie(now), 'a stored the cookie');
  return r.reply;
}

test('under load: cookie reply, then the retry carries a valid mac2 and is accepted', () => {
  let loaded = true;
  const { a, b, clock } = makePair({ underLoadB: () => loaded });
  cookieRound(a, b, 0);
  // The retransmission after REKEY_TIMEOUT carries mac2.
  clock.now = REKEY_TIMEOUT + 400;
  const retry = a.core.tick(clock.now).find((x) => x.kind === 'send-initiation');
  assert.ok(retry && retry.kind === 'send-initiation');
  assert.notDeepEqual(mac2Of(retry.message), Buffer.alloc(16));
  const r = control(b, a, retry.message, clock.now);
  assert.equal(r.drop, null);
  assert.equal(control(a, b, r.reply!, clock.now).sessionReady, true);
  assert.ok(!('drop' in sendData(a, b, Buffer.from('hi'), clock.now)));
  loaded = false;
});

test('a cookie is bound to the source address and port', () => {
  const { a, b, clock } = makePair({ underLoadB: () => true });
  cookieRound(a, b, 0);
  clock.now = REKEY_TIMEOUT;
  const init = a.peer.initiate(clock.now)!;
  for (const from of [
    { ip: '192.0.2.9', port: 51820 },
    { ip: a.addr.ip, port: 51821 },
  ]) {
    assert.equal(b.core.receiveControl(init, from, clock.now).drop, 'bad-mac2-cookie-sent', JSON.stringify(from));
  }
  assert.equal(b.core.receiveControl(init, a.addr, clock.now).drop, null);
});

test('the cookie binds an IPv6 source by its 16 address bytes and port (§5.4.7)', () => {
  const v6 = endpointBytes({ ip: '2001:db8::1', port: 51820 });
  assert.deepEqual(v6, Buffer.from('20010db8000000000000000000000001ca6c', 'hex'));
  assert.deepEqual(endpointBytes({ ip: '192.0.2.1', port: 51820 }), Buffer.from('c0000201ca6c', 'hex'));
  // Under load, a cookie given to one IPv6 source does not prove another, nor the same
  // address on another port.
  const { a, b, clock } = makePair({ underLoadB: () => true });
  const here: Endpoint = { ip: '2001:db8::1', port: 51820 };
  a.addr.ip = here.ip;
  a.addr.port = here.port;
  cookieRound(a, b, 0);
  clock.now = REKEY_TIMEOUT;
  const init = a.peer.initiate(clock.now)!;
  for (const from of [
    { ip: '2001:db8::2', port: 51820 },
    { ip: '2001:db8::1', port: 51821 },
    { ip: '::ffff:192.0.2.1', port: 51820 },
  ]) {
    assert.equal(b.core.receiveControl(init, from, clock.now).drop, 'bad-mac2-cookie-sent', JSON.stringify(from));
  }
  assert.equal(b.core.receiveControl(init, here, clock.now).drop, null);
});

test('cookies expire: the initiator stops using one and the responder rotates its secret', () => {
  const { a, b, clock } = makePair({ underLoadB: () => true });
  cookieRound(a, b, 0);
  clock.now = COOKIE_REFRESH_TIME;
  assert.notDeepEqual(
    mac2Of(a.peer.initiate(clock.now)!),
    Buffer.alloc(16),
    'still fresh at exactly COOKIE_REFRESH_TIME',
  );
  clock.now = COOKIE_REFRESH_TIME + REKEY_TIMEOUT;
  const stale = a.peer.initiate(clock.now)!;
  assert.deepEqual(mac2Of(stale), Buffer.alloc(16), 'the stale cookie is not used');

  // Even a retained old cookie is refused once the responder's secret is older than its lifetime.
  const fresh = makePair({ underLoadB: () => true });
  cookieRound(fresh.a, fresh.b, 0);
  const t = COOKIE_REFRESH_TIME + 1;
  const init = fresh.a.peer.initiate(REKEY_TIMEOUT)!;
  assert.equal(fresh.b.core.receiveControl(init, fresh.a.addr, t).drop, 'bad-mac2-cookie-sent');
});

test('forged or misdirected cookie replies are refused', () => {
  const { a, b } = makePair({ underLoadB: () => true });
  const reply = cookieRound(a, b, 0);
  // A new initiation changes the mac1 a expects to be echoed, so the old reply no longer fits.
  const init2 = a.peer.initiate(REKEY_TIMEOUT)!;
  const stale = Buffer.from(reply);
  stale.writeUInt32LE(init2.readUInt32LE(INIT.sender), 4);
  assert.equal(control(a, b, stale, REKEY_TIMEOUT).drop, 'bad-cookie');
  const forged = Buffer.from(stale);
  forged.set(randomBytes(32), 32);
  assert.equal(control(a, b, forged, REKEY_TIMEOUT).drop, 'bad-cookie');
  // The first initiation's index was freed when the second replaced it.
  assert.equal(control(a, b, reply, REKEY_TIMEOUT).drop, 'unknown-index');
});

test('not under load, mac2 is not needed; mac1 is always checked', () => {
  const { a, b } = makePair();
  const init = a.peer.initiate(0)!;
  const bad = Buffer.from(init);
  bad[INIT.mac1 + 15]! ^= 0x80;
  assert.equal(control(b, a, bad, 0).drop, 'bad-mac1');
  // mac1 is keyed by the receiver's public key: a message meant for someone else fails it.
  const other = makePair();
  assert.equal(control(other.b, a, init, 0).drop, 'bad-mac1');
  assert.equal(control(b, a, init, 0).drop, null);
});

test('admit decides after mac1 and before any Diffie-Hellman, and hears whether mac2 proves the source', () => {
  const asked: Array<{ from: Endpoint; proven: boolean }> = [];
  let verdict: 'process' | 'cookie' | DropReason = 'handshake-rate-limited';
  const { a, b, clock } = makePair({
    admitB: (from, proven) => {
      asked.push({ from, proven });
      return verdict;
    },
  });
  const init = a.peer.initiate(0)!;
  const bad = Buffer.from(init);
  bad[INIT.mac1]! ^= 1;
  assert.equal(control(b, a, bad, 0).drop, 'bad-mac1');
  assert.equal(asked.length, 0, 'mac1 comes first');

  const refused = control(b, a, init, 0);
  assert.deepEqual(refused, { peer: null, reply: null, sessionReady: false, drop: 'handshake-rate-limited' });
  assert.deepEqual(asked, [{ from: a.addr, proven: false }]);
  // Nothing was processed: the same initiation is not a replay when admitted.
  verdict = 'process';
  assert.equal(control(b, a, init, 0).drop, null);

  // A cookie reply instead; the initiator's retry then proves its address.
  verdict = 'cookie';
  clock.now = REKEY_TIMEOUT;
  const second = a.peer.initiate(clock.now)!;
  const r = control(b, a, second, clock.now);
  assert.equal(r.drop, 'bad-mac2-cookie-sent');
  assert.equal(r.reply?.length, COOKIE_REPLY_SIZE);
  assert.equal(control(a, b, r.reply!, clock.now).drop, null);
  clock.now = 2 * REKEY_TIMEOUT;
  control(b, a, a.peer.initiate(clock.now)!, clock.now);
  assert.deepEqual(asked.at(-1), { from: a.addr, proven: true });
});
