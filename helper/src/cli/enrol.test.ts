// `warren enrol` against real coordinators in this process: plain http:// needs the coordinator's
// key (or --insecure), a wrong key is refused before anything is written, and https:// keeps
// working with or without one.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AdminKey, CreatedKey } from '../../../coordinator/src/api/admin-types.js';
import { adminCall, startTestCoordinator, type TestCoordinator } from '../../../coordinator/src/testing/testing.js';
import { keyFingerprint } from '../../../src-shared/lib/fingerprint.js';
import { runCaptured } from './run-captured.js';

/** newKey makes a one-use enrolment key; ca is the certificate to trust over https. */
async function newKey(c: TestCoordinator, ca?: Buffer): Promise<string> {
  const body = { tags: ['dev'], approval: 'automatic', uses: 1, expiresInMs: 3_600_000, ephemeral: false };
  const k = await adminCall<CreatedKey>(c.url, c.adminToken, 'POST', '/v1/admin/keys', body, ca);
  assert.equal(k.status, 201);
  return k.body.key;
}

async function usesOf(c: TestCoordinator): Promise<number[]> {
  const r = await c.admin<{ keys: AdminKey[] }>('GET', '/v1/admin/keys');
  return r.body.keys.map((k) => k.uses);
}

const fp = (b64: string): string => keyFingerprint(Buffer.from(b64, 'base64'));
const pinnedIn = (profile: string): unknown =>
  (JSON.parse(readFileSync(profile, 'utf8')) as { Coordinator: { PublicKey: string } }).Coordinator.PublicKey;

/** withCoordinators runs body with two coordinators (the right one and another) and a temp dir. */
async function withCoordinators(
  body: (c: TestCoordinator, other: TestCoordinator, dir: string) => Promise<void>,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'warren-enrol-cli-'));
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

const enrolArgs = (c: TestCoordinator, key: string, dir: string, name: string): string[] => [
  'enrol',
  '--coordinator',
  c.url,
  '--key',
  key,
  '--profile',
  join(dir, `${name}.profile`),
  '--state-dir',
  join(dir, `${name}-state`),
  '--hostname',
  name,
];

test('enrol over plain http:// without the coordinator key is refused with why and what to do, before anything is used', async () => {
  await withCoordinators(async (c, _other, dir) => {
    const key = await newKey(c);
    const r = await runCaptured(enrolArgs(c, key, dir, 'a'));
    assert.equal(r.code, 1, r.err);
    assert.match(r.err, /^warren enrol: refusing to enrol over plain http:\/\/ without the coordinator's key/);
    assert.match(r.err, /anyone on the network path could pose as the coordinator and have its own key pinned/);
    assert.match(r.err, /warren-coordinator key/);
    assert.match(r.err, /add --coordinator-key KEY, or use the coordinator's https:\/\/ address/);
    assert.match(r.err, /--insecure/);
    assert.equal(r.out, '');
    assert.equal(existsSync(join(dir, 'a.profile')), false, 'no profile is written');
    assert.deepEqual(await usesOf(c), [0], 'the enrolment key was never sent');
  });
});

test('enrol with --coordinator-key refuses a coordinator presenting another key and pins the right one', async () => {
  await withCoordinators(async (c, other, dir) => {
    const key = await newKey(c);
    const wrong = await runCaptured([...enrolArgs(c, key, dir, 'b'), '--coordinator-key', other.publicKey]);
    assert.equal(wrong.code, 1, wrong.err);
    assert.match(wrong.err, /refusing to enrol/);
    assert.ok(wrong.err.includes(`presents the key ${c.publicKey} (fingerprint ${fp(c.publicKey)})`), wrong.err);
    assert.ok(wrong.err.includes(`you gave, ${other.publicKey} (fingerprint ${fp(other.publicKey)})`), wrong.err);
    assert.equal(existsSync(join(dir, 'b.profile')), false, 'no profile is written');
    assert.deepEqual(await usesOf(c), [0], 'the enrolment key was never sent');

    const malformed = await runCaptured([...enrolArgs(c, key, dir, 'b'), '--coordinator-key', 'not-a-key']);
    assert.equal(malformed.code, 1);
    assert.match(malformed.err, /the coordinator key is not one: it is 44 characters of base64/);

    const right = await runCaptured([...enrolArgs(c, key, dir, 'b'), '--coordinator-key', c.publicKey]);
    assert.equal(right.code, 0, right.err);
    assert.ok(right.out.includes(`Coordinator key pinned: ${c.publicKey}\n`), right.out);
    assert.ok(right.out.includes(`Fingerprint: ${fp(c.publicKey)} (the key you gave)\n`), right.out);
    assert.equal(right.err, '');
    assert.equal(pinnedIn(join(dir, 'b.profile')), c.publicKey);
    assert.doesNotMatch(right.out, /Full tunnel allowed/);
  });
});

test('enrol --allow-full-tunnel writes the consent into the profile and says what it means', async () => {
  await withCoordinators(async (c, _other, dir) => {
    const args = [...enrolArgs(c, await newKey(c), dir, 'f'), '--coordinator-key', c.publicKey, '--allow-full-tunnel'];
    const r = await runCaptured(args);
    assert.equal(r.code, 0, r.err);
    assert.match(
      r.out,
      /Full tunnel allowed: the coordinator may route all of this system's traffic through an exit node/,
    );
    const written = JSON.parse(readFileSync(join(dir, 'f.profile'), 'utf8')) as {
      Coordinator: { AllowFullTunnel?: unknown };
    };
    assert.equal(written.Coordinator.AllowFullTunnel, true);
  });
});

test('enrol --serve-exit-node writes ExitNode.Serve, and enrolling again with the same coordinator keeps it', async () => {
  await withCoordinators(async (c, _other, dir) => {
    const serveOf = () =>
      (JSON.parse(readFileSync(join(dir, 's.profile'), 'utf8')) as { ExitNode?: { Serve?: unknown } }).ExitNode?.Serve;
    const plain = await runCaptured([...enrolArgs(c, await newKey(c), dir, 's'), '--coordinator-key', c.publicKey]);
    assert.equal(plain.code, 0, plain.err);
    assert.equal(serveOf(), undefined, 'no opt-in without the flag');
    const args = [...enrolArgs(c, await newKey(c), dir, 's'), '--coordinator-key', c.publicKey, '--serve-exit-node'];
    const r = await runCaptured(args);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /Exit node allowed: the coordinator may have this system forward and NAT traffic/);
    assert.equal(serveOf(), true);
    const again = await runCaptured([...enrolArgs(c, await newKey(c), dir, 's'), '--coordinator-key', c.publicKey]);
    assert.equal(again.code, 0, again.err);
    assert.equal(serveOf(), true, 'the earlier consent stays with the same coordinator');
  });
});

test('enrol --insecure over plain http:// pins whatever key answers and warns about it', async () => {
  await withCoordinators(async (c, _other, dir) => {
    const r = await runCaptured([...enrolArgs(c, await newKey(c), dir, 'c'), '--insecure']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /^warning: enrolled over plain http:\/\/ without checking the coordinator key \(--insecure\)/);
    assert.ok(r.out.includes(`Fingerprint: ${fp(c.publicKey)} (not checked against a key you gave`), r.out);
    assert.equal(pinnedIn(join(dir, 'c.profile')), c.publicKey);
  });
});

// Over https the CLI runs as its own process: the test certificate is trusted through
// NODE_EXTRA_CA_CERTS, which Node reads only at start.
const here = dirname(fileURLToPath(import.meta.url));
const compiled = import.meta.url.endsWith('.js');
const cliArgv = compiled ? [join(here, 'main.js')] : ['--import', 'tsx', join(here, 'main.ts')];

function runCli(args: string[], env: Record<string, string>): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...cliArgv, ...args],
      { env: { ...process.env, ...env }, timeout: 60_000, encoding: 'utf8' },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, out: stdout, err: stderr });
      },
    );
  });
}

