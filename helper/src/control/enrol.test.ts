// enrol against real coordinators in this process: which coordinator key gets pinned, and when
// enrolment refuses before the enrolment key leaves this machine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createKey,
  keyUses,
  startTestCoordinator,
  type TestCoordinator,
} from '../../../coordinator/src/testing/testing.js';
import { keyFingerprint } from '../../../src-shared/lib/fingerprint.js';
import { formatKey, generatePrivateKey } from '../../../src-shared/lib/keys.js';
import { readProfile } from '../config/load.js';
import { enrol, InsecureEnrolment, type EnrolOptions } from './enrol.js';
import { loadStoredMap } from './store.js';

async function withCoordinators(
  body: (c: TestCoordinator, other: TestCoordinator, dir: string) => Promise<void>,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'warren-enrol-'));
  const c = await startTestCoordinator();
  const other = await startTestCoordinator();
  try {
    await body(c, other, dir);
  } finally {
    await c.dispose();
    await other.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

const options = (c: TestCoordinator, key: string, dir: string, over: Partial<EnrolOptions> = {}): EnrolOptions => ({
  coordinator: c.url,
  key,
  profilePath: join(dir, 'p.profile'),
  stateDir: join(dir, 'state'),
  hostname: 'box',
  ...over,
});

test('plain http:// without a coordinator key is refused before the enrolment key is sent', async () => {
  await withCoordinators(async (c, _other, dir) => {
    const key = await createKey(c);
    await assert.rejects(enrol(options(c, key, dir)), (e: unknown) => {
      assert.ok(e instanceof InsecureEnrolment);
      assert.match(e.message, /anyone on the network path could pose as the coordinator/);
      assert.match(e.message, /https:\/\//);
      return true;
    });
    assert.equal(await keyUses(c), 0);
    assert.equal(existsSync(join(dir, 'p.profile')), false);
  });
});

test('a coordinator URL the profile would refuse later (user name, fragment) is refused before the key is used', async () => {
  await withCoordinators(async (c, _other, dir) => {
    const key = await createKey(c);
    const withUser = c.url.replace('http://', 'http://admin:pw@');
    await assert.rejects(
      enrol(options(c, key, dir, { coordinator: withUser, insecure: true })),
      /user name or password/,
    );
    await assert.rejects(enrol(options(c, key, dir, { coordinator: `${c.url}/#x`, insecure: true })), /#fragment/);
    assert.equal(await keyUses(c), 0);
    assert.equal(existsSync(join(dir, 'p.profile')), false);
  });
});

test('a coordinator presenting another key than the one given is refused, nothing written', async () => {
  await withCoordinators(async (c, other, dir) => {
    const key = await createKey(c);
    await assert.rejects(
      enrol(options(c, key, dir, { coordinatorKey: other.publicKey })),
      (e: Error) =>
        !(e instanceof InsecureEnrolment) && /not the coordinator key you gave.*refusing to enrol/.test(e.message),
    );
    assert.equal(await keyUses(c), 0);
    assert.equal(existsSync(join(dir, 'p.profile')), false);
    assert.equal(loadStoredMap(join(dir, 'state')), null);
  });
});

test('the given coordinator key (as printed, with its newline) is pinned and the first map kept', async () => {
  await withCoordinators(async (c, _other, dir) => {
    const out = await enrol(options(c, await createKey(c), dir, { coordinatorKey: `${c.publicKey}\n` }));
    assert.equal(out.keyChecked, true);
    assert.equal(out.fingerprint, keyFingerprint(Buffer.from(c.publicKey, 'base64')));
    const p = readProfile(join(dir, 'p.profile'));
    assert.equal(formatKey(p.profile.coordinator!.publicKey), c.publicKey);
    assert.equal(p.profile.coordinator!.url, c.url);
    assert.notEqual(loadStoredMap(join(dir, 'state')), null);
  });
});

test('insecure over plain http:// pins the key that answers, unchecked', async () => {
  await withCoordinators(async (c, _other, dir) => {
    const out = await enrol(options(c, await createKey(c), dir, { insecure: true }));
    assert.equal(out.keyChecked, false);
    assert.equal(formatKey(readProfile(join(dir, 'p.profile')).profile.coordinator!.publicKey), c.publicKey);
  });
});

test('allowFullTunnel is written at enrolment, kept when enrolling again with the same coordinator and key, dropped for another', async () => {
  await withCoordinators(async (c, other, dir) => {
    const allowed = (): boolean => readProfile(join(dir, 'p.profile')).profile.coordinator!.allowFullTunnel;
    const first = await enrol(options(c, await createKey(c), dir, { coordinatorKey: c.publicKey }));
    assert.equal(first.allowFullTunnel, false);
    assert.equal(allowed(), false, 'no full tunnel unless asked for');

    const yes = await enrol(
      options(c, await createKey(c), dir, { coordinatorKey: c.publicKey, allowFullTunnel: true }),
    );
    assert.equal(yes.allowFullTunnel, true);
    assert.equal(allowed(), true);

    await enrol(options(c, await createKey(c), dir, { coordinatorKey: c.publicKey }));
    assert.equal(allowed(), true, 'the same coordinator and key keep the earlier yes');

    await enrol(options(other, await createKey(other), dir, { coordinatorKey: other.publicKey }));
    assert.equal(allowed(), false, 'another coordinator does not inherit it');
  });
});

test('an adapter MTU under 1280 leaves the IPv6 address out at enrolment, says why, and the profile loads IPv4 only', async () => {
  await withCoordinators(async (c, _other, dir) => {
    const path = join(dir, 'p.profile');
    const base = { PrivateKey: formatKey(generatePrivateKey()), VirtualAddress: '100.64.9.9', Peers: [] };
    writeFileSync(path, JSON.stringify({ ...base, Adapter: { Mtu: 1200 } }));
    const low = await enrol(options(c, await createKey(c), dir, { coordinatorKey: c.publicKey }));
    assert.equal(typeof low.response.virtualAddress6, 'string', 'the coordinator has IPv6 for this system');
    assert.equal(
      low.ipv6Withheld,
      `IPv6 address ${low.response.virtualAddress6} not used: Adapter.Mtu 1200 is below 1280, the minimum for IPv6 ` +
        '(RFC 8200 §5); raise Adapter.Mtu to 1280 or more and enrol again',
    );
    const p = readProfile(path);
    assert.equal(p.profile.virtualAddress6, null);
    assert.equal(p.profile.virtualAddress, low.response.virtualAddress);

    // At 1280 the address is written.
    writeFileSync(path, JSON.stringify({ ...p.json, Adapter: { Mtu: 1280 } }));
    const ok = await enrol(options(c, await createKey(c), dir, { coordinatorKey: c.publicKey }));
    assert.equal(ok.ipv6Withheld, null);
    assert.equal(readProfile(path).profile.virtualAddress6, ok.response.virtualAddress6);
  });
});
