import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CoordinatorChoice, SWITCH_AFTER } from './failover.js';

const A = 'http://192.0.2.1:8080';
const B = 'http://192.0.2.2:8080';

test('with the enrolled coordinator only, failures never move the helper anywhere', () => {
  const c = new CoordinatorChoice(A);
  for (let i = 0; i < 5; i++) assert.equal(c.failed('unreachable'), false);
  assert.equal(c.url(), A);
});

test(`${SWITCH_AFTER} unreachable dials in a row move to the next listed coordinator, and round again`, () => {
  const c = new CoordinatorChoice(A);
  c.fromMap([A, B]);
  assert.equal(c.failed('unreachable'), false);
  assert.equal(c.failed('unreachable'), true);
  assert.equal(c.url(), B);
  c.connected();
  assert.equal(c.failed('unreachable'), false, 'a success starts the count again');
  assert.equal(c.failed('unreachable'), true);
  assert.equal(c.url(), A);
});

test('a coordinator that answers with a refusal is alive and is kept', () => {
  const c = new CoordinatorChoice(A);
  c.fromMap([A, B]);
  assert.equal(c.failed('unreachable'), false);
  assert.equal(c.failed('refused'), false);
  assert.equal(c.failed('unreachable'), false, 'the refusal broke the run of unreachable dials');
  assert.equal(c.failed('shut-out'), false);
  assert.equal(c.url(), A);
});

test('a new list keeps the coordinator in use while listed, and always the enrolled one', () => {
  const c = new CoordinatorChoice(A);
  c.fromMap([A, B]);
  c.failed('unreachable');
  c.failed('unreachable');
  assert.equal(c.url(), B);
  c.fromMap([`${B}/`, 'http://192.0.2.3:8080']);
  assert.equal(c.url(), B, 'still B (a trailing slash is the same URL)');
  assert.deepEqual(c.urls(), [B, 'http://192.0.2.3:8080', A]);
  c.fromMap(undefined);
  assert.deepEqual(c.urls(), [A], 'a map without a list (one coordinator) leaves only the enrolled URL');
  assert.equal(c.url(), A);
});
