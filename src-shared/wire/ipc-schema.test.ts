import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initialAppState } from './app-state.js';
import {
  CALL_NAMES,
  EVENT_NAMES,
  IPC_SCHEMA,
  asResult,
  channelOf,
  dispatchCall,
  enrolKeyProblem,
  isCallName,
  makeInvoker,
  type ArgOf,
  type CallName,
  type IpcHandlers,
  type IpcInvoker,
} from './ipc-schema.js';

/** handlers records every call that reached it; the test checks what got through. */
function recordingHandlers(seen: Array<[string, unknown]>): IpcHandlers {
  const rec =
    <K extends CallName>(name: K, value: unknown) =>
    async (arg: ArgOf<K>) => {
      seen.push([name, arg]);
      return value as never;
    };
  return {
    getState: rec('getState', initialAppState()),
    connect: rec('connect', null),
    disconnect: rec('disconnect', null),
    useExitNode: rec('useExitNode', { identity: 'Q8QW8', label: 'exit', routes: [], inUse: true }),
    why: rec('why', { peer: 'beta', text: 't', egress: true, ingress: false }),
    enrol: rec('enrol', { message: 'ok' }),
    signIn: rec('signIn', { url: 'https://c/x', code: 'ABCD-EFGH', provider: 'corp', expiresAt: 0, opened: false }),
    cancelSignIn: rec('cancelSignIn', { message: 'The sign-in was cancelled.' }),
  };
}

const toProblem = (e: unknown) => ({ code: 'helper-error' as const, message: (e as Error).message });

