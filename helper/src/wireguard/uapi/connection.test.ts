import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UapiConnection, type UapiHandler } from './connection.js';
import { UAPI_ERRNO, UapiError } from './errors.js';
import { MAX_LINE, type SetRequest } from './set-request.js';

const KEY = 'ab'.repeat(32);

function harness(handler: Partial<UapiHandler> = {}) {
  const out: string[] = [];
  const logs: string[] = [];
  const sets: SetRequest[] = [];
  const state = { closed: false, paused: 0 };
  const conn = new UapiConnection(
    {
      get: handler.get ?? (() => Promise.resolve('listen_port=1\nerrno=0\n\n')),
      set:
        handler.set ??
        ((req) => {
          sets.push(req);
          return Promise.resolve();
        }),
    },
    {
      write: (t) => out.push(t),
      pause: () => state.paused++,
      resume: () => state.paused--,
      close: () => (state.closed = true),
      log: (m) => logs.push(m),
    },
  );
  return { conn, out, logs, sets, state };
}

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

test('several requests on one connection are answered in order, even when split across chunks', async () => {
  const h = harness();
  const all = `get=1\n\nset=1\npublic_key=${KEY}\nallowed_ip=10.0.0.0/8\n\nget=1\n\n`;
  for (const ch of all.match(/.{1,7}/gs)!) h.conn.feed(ch);
  await settle();
  await settle();
  assert.deepEqual(h.out, ['listen_port=1\nerrno=0\n\n', 'errno=0\n\n', 'listen_port=1\nerrno=0\n\n']);
  assert.equal(h.sets.length, 1);
  assert.equal(h.sets[0]!.peers[0]!.allowedIps.length, 1);
  assert.equal(h.state.closed, false);
  assert.equal(h.state.paused, 0);
});

test('a malformed set is read to its empty line, answered with its errno, and nothing is applied', async () => {
  const h = harness();
  h.conn.feed(`set=1\nlisten_port=99999\npublic_key=${KEY}\nallowed_ip=10.0.0.0/8\n\nget=1\n\n`);
  await settle();
  assert.deepEqual(h.out, ['errno=-22\n\n', 'listen_port=1\nerrno=0\n\n']);
  assert.equal(h.sets.length, 0);
  assert.equal(h.state.closed, false);
});

test('a failing set replies with the errno the handler gives', async () => {
  const h = harness({ set: () => Promise.reject(new UapiError(UAPI_ERRNO.portInUse, 'in use')) });
  h.conn.feed('set=1\nlisten_port=1\n\n');
  await settle();
  assert.deepEqual(h.out, ['errno=-98\n\n']);
});

test('an unexpected exception in the handler replies -ENOANO', async () => {
  const h = harness({ get: () => Promise.reject(new Error('boom')) });
  h.conn.feed('get=1\n\n');
  await settle();
  assert.deepEqual(h.out, ['errno=-55\n\n']);
});

test('an unknown operation closes the connection without a reply, as wireguard-go', () => {
  const h = harness();
  h.conn.feed('put=1\n\n');
  assert.deepEqual(h.out, []);
  assert.equal(h.state.closed, true);
});

test('get=1 followed by anything but an empty line is -EINVAL', () => {
  const h = harness();
  h.conn.feed('get=1\nx\n');
  assert.deepEqual(h.out, ['errno=-22\n\n']);
  assert.equal(h.state.closed, true);
});

test('a partial line over MAX_LINE ends the connection with -EPROTO before its newline arrives', () => {
  const h = harness();
  h.conn.feed('set=1\n');
  h.conn.feed('a'.repeat(MAX_LINE + 1));
  assert.deepEqual(h.out, [`errno=${UAPI_ERRNO.protocol}\n\n`]);
  assert.equal(h.state.closed, true);
});

test('a client that closes in the middle of a set gets nothing applied', () => {
  const h = harness();
  h.conn.feed(`set=1\npublic_key=${KEY}\n`);
  h.conn.end();
  assert.equal(h.sets.length, 0);
  assert.equal(h.state.closed, true);
});

test('the socket is paused while a request runs and nothing after it is read before the reply', async () => {
  let release!: () => void;
  const h = harness({ set: () => new Promise<void>((r) => (release = r)) });
  h.conn.feed('set=1\n\nget=1\n\n');
  assert.equal(h.state.paused, 1);
  assert.deepEqual(h.out, []);
  release();
  await settle();
  await settle();
  assert.deepEqual(h.out, ['errno=0\n\n', 'listen_port=1\nerrno=0\n\n']);
  assert.equal(h.state.paused, 0);
});