// enrolOverHttps enrols with a coordinator listening on host over https: a wrong coordinator
// key is refused, and without one the certificate vouches and the key is pinned.
async function enrolOverHttps(t: TestContext, host: string): Promise<void> {
  if (spawnSync('openssl', ['version']).status !== 0) {
    t.skip('openssl is not installed, so no certificate can be made for this test');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'warren-enrol-tls-'));
  const cert = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  const made = spawnSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1'].concat([
      '-subj',
      `/CN=${host}`,
      '-addext',
      `subjectAltName=IP:${host}`,
      '-keyout',
      keyFile,
      '-out',
      cert,
    ]),
    { encoding: 'utf8' },
  );
  assert.equal(made.status, 0, made.stderr);
  const c = await startTestCoordinator({ host, tls: { certFile: cert, keyFile } });
  const other = await startTestCoordinator();
  try {
    assert.match(c.url, host.includes(':') ? /^https:\/\/\[[0-9a-f:]+\]:\d+$/ : /^https:/);
    const env = { NODE_EXTRA_CA_CERTS: cert };
    const pem = readFileSync(cert);
    const wrong = await runCli(
      [...enrolArgs(c, await newKey(c, pem), dir, 'd'), '--coordinator-key', other.publicKey],
      env,
    );
    assert.equal(wrong.code, 1, wrong.err);
    assert.match(wrong.err, /not the coordinator key you gave.*refusing to enrol/);
    assert.equal(existsSync(join(dir, 'd.profile')), false);

    const plain = await runCli(enrolArgs(c, await newKey(c, pem), dir, 'e'), env);
    assert.equal(plain.code, 0, plain.err);
    assert.ok(plain.out.includes(`Fingerprint: ${fp(c.publicKey)} (not checked against a key you gave`), plain.out);
    assert.equal(plain.err, '', 'no warning over https');
    assert.equal(pinnedIn(join(dir, 'e.profile')), c.publicKey);
  } finally {
    await c.dispose();
    await other.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('enrol over https:// needs no coordinator key, and a given one is checked there too', (t) =>
  enrolOverHttps(t, '127.0.0.1'));

test('enrol over https://[::1]:port: brackets in the URL, the certificate and key checks unchanged', (t) =>
  enrolOverHttps(t, '::1'));