test('dispatchCall refuses unknown calls and bad arguments before any handler runs', async () => {
  const seen: Array<[string, unknown]> = [];
  const h = recordingHandlers(seen);
  const cases: [string, unknown, unknown, RegExp][] = [
    ['unknown name', 'rm -rf', undefined, /no such call/],
    ['prototype key', '__proto__', undefined, /no such call/],
    ['not a string', 42, undefined, /no such call/],
    ['argument to a call without one', 'connect', { x: 1 }, /takes no argument/],
    ['missing object', 'useExitNode', undefined, /expected an object/],
    ['array instead of object', 'useExitNode', [], /expected an object/],
    ['identity too long', 'useExitNode', { identity: 'Q8QW8X', use: true }, /identity/],
    ['identity with odd characters', 'useExitNode', { identity: 'Q8 W8', use: true }, /identity/],
    ['use not boolean', 'useExitNode', { identity: 'Q8QW8', use: 'yes' }, /use must be true or false/],
    ['extra field', 'useExitNode', { identity: 'Q8QW8', use: true, admin: true }, /unexpected field "admin"/],
    ['empty peer', 'why', { peer: '' }, /the peer/],
    ['peer with a newline', 'why', { peer: 'a\nb' }, /the peer is not valid/],
    ['coordinator not http', 'enrol', { coordinator: 'file:///etc/passwd', key: 'k' }, /coordinator URL/],
    ['key with spaces', 'enrol', { coordinator: 'https://c.example', key: 'a b' }, /enrolment key/],
    ['key too long', 'enrol', { coordinator: 'https://c.example', key: 'k'.repeat(129) }, /enrolment key/],
    [
      'coordinator key not base64',
      'enrol',
      { coordinator: 'http://c.example', key: 'k', coordinatorKey: `${'A'.repeat(42)}!=` },
      /the coordinator key \(44 characters of base64/,
    ],
    [
      'coordinator key too short',
      'enrol',
      { coordinator: 'http://c.example', key: 'k', coordinatorKey: 'AAAA' },
      /the coordinator key/,
    ],
    ['insecure not boolean', 'enrol', { coordinator: 'http://c.example', key: 'k', insecure: 1 }, /insecure must be/],
  ];
  for (const [label, name, arg, message] of cases) {
    const r = await dispatchCall(h, name, arg, toProblem);
    assert.equal(r.ok, false, label);
    if (!r.ok) {
      assert.equal(r.error.code, 'bad-request', label);
      assert.match(r.error.message, message, label);
    }
  }
  assert.deepEqual(seen, [], 'no handler ran');
});

test('dispatchCall passes good arguments through and returns results and thrown errors as data', async () => {
  const seen: Array<[string, unknown]> = [];
  const h = recordingHandlers(seen);
  assert.deepEqual(await dispatchCall(h, 'useExitNode', { identity: 'Q8QW8', use: false }, toProblem), {
    ok: true,
    value: { identity: 'Q8QW8', label: 'exit', routes: [], inUse: true },
  });
  assert.deepEqual(
    await dispatchCall(h, 'connect', null, toProblem),
    { ok: true, value: null },
    'null is no argument (JSON has no undefined)',
  );
  assert.deepEqual(seen, [
    ['useExitNode', { identity: 'Q8QW8', use: false }],
    ['connect', undefined],
  ]);
  const failing: IpcHandlers = {
    ...h,
    disconnect: async () => {
      throw new Error('the helper said no');
    },
  };
  assert.deepEqual(await dispatchCall(failing, 'disconnect', undefined, toProblem), {
    ok: false,
    error: { code: 'helper-error', message: 'the helper said no' },
  });
});

test('makeInvoker derives one typed function per call over any transport, end to end with dispatchCall', async () => {
  const seen: Array<[string, unknown]> = [];
  const h = recordingHandlers(seen);
  // A transport that crosses a JSON boundary, as both Electron's structured clone and HTTP do.
  const invoker: IpcInvoker = makeInvoker(async (name, arg) =>
    JSON.parse(
      JSON.stringify(
        await dispatchCall(h, JSON.parse(JSON.stringify(name)), JSON.parse(JSON.stringify(arg)), toProblem),
      ),
    ),
  );
  assert.deepEqual(Object.keys(invoker).sort(), [...CALL_NAMES].sort());
  const r = await invoker.why({ peer: 'beta' });
  assert.ok(r.ok);
  assert.equal(r.value.text, 't');
  assert.equal((await invoker.connect()).ok, true);
  const bad = await invoker.useExitNode({ identity: 'nope', use: true });
  assert.equal(bad.ok, false);
  assert.deepEqual(
    seen.map(([n]) => n),
    ['why', 'connect'],
  );

  const broken = makeInvoker(async () => {
    throw new Error('socket hang up');
  });
  const down = await broken.getState();
  assert.deepEqual(down, {
    ok: false,
    error: { code: 'backend-unreachable', message: 'the app could not reach its backend: socket hang up' },
  });
  const garbled = makeInvoker(async () => ({ value: 1 }));
  assert.equal((await garbled.getState()).ok, false);
});

test('asResult accepts only the two result shapes', () => {
  const cases: [unknown, boolean | null][] = [
    [{ ok: true, value: 1 }, true],
    [{ ok: true, value: null }, true],
    [{ ok: false, error: { code: 'forbidden', message: 'm' } }, false],
    [{ ok: true }, null],
    [{ ok: false, error: 'x' }, null],
    [null, null],
    ['ok', null],
    [{ ok: 'true', value: 1 }, null],
  ];
  for (const [v, want] of cases) {
    const r = asResult(v);
    if (want === null) assert.equal(!r.ok && r.error.code === 'internal', true, JSON.stringify(v));
    else assert.equal(r.ok, want, JSON.stringify(v));
  }
});

test('names and channels come from the schema', () => {
  assert.deepEqual(CALL_NAMES, Object.keys(IPC_SCHEMA.calls));
  assert.deepEqual(EVENT_NAMES, ['state']);
  assert.equal(channelOf('call', 'connect'), 'warren:call:connect');
  assert.equal(channelOf('event', 'state'), 'warren:event:state');
  for (const n of CALL_NAMES) assert.ok(isCallName(n));
  for (const n of ['toString', 'constructor', 'hasOwnProperty', '']) assert.equal(isCallName(n), false, n);
});

test('enrolKeyProblem asks for the coordinator key over plain http:// unless the person chose to go without', () => {
  const key = `${'A'.repeat(43)}=`;
  const refusal = enrolKeyProblem('http://192.0.2.1:8080', undefined, false);
  assert.equal(typeof refusal, 'string');
  assert.match(refusal!, /anyone on the network path could pose as the coordinator/);
  assert.match(refusal!, /warren-coordinator key/);
  assert.match(refusal!, /https:\/\//);
  assert.notEqual(enrolKeyProblem(' HTTP://c.example', '  ', false), null, 'a blank key is no key');
  assert.equal(enrolKeyProblem('http://c.example', key, false), null);
  assert.equal(enrolKeyProblem('http://c.example', undefined, true), null);
  assert.equal(enrolKeyProblem('https://c.example', undefined, false), null);
});

test('dispatchCall passes the optional coordinator key and insecure choice through, and their absence', async () => {
  const seen: Array<[string, unknown]> = [];
  const h = recordingHandlers(seen);
  const key = `${'A'.repeat(43)}=`;
  for (const arg of [
    { coordinator: 'http://c.example', key: 'k', coordinatorKey: key },
    { coordinator: 'http://c.example', key: 'k', insecure: true },
    { coordinator: 'https://c.example', key: 'k' },
  ]) {
    assert.deepEqual(await dispatchCall(h, 'enrol', arg, toProblem), { ok: true, value: { message: 'ok' } });
  }
  assert.deepEqual(
    seen.map(([, a]) => a),
    [
      { coordinator: 'http://c.example', key: 'k', coordinatorKey: key },
      { coordinator: 'http://c.example', key: 'k', insecure: true },
      { coordinator: 'https://c.example', key: 'k' },
    ],
  );
});
