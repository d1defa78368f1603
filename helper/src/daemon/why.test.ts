// `warren why PEER` through the local API of a helper on in-memory fakes of the OS (testing.ts):
// which texts name a peer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiClient } from '../../../src-shared/lib/helper-client/client.js';
import { Daemon } from './index.js';
import { BETA, Sandbox, fakeEnv, staticProfile } from './testing.js';

const BETA6 = 'fd12:3456:789a::6440:2';

test('why names a peer by its virtual IPv6 address in any textual form, and no other IPv6 address', async (t) => {
  const box = new Sandbox();
  const profile = staticProfile({
    VirtualAddress6: 'fd12:3456:789a::6440:1',
    Peers: [
      { Name: 'beta', PublicKey: BETA.pub, Endpoint: '192.0.2.2:51820', AllowedIPs: ['100.64.0.2/32', `${BETA6}/128`] },
    ],
  });
  const d = new Daemon(box.options(profile), fakeEnv());
  t.after(async () => {
    await d.stop();
    box.remove();
  });
  await d.start();
  const api = new ApiClient(box.socketPath);
  const byV4 = await api.why('100.64.0.2');
  assert.match(byV4.text, new RegExp(BETA.identity));
  for (const text of [
    BETA6,
    'FD12:3456:789A:0:0:0:6440:2',
    ' fd12:3456:789a:0::6440:2 ',
    'fd12:3456:789a::6440:0002',
  ]) {
    assert.equal((await api.why(text)).text, byV4.text, `${JSON.stringify(text)} names beta`);
  }
  for (const text of [
    'fd12:3456:789a::6440:1',
    'fd12:3456:789a::6440:3',
    'fd12:3456:789a::6440:2/128',
    'fd12::6440:2:',
  ]) {
    await assert.rejects(api.why(text), /no configured peer matches/, `${JSON.stringify(text)} names no peer`);
  }
});
