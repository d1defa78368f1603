import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PeerIdMap } from './peer-ids.js';

const id = (hex: string): Buffer => Buffer.from(hex, 'hex');

test('PeerIdMap finds an id where it lies in a frame, tells apart ids that share their first four bytes', () => {
  const m = new PeerIdMap<string>();
  m.set(id('0102030405060708'), 'a');
  m.set(id('0102030499999999'), 'b');
  // A whole key: only its first 8 bytes are the id.
  m.set(id('a1a2a3a4a5a6a7a8ffffffff'), 'c');
  assert.equal(m.size, 3);
  const frame = Buffer.concat([id('57524e24'), id('0102030499999999'), Buffer.alloc(20)]);
  assert.equal(m.get(frame, 4), 'b');
  assert.equal(m.get(id('0102030405060708')), 'a');
  assert.equal(m.get(id('a1a2a3a4a5a6a7a8')), 'c');
  assert.equal(m.get(id('0102030405060709')), undefined, 'one byte off');
  assert.equal(m.get(frame, frame.length - 7), undefined, 'an id that would run past the end');
  assert.equal(m.get(frame, -1), undefined);
});

test('PeerIdMap replaces a value in place, deletes one of two ids sharing a head, keeps its own copy of the id', () => {
  const m = new PeerIdMap<number>();
  const key = id('0102030405060708');
  m.set(key, 1);
  m.set(id('0102030405060708'), 2);
  assert.equal(m.size, 1);
  assert.equal(m.get(key), 2);
  m.set(id('01020304ffffffff'), 3);
  key[7] = 0; // the caller's buffer changes; the map's copy does not
  assert.equal(m.get(id('0102030405060708')), 2);
  assert.equal(m.delete(id('0102030405060708')), true);
  assert.equal(m.delete(id('0102030405060708')), false);
  assert.equal(m.get(id('01020304ffffffff')), 3);
  assert.equal(m.size, 1);
  assert.throws(() => m.set(id('0102'), 4), /8 bytes/);
});
