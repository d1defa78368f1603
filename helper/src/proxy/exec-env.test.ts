import { test } from 'node:test';
import assert from 'node:assert/strict';
import { proxyEnv } from './exec-env.js';

test('proxyEnv sets lower and upper case forms', () => {
  const env = proxyEnv(8080);
  for (const k of ['http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY'])
    assert.equal(env[k], 'http://127.0.0.1:8080');
  assert.equal(env.no_proxy, env.NO_PROXY);
  assert.match(env.no_proxy ?? '', /localhost/);
  assert.throws(() => proxyEnv(0), RangeError);
  assert.throws(() => proxyEnv(70000), RangeError);
});
