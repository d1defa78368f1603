// The identity providers' file: what is read, what is refused and how the refusal reads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadOidcConfig, OidcConfigError, parseOidcConfig } from './config.js';

const good = {
  PublicUrl: 'https://coord.example.com:8443/',
  Providers: [{ Name: 'corp', Issuer: 'https://login.example.com', ClientId: 'warren', ClientSecretFile: 's' }],
};

test('defaults: openid and email scopes, email and groups claims, automatic approval', () => {
  const c = parseOidcConfig(good, () => 'secret');
  assert.equal(c.publicUrl, 'https://coord.example.com:8443');
  assert.equal(c.recheckMs, 300_000);
  assert.deepEqual(c.providers[0], {
    name: 'corp',
    issuer: 'https://login.example.com',
    clientId: 'warren',
    clientSecret: 'secret',
    scopes: ['openid', 'email'],
    emailClaim: 'email',
    groupsClaim: 'groups',
    allowedDomains: [],
    approval: 'automatic',
    allowHttp: false,
  });
});

test('problems are refused with the key and what to do', () => {
  const refuses = (raw: unknown, re: RegExp): void =>
    assert.throws(
      () => parseOidcConfig(raw, () => 's'),
      (e: unknown) => e instanceof OidcConfigError && re.test(e.message),
    );
  const p = good.Providers[0]!;
  refuses({ ...good, Extra: 1 }, /Extra: unknown key/);
  refuses({ ...good, RecheckSeconds: 1 }, /RecheckSeconds: must be a whole number of seconds from 2 to 86400/);
  refuses({ ...good, RecheckSeconds: '300' }, /RecheckSeconds: must be/);
  assert.equal(parseOidcConfig({ ...good, RecheckSeconds: 0 }, () => 's').recheckMs, 0);
  assert.equal(parseOidcConfig({ ...good, RecheckSeconds: 60 }, () => 's').recheckMs, 60_000);
  refuses({ ...good, Providers: [] }, /Providers: must be a non-empty array/);
  refuses(
    { ...good, Providers: [{ ...p, Issuer: 'http://login.example.com' }] },
    /Issuer: must be an https:\/\/ URL \(AllowHttp/,
  );
  refuses({ ...good, Providers: [{ ...p, Name: 'Corp!' }] }, /Name: must be lower-case/);
  refuses({ ...good, Providers: [{ ...p, Approval: 'maybe' }] }, /Approval: "maybe" is not/);
  refuses({ ...good, Providers: [p, p] }, /the Name "corp" is used twice/);
  refuses({ ...good, Providers: [{ ...p, ClientSecret: 'x' }] }, /ClientSecret: unknown key/);
  assert.equal(
    parseOidcConfig({ ...good, Providers: [{ ...p, Issuer: 'http://i', AllowHttp: true }] }, () => 's').providers[0]!
      .issuer,
    'http://i',
  );
});

test('the secret file must be private to its owner, and is read relative to the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'warren-oidc-cfg-'));
  try {
    const file = join(dir, 'oidc.json');
    writeFileSync(file, JSON.stringify(good));
    writeFileSync(join(dir, 's'), 'the-secret\n', { mode: 0o644 });
    chmodSync(join(dir, 's'), 0o644);
    assert.throws(() => loadOidcConfig(file), /ClientSecretFile: .*readable by others \(mode 644\); chmod 600 it/);
    chmodSync(join(dir, 's'), 0o600);
    assert.equal(loadOidcConfig(file).providers[0]!.clientSecret, 'the-secret');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
