import { test } from 'node:test';
import assert from 'node:assert/strict';
import { authHeader, generateAgentKeys } from '../testing/agent-sim.js';
import { agentNonceCache, MachineKeys, parseAuthHeader, verifyAgentRequest, type AuthHeader } from './agent-auth.js';
import { ControlError } from '../http/errors.js';

const code = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    if (e instanceof ControlError) return e.code;
    throw e;
  }
  return 'ok';
};

test('parseAuthHeader accepts the documented form and refuses anything else', () => {
  const keys = generateAgentKeys();
  const good = authHeader(keys, 'sys-abc', 'GET', '/v1/agent/map', Buffer.alloc(0), 1000, 'a'.repeat(32));
  const h = parseAuthHeader(good);
  assert.deepEqual([h.system, h.ts, h.nonce, h.sig.length], ['sys-abc', 1000, 'a'.repeat(32), 64]);
  const sig = good.slice(good.indexOf('sig=') + 4);
  const bad = [
    undefined,
    '',
    'Bearer x',
    'Warren-Sig',
    `Warren-Sig system=a,ts=1,nonce=${'a'.repeat(16)}`,
    `Warren-Sig system=a,ts=1,nonce=${'a'.repeat(16)},sig=${sig},extra=1`,
    `Warren-Sig system=a,ts=1,nonce=${'a'.repeat(15)},sig=${sig}`,
    `Warren-Sig system=a,ts=1,nonce=${'g'.repeat(16)},sig=${sig}`,
    `Warren-Sig system=a,ts=-1,nonce=${'a'.repeat(16)},sig=${sig}`,
    `Warren-Sig system=a b,ts=1,nonce=${'a'.repeat(16)},sig=${sig}`,
    `Warren-Sig system=a,system=b,ts=1,nonce=${'a'.repeat(16)},sig=${sig}`,
    `Warren-Sig system=a,ts=1,nonce=${'a'.repeat(16)},sig=AAAA`,
    `Warren-Sig ${'x'.repeat(600)}`,
  ];
  for (const v of bad)
    assert.equal(
      code(() => parseAuthHeader(v)),
      'unauthorized',
      String(v),
    );
});

test('verifyAgentRequest: signature, then clock, then replay; only good requests use a nonce', () => {
  const keys = generateAgentKeys();
  const other = generateAgentKeys();
  const mk = new MachineKeys().get('sys-1', keys.machinePublicKey);
  const nonces = agentNonceCache();
  const now = 1_700_000_000_000;
  const header = (k = keys, ts = now, nonce = 'ab'.repeat(8), path = '/p', body = ''): AuthHeader =>
    parseAuthHeader(authHeader(k, 'sys-1', 'POST', path, Buffer.from(body), ts, nonce));
  const verify = (h: AuthHeader, path = '/p', body = ''): string =>
    code(() => verifyAgentRequest(h, mk, 'POST', path, Buffer.from(body), nonces, now));
  assert.equal(verify(header(other)), 'bad-signature');
  assert.equal(verify(header(keys, now, 'cd'.repeat(8), '/q')), 'bad-signature');
  assert.equal(verify(header(keys, now, 'cd'.repeat(8), '/p', 'x'), '/p', 'y'), 'bad-signature');
  assert.equal(verify(header(keys, now - 61_000)), 'clock-skew');
  assert.equal(verify(header(keys, now + 61_000)), 'clock-skew');
  assert.equal(nonces.size, 0);
  assert.equal(verify(header()), 'ok');
  assert.equal(verify(header()), 'replay');
  // Upper-case hex is the same nonce.
  assert.equal(verify(header(keys, now, 'AB'.repeat(8))), 'replay');
  assert.equal(verify(header(keys, now - 59_000, 'ef'.repeat(8))), 'ok');
});
