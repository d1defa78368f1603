// DiscoveryClient and its discovery key: no request goes out before the key is fetched, every
// request carries a MAC under that key (what the coordinator checks before the signature,
// src-shared/wire/nat-discovery.ts) and the machine key's signature, and a key that has had no
// answer for KEY_STALE_MS is fetched again (the coordinator's NAT secret may have changed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { privateKeyFromSeed, publicKeyFromRaw, rawPublicKey, verifyEd25519 } from '../../../src-shared/lib/ed25519.js';
import { NatKeys, natMacOk } from '../../../src-shared/lib/nat-keys.js';
import { createLogger } from '../../../src-shared/lib/log.js';
import { NAT_CONTEXT, signedBytes } from '../../../src-shared/wire/nat-wire.js';
import { parseDiscoveryRequest } from '../../../src-shared/wire/nat-discovery.js';
import { DiscoveryClient, FAILOVER_TRIES, KEY_RETRY_MS, KEY_STALE_MS } from './discovery-client.js';
import { formatIp } from '../../../src-shared/lib/ip/addr.js';

const silent = createLogger(0, { write: () => true });
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function client(key: () => Promise<Buffer>): { c: DiscoveryClient; sent: Buffer[]; machine: Buffer } {
  const seed = randomBytes(32);
  const sent: Buffer[] = [];
  const c = new DiscoveryClient({
    target: '192.0.2.1:3478',
    systemId: 'sys-1',
    machineSeed: seed,
    coordinatorKey: randomBytes(32),
    key,
    sendUdp: (buf) => {
      sent.push(Buffer.from(buf));
      return true;
    },
    log: silent,
    mapped: () => undefined,
  });
  return { c, sent, machine: rawPublicKey(privateKeyFromSeed(seed)) };
}

test('discovery requests wait for the key, carry its MAC and the machine signature; a stale key is fetched again', async () => {
  const keys = new NatKeys(randomBytes(32));
  let fetches = 0;
  const { c, sent, machine } = client(() => {
    fetches++;
    return Promise.resolve(keys.discoveryKey('sys-1'));
  });
  const t0 = Date.now();
  c.tick(t0);
  assert.equal(sent.length, 0, 'nothing is sent before the key is known');
  await settle();
  assert.equal(fetches, 1);
  c.tick(t0);
  assert.equal(sent.length, 1);
  const req = parseDiscoveryRequest(sent[0]!);
  assert.ok(req, 'the request parses');
  assert.equal(req.systemId, 'sys-1');
  assert.ok(natMacOk(keys.discoveryKey('sys-1'), NAT_CONTEXT.discoveryMac, req.maced, req.mac), 'MAC under the key');
  assert.ok(!natMacOk(keys.discoveryKey('sys-2'), NAT_CONTEXT.discoveryMac, req.maced, req.mac));
  assert.ok(
    verifyEd25519(publicKeyFromRaw(machine), signedBytes(NAT_CONTEXT.discoveryRequest, req.signed), req.signature),
    'signed by the machine key over everything before the signature, the MAC included',
  );

  // No answer for longer than KEY_STALE_MS: the next tick fetches the key instead of asking.
  const later = t0 + KEY_STALE_MS + 1;
  c.tick(later);
  assert.equal(sent.length, 1, 'no request with a stale key');
  await settle();
  assert.equal(fetches, 2, 'the key was fetched again');
  c.tick(later);
  assert.equal(sent.length, 2, 'asking resumes with the new key');
});

test('a failed key fetch is retried after KEY_RETRY_MS, not on every tick', async () => {
  let fetches = 0;
  const { c, sent } = client(() => {
    fetches++;
    return Promise.reject(new Error('coordinator unreachable'));
  });
  const t0 = Date.now();
  c.tick(t0);
  await settle();
  c.tick(t0 + 100);
  c.tick(t0 + KEY_RETRY_MS - 500);
  await settle();
  assert.equal(fetches, 1, 'no second fetch within KEY_RETRY_MS');
  c.tick(Date.now() + KEY_RETRY_MS + 1);
  await settle();
  assert.equal(fetches, 2, 'retried after KEY_RETRY_MS');
  assert.equal(sent.length, 0, 'and nothing was sent without a key');
});

test('after FAILOVER_TRIES unanswered requests the client asks the other family, and comes back round', async () => {
  const keys = new NatKeys(randomBytes(32));
  const to: string[] = [];
  const c = new DiscoveryClient({
    target: '192.0.2.1:3478',
    alternates: ['[2001:db8::1]:3478'],
    systemId: 'sys-1',
    machineSeed: randomBytes(32),
    coordinatorKey: randomBytes(32),
    key: () => Promise.resolve(keys.discoveryKey('sys-1')),
    sendUdp: (_buf, addr, port) => {
      to.push(`${formatIp(addr)} ${port}`);
      return true;
    },
    log: silent,
    mapped: () => undefined,
  });
  assert.equal(c.target, '192.0.2.1:3478 [2001:db8::1]:3478');
  let t = Date.now();
  c.tick(t);
  await settle();
  for (let i = 0; i < 2 * FAILOVER_TRIES + 1; i++) c.tick((t += 60_000));
  const v4 = '192.0.2.1 3478';
  const v6 = '2001:db8::1 3478';
  assert.deepEqual(to, [v4, v4, v4, v6, v6, v6, v4]);
});
