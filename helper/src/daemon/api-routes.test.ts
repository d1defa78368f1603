// POST /v1/enrol through the real local API server and the daemon's real routes, against real
// coordinators in this process: the body is bounded and typed, plain http:// needs the
// coordinator key (or "insecure": true), and a wrong key is refused before anything is written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createKey,
  keyUses,
  startTestCoordinator,
  type TestCoordinator,
} from '../../../coordinator/src/testing/testing.js';
import { keyFingerprint } from '../../../src-shared/lib/fingerprint.js';
import { ApiClient, ApiError } from '../../../src-shared/lib/helper-client/client.js';
import { createLogger } from '../../../src-shared/lib/log.js';
import { PATHS, type EnrolAnswer } from '../../../src-shared/wire/helper-api.js';
import type { Status } from '../../../src-shared/wire/status.js';
import { startApiServer } from '../api/server.js';
import { apiRoutes } from './api-routes.js';
import { ChangeNotifier } from './changes.js';
import { TunnelControl } from './tunnel.js';

const quietLog = createLogger(0, { write: () => true });

/** withHelperApi runs body against the daemon's routes on a socket, with two coordinators. */
async function withHelperApi(
  body: (api: ApiClient, c: TestCoordinator, other: TestCoordinator, profilePath: string) => Promise<void>,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'warren-api-enrol-'));
  const c = await startTestCoordinator();
  const other = await startTestCoordinator();
  const profilePath = join(dir, 'p.profile');
  const server = await startApiServer({
    socketPath: join(dir, 'warren.sock'),
    log: quietLog,
    getStatus: () => ({}) as Status,
    routes: apiRoutes(
      {
        policy: null,
        exit: null,
        tunnel: new TunnelControl(new ChangeNotifier(), quietLog),
        profilePath,
        stateDir: join(dir, 'state'),
      },
      async () => 'reloaded',
    ),
  });
  try {
    await body(new ApiClient(join(dir, 'warren.sock')), c, other, profilePath);
  } finally {
    await server.close();
    await c.dispose();
    await other.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** refusal is the API's answer to a call that must fail. */
async function refusal(call: Promise<unknown>): Promise<ApiError> {
  try {
    await call;
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  assert.fail('the call was expected to be refused');
}

test('POST /v1/enrol over plain http:// without coordinatorKey is refused, naming the fields to use', async () => {
  await withHelperApi(async (api, c, _other, profilePath) => {
    const e = await refusal(api.enrol({ coordinator: c.url, key: await createKey(c) }));
    assert.equal(e.httpStatus, 422);
    assert.match(e.message, /^enrolment failed: refusing to enrol over plain http:\/\/ without the coordinator's key/);
    assert.match(e.message, /give it as "coordinatorKey"/);
    assert.match(e.message, /set "insecure": true/);
    assert.equal(existsSync(profilePath), false);
    assert.equal(await keyUses(c), 0);
  });
});

test('POST /v1/enrol refuses a body whose coordinatorKey or insecure is not what the contract says', async () => {
  await withHelperApi(async (api, c, _other, profilePath) => {
    const key = await createKey(c);
    const bad: Array<[string, unknown]> = [
      ['coordinatorKey a number', { coordinator: c.url, key, coordinatorKey: 7 }],
      ['coordinatorKey too long', { coordinator: c.url, key, coordinatorKey: 'A'.repeat(65) }],
      ['insecure a string', { coordinator: c.url, key, insecure: 'yes' }],
      ['coordinator too long', { coordinator: `${c.url}/${'x'.repeat(256)}`, key, insecure: true }],
    ];
    for (const [name, body] of bad) {
      const e = await refusal(api.request('POST', PATHS.enrol, body));
      assert.equal(e.httpStatus, 400, name);
      assert.match(e.message, /"coordinatorKey": "44 characters of base64" \(optional\)/, name);
    }
    const malformed = await refusal(api.enrol({ coordinator: c.url, key, coordinatorKey: 'A'.repeat(44) }));
    assert.equal(malformed.httpStatus, 422);
    assert.match(malformed.message, /the coordinator key is not one/);
    assert.equal(existsSync(profilePath), false);
    assert.equal(await keyUses(c), 0);
  });
});

test('POST /v1/enrol with coordinatorKey refuses another coordinator and pins the right one', async () => {
  await withHelperApi(async (api, c, other, profilePath) => {
    const key = await createKey(c);
    const wrong = await refusal(api.enrol({ coordinator: c.url, key, coordinatorKey: other.publicKey }));
    assert.equal(wrong.httpStatus, 422);
    assert.match(wrong.message, /not the coordinator key you gave.*refusing to enrol/);
    assert.equal(existsSync(profilePath), false);

    const fingerprint = keyFingerprint(Buffer.from(c.publicKey, 'base64'));
    const ok = (await api.enrol({ coordinator: c.url, key, coordinatorKey: c.publicKey })) as EnrolAnswer;
    assert.equal(ok.coordinatorKey, c.publicKey);
    assert.equal(ok.fingerprint, fingerprint);
    assert.equal(ok.keyChecked, true);
    assert.ok(ok.message.includes(`coordinator key fingerprint ${fingerprint} (the key you gave)`), ok.message);
    const written = JSON.parse(readFileSync(profilePath, 'utf8')) as { Coordinator: { PublicKey: string } };
    assert.equal(written.Coordinator.PublicKey, c.publicKey);
  });
});

test('POST /v1/enrol with "insecure": true over plain http:// pins the key that answers, unchecked', async () => {
  await withHelperApi(async (api, c, _other, profilePath) => {
    const ok = (await api.enrol({ coordinator: c.url, key: await createKey(c), insecure: true })) as EnrolAnswer;
    assert.equal(ok.keyChecked, false);
    assert.equal(ok.coordinatorKey, c.publicKey);
    assert.equal(existsSync(profilePath), true);
  });
});
