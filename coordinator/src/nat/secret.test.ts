// The NAT secret and `warren-coordinator relay-key`: the secret is made once (0600) and kept
// across restarts, the command prints exactly the key the coordinator MACs that relay's tokens
// with, so a warren-relay given it accepts the coordinator's tokens, and another relay's key does
// not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NatKind, signedBytes, withSignature } from '../../../src-shared/wire/nat-wire.js';
import { relayRegisterBody, relayRegisterContext } from '../../../src-shared/wire/nat-relay.js';
import { createLogger } from '../../../src-shared/lib/log.js';
import { startRelay } from '../../../relay/src/sockets.js';
import { UdpClient } from '../../../relay/src/test-support.js';
import { runCli } from '../cli/cli.js';
import { enrolledAgent, startTestCoordinator } from '../testing/testing.js';
import { loadOrCreateNatKeys, NAT_SECRET_FILE } from './secret.js';

function capture(): { io: Parameters<typeof runCli>[1]; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    io: { stdout: { write: (s: string) => ((out += s), true) }, stderr: { write: (s: string) => ((err += s), true) } },
    out: () => out,
    err: () => err,
  };
}

test('the NAT secret is made once, owner-only, and gives the same keys on every load', () => {
  const dir = mkdtempSync(join(tmpdir(), 'warren-nat-'));
  try {
    const first = loadOrCreateNatKeys(dir);
    assert.equal(first.created, true);
    assert.equal(statSync(join(dir, NAT_SECRET_FILE)).mode & 0o777, 0o600);
    const again = loadOrCreateNatKeys(dir);
    assert.equal(again.created, false);
    assert.deepEqual(again.keys.relayKey('eu'), first.keys.relayKey('eu'));
    assert.deepEqual(again.keys.discoveryKey('sys-1'), first.keys.discoveryKey('sys-1'));
    assert.match(readFileSync(join(dir, NAT_SECRET_FILE), 'utf8'), /^[A-Za-z0-9+/]{43}=\n$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("relay-key prints the key that makes a warren-relay accept this coordinator's tokens for that name", async () => {
  const c = await startTestCoordinator({ externalRelays: [{ name: 'eu', udp: '127.0.0.1:9' }] });
  const log = createLogger(0, { write: () => true });
  try {
    const cap = capture();
    assert.equal(await runCli(['relay-key', 'eu', '--data', c.dataDir], cap.io), 0);
    assert.match(cap.out(), /^[A-Za-z0-9+/]{43}=\n$/);
    const key = Buffer.from(cap.out().trim(), 'base64');
    const dev = await enrolledAgent(c, ['dev'], 'dev');
    const token = Buffer.from((await dev.relayToken('eu')).token, 'base64');
    const register = (): Uint8Array => {
      const body = relayRegisterBody(token, Date.now(), randomBytes(16));
      return withSignature(body, sign(null, signedBytes(relayRegisterContext('eu'), body), dev.keys.machinePrivateKey));
    };
    for (const [relayKey, accepted] of [
      [key, true],
      [c.services.nat.keys.relayKey('us'), false],
    ] as const) {
      const r = await startRelay({
        coordinatorKey: Buffer.from(c.publicKey, 'base64'),
        relayKey,
        log,
        name: 'eu',
        udp: '127.0.0.1:0',
      });
      const u = await UdpClient.open(r.udpPort!);
      try {
        u.send(register());
        if (accepted) await u.inbox.next((m) => m[3] === NatKind.relayRegistered, 2_000, 'registered');
        else assert.deepEqual(await u.quiet(300), []);
        assert.equal(r.relay.stats().dropped['bad-mac'], accepted ? undefined : 1);
      } finally {
        await u.close();
        await r.close();
      }
    }
  } finally {
    await c.dispose();
  }
});

test("relay-key refuses the embedded relay's name, a bad name, a missing --data and a missing data dir", async () => {
  for (const [argv, code, message] of [
    [['relay-key', 'coordinator', '--data', tmpdir()], 2, /embedded relay's name/],
    [['relay-key', 'eu west', '--data', tmpdir()], 2, /is not a relay name/],
    [['relay-key', 'eu'], 2, /needs --data DIR/],
    [['relay-key', '--data', tmpdir()], 2, /missing argument/],
    [['relay-key', 'eu', '--data', join(tmpdir(), 'warren-no-such-dir')], 1, /there is no data directory/],
  ] as const) {
    const cap = capture();
    assert.equal(await runCli([...argv], cap.io), code, argv.join(' '));
    assert.match(cap.err(), message);
    assert.equal(cap.out(), '');
  }
});
