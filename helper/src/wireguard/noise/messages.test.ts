// Message parsing: exact sizes, types and reserved bytes, and counters a number can hold.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  COOKIE_REPLY_SIZE,
  INITIATION_SIZE,
  MessageType,
  messageType,
  parseCookieReply,
  parseInitiation,
  parseResponse,
  parseTransportHeader,
  RESPONSE_SIZE,
  TRANSPORT_MIN_SIZE,
  writeTransportHeader,
} from './messages.js';

function typed(type: number, size: number): Buffer {
  const b = Buffer.alloc(size);
  if (size >= 4) b.writeUInt32LE(type, 0);
  return b;
}

test('every type has an exact size and refuses the wrong type, size or reserved bytes', () => {
  const parsers = [
    { name: 'initiation', type: MessageType.Initiation, size: INITIATION_SIZE, parse: parseInitiation },
    { name: 'response', type: MessageType.Response, size: RESPONSE_SIZE, parse: parseResponse },
    { name: 'cookie reply', type: MessageType.CookieReply, size: COOKIE_REPLY_SIZE, parse: parseCookieReply },
  ];
  for (const p of parsers) {
    assert.equal(typeof p.parse(typed(p.type, p.size)), 'object', `${p.name} exact`);
    for (const size of [0, 3, 4, p.size - 1, p.size + 1, 2000]) {
      assert.equal(p.parse(typed(p.type, size)), 'bad-length', `${p.name} size ${size}`);
    }
    const reserved = typed(p.type, p.size);
    reserved[2] = 1;
    assert.equal(p.parse(reserved), 'bad-type', `${p.name} reserved byte`);
    assert.equal(p.parse(typed(p.type === 1 ? 2 : 1, p.size)), 'bad-type', `${p.name} other type`);
  }
});

test('initiation fields are read little-endian at their offsets', () => {
  const b = typed(1, INITIATION_SIZE);
  b.writeUInt32LE(0xdeadbeef, 4);
  b.fill(0xaa, 8, 40);
  const m = parseInitiation(b);
  assert.ok(typeof m === 'object');
  assert.equal(m.sender, 0xdeadbeef);
  assert.ok(m.ephemeral.equals(Buffer.alloc(32, 0xaa)));
  assert.equal(m.encryptedStatic.length, 48);
  assert.equal(m.encryptedTimestamp.length, 28);
});

test('messageType reads the 32-bit type word', () => {
  const table: Array<[Buffer, number | null]> = [
    [Buffer.alloc(0), null],
    [Buffer.from([1, 0, 0]), null],
    [Buffer.from([1, 0, 0, 0]), 1],
    [Buffer.from([4, 0, 0, 0, 9]), 4],
    [Buffer.from([5, 0, 0, 0]), null],
    [Buffer.from([1, 0, 0, 1]), null],
  ];
  for (const [msg, want] of table) assert.equal(messageType(msg), want, msg.toString('hex'));
});

test('transport headers round-trip counters up to 2^53 - 1 and refuse larger ones', () => {
  for (const counter of [0, 1, 0xffffffff, 2 ** 32, 2 ** 52 + 3, Number.MAX_SAFE_INTEGER]) {
    const b = Buffer.alloc(TRANSPORT_MIN_SIZE);
    writeTransportHeader(b, 77, counter);
    const h = parseTransportHeader(b);
    assert.ok(typeof h === 'object');
    assert.equal(h.counter, counter);
    assert.equal(h.receiver, 77);
    assert.equal(h.sealed.length, 16);
  }
  const huge = typed(4, TRANSPORT_MIN_SIZE);
  huge.writeUInt32LE(0x00200000, 12);
  assert.equal(parseTransportHeader(huge), 'counter-limit');
  assert.equal(parseTransportHeader(typed(4, TRANSPORT_MIN_SIZE - 1)), 'bad-length');
  assert.equal(parseTransportHeader(typed(3, TRANSPORT_MIN_SIZE)), 'bad-type');
  assert.equal(parseTransportHeader(Buffer.alloc(2)), 'bad-length');
});
