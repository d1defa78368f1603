import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ControlError } from './errors.js';
import { Router } from './router.js';

test('Router matches methods and :params and refuses the rest with codes', () => {
  const r = new Router();
  const a = (): void => {};
  const b = (): void => {};
  r.add('GET', '/v1/x', a).add('POST', '/v1/x/:id/go', b);
  assert.equal(r.match('GET', '/v1/x').handler, a);
  assert.deepEqual(r.match('POST', '/v1/x/G982V/go').params, { id: 'G982V' });
  assert.deepEqual(r.match('POST', '/v1/x/a%20b/go').params, { id: 'a b' });
  const refused = (m: string, p: string): [string, number] => {
    try {
      r.match(m, p);
    } catch (e) {
      return [(e as ControlError).code, (e as ControlError).status];
    }
    return ['matched', 0];
  };
  assert.deepEqual(refused('POST', '/v1/x'), ['bad-request', 405]);
  assert.deepEqual(refused('GET', '/v1/y'), ['not-found', 404]);
  assert.deepEqual(refused('POST', '/v1/x//go'), ['not-found', 404]);
  assert.deepEqual(refused('POST', '/v1/x/%E0%A4%A/go'), ['not-found', 404]);
  assert.deepEqual(refused('POST', `/v1/x/${'a'.repeat(200)}/go`), ['not-found', 404]);
});
