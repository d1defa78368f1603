// Signing in against a real OpenID Connect provider (oidc-provider, started by the test) with
// the person's steps done in Chromium: a good sign-in enrols the system as the user's with the
// tags AutoTags give the user's group; then what must be refused is refused, each with a clear
// message and an audit entry: an ID token signed with another key (forged), one signed with the
// provider's own key but expired, or for another audience, a replayed redirect (state used
// once), and a code redeemed a second time. The tampered tokens replace the provider's in its
// real token response (the coordinator's fetch seam); everything that checks them is the
// coordinator's real code and openid-client.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SignJWT, generateKeyPair, decodeJwt, type CryptoKey } from 'jose';
import { chromium, type Browser } from 'playwright-core';
import { existsSync } from 'node:fs';
import { CONTROL_PROTOCOL } from '../src-shared/wire/control.js';
import {
  LOGIN_PATHS,
  loginProofText,
  type LoginPollResponse,
  type LoginStartResponse,
} from '../src-shared/wire/login.js';
import { formatKey, generatePrivateKey, publicKeyFromPrivate } from '../src-shared/lib/keys.js';
import { signEd25519 } from '../src-shared/lib/ed25519.js';
import { machineKeyFromSeed, newMachineSeed } from '../helper/src/control/sign.js';
import { startTestCoordinator, type TestCoordinator } from '../coordinator/src/testing/testing.js';
import { loadOidcConfig } from '../coordinator/src/oidc/config.js';
import type { AuditEntry } from '../src-shared/wire/admin.js';
import { freePort, idpArgv, idpKeys, startIdpHere, type IdpKeys } from './oidc/idp-harness.js';
import { TEST_CLIENT_ID } from './oidc/idp.js';
import { waitUntil } from './netns/wait.js';

const CHROMIUM = '/usr/bin/chromium';
const POLICY = {
  Tags: ['dev', 'server'],
  AutoTags: { 'group:eng': ['tag:dev'] },
  Policies: [
    { Name: 'eng to servers', Senders: ['group:eng'], Receivers: ['tag:server'], Acls: [{ Protocol: 'any' }] },
  ],
};

/** Tamper rewrites the ID token of the provider's token response (null: leave it). */
type Tamper = ((idToken: string) => Promise<string>) | null;

describe(
  'sign-in refusals against a real OIDC provider',
  { skip: !existsSync(CHROMIUM) && `needs ${CHROMIUM}` },
  () => {
    let dir: string;
    let keys: IdpKeys;
    let idp: Awaited<ReturnType<typeof startIdpHere>>;
    let coord: TestCoordinator;
    let browser: Browser;
    let tamper: Tamper = null;
    let firstCallback = '';

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'warren-oidc-'));
      keys = await idpKeys();
      const [idpPort, coordPort] = [await freePort(), await freePort()];
      const issuer = `http://127.0.0.1:${idpPort}`;
      const publicUrl = `http://127.0.0.1:${coordPort}`;
      const secret = 'test-client-secret-0123456789';
      idp = await startIdpHere(
        idpArgv(dir, keys, {
          issuer,
          host: '127.0.0.1',
          port: idpPort,
          clientSecret: secret,
          redirectUri: `${publicUrl}${LOGIN_PATHS.callback}`,
        }),
      );
      writeFileSync(join(dir, 'client.secret'), `${secret}\n`, { mode: 0o600 });
      const oidcFile = join(dir, 'oidc.json');
      writeFileSync(
        oidcFile,
        JSON.stringify({
          PublicUrl: publicUrl,
          Providers: [
            {
              Name: 'test',
              Issuer: issuer,
              ClientId: TEST_CLIENT_ID,
              ClientSecretFile: 'client.secret',
              Scopes: ['openid', 'email', 'groups'],
              AllowHttp: true,
            },
          ],
        }),
      );
      // The seam only rewrites the token response's id_token; the request and every check are real.
      const seamFetch = async (url: string, options: RequestInit): Promise<Response> => {
        const r = await fetch(url, options);
        if (!tamper || !new URL(url).pathname.endsWith('/token') || !r.ok) return r;
        const body = (await r.json()) as { id_token?: string };
        if (body.id_token) body.id_token = await tamper(body.id_token);
        return new Response(JSON.stringify(body), {
          status: r.status,
          headers: { 'content-type': 'application/json' },
        });
      };
      coord = await startTestCoordinator({
        port: coordPort,
        oidc: { config: loadOidcConfig(oidcFile), seams: { fetch: seamFetch as never } },
      });
      const applied = await coord.admin('PUT', '/v1/admin/policy', JSON.stringify(POLICY));
      assert.equal(applied.status, 200, JSON.stringify(applied.body));
      browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    });

    after(async () => {
      await browser?.close();
      await coord?.dispose();
      await idp?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    /** start asks the coordinator to start a login for fresh keys, as `warren login` does. */
    async function start(provider = ''): Promise<LoginStartResponse> {
      const r = await startRaw(provider);
      assert.equal(r.status, 200, await r.clone().text());
      return (await r.json()) as LoginStartResponse;
    }

    async function startRaw(provider: string): Promise<Response> {
      const machine = machineKeyFromSeed(newMachineSeed());
      const wg = formatKey(publicKeyFromPrivate(generatePrivateKey()));
      const ts = Date.now();
      const proof = signEd25519(machine.privateKey, Buffer.from(loginProofText(provider, wg, ts))).toString('base64');
      const body = {
        protocol: CONTROL_PROTOCOL,
        provider,
        wireguardPublicKey: wg,
        machinePublicKey: formatKey(machine.publicKey),
        hostname: 'laptop',
        ts,
        proof,
        endpoints: [],
      };
      return fetch(`${coord.url}${LOGIN_PATHS.start}`, { method: 'POST', body: JSON.stringify(body) });
    }

    /** signIn does the person's part in a fresh browser: the provider's login and consent pages. */
    async function signIn(url: string, user: string): Promise<{ callback: string; status: number; text: string }> {
      const context = await browser.newContext();
      try {
        const page = await context.newPage();
        const landed = page.waitForResponse((r) => r.url().includes(LOGIN_PATHS.callback), { timeout: 20_000 });
        await page.goto(url);
        await page.fill('input[name=login]', user);
        await page.fill('input[name=password]', 'any password');
        await page.click('button[type=submit]');
        await page.click('button[type=submit]'); // the consent page's Continue
        const r = await landed;
        return { callback: r.url(), status: r.status(), text: (await r.text()).replace(/<[^>]+>/g, ' ') };
      } finally {
        await context.close();
      }
    }

    async function poll(loginId: string): Promise<LoginPollResponse> {
      const r = await fetch(`${coord.url}${LOGIN_PATHS.poll}`, { method: 'POST', body: JSON.stringify({ loginId }) });
      assert.equal(r.status, 200);
      return (await r.json()) as LoginPollResponse;
    }

    /** refusal waits for the audit entry of a refused login with reason (refusals are queued up to 1 s). */
    async function refusal(reason: string, since: number, action = 'login'): Promise<AuditEntry> {
      return waitUntil(
        `a refused ${action} audited with ${reason}`,
        async () => {
          const r = await coord.admin<{ entries: AuditEntry[] }>(
            'GET',
            `/v1/admin/audit?action=${action}&refused=1&since=${since}`,
          );
          return r.body.entries.find((e) => e.reason === reason);
        },
        5000,
        100,
      );
    }

    /** mint re-signs the provider's ID token's claims, changed by change, with key. */
    async function mint(
      idToken: string,
      change: (c: Record<string, unknown>) => void,
      key: CryptoKey,
    ): Promise<string> {
      const claims = { ...decodeJwt(idToken) } as Record<string, unknown>;
      change(claims);
      return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: keys.kid }).sign(key);
    }

    test('a good sign-in enrols the system as the user’s, with the tags AutoTags give the group', async () => {
      const s = await start();
      const r = await signIn(s.url, 'alice');
      firstCallback = r.callback;
      assert.equal(r.status, 200, r.text);
      assert.match(r.text, /Signed in as alice@example\.com/);
      assert.match(r.text, new RegExp(s.code));
      const p = await poll(s.loginId);
      assert.equal(p.status, 'enrolled', JSON.stringify(p));
      if (p.status !== 'enrolled') return;
      assert.equal(p.user, 'alice@example.com');
      assert.deepEqual(p.enrol.tags, ['dev']);
      assert.equal(p.enrol.state, 'active');
      const users = await coord.admin<{ users: { email: string; groups: string[]; systems: string[] }[] }>(
        'GET',
        '/v1/admin/users',
      );
      const alice = users.body.users.find((u) => u.email === 'alice@example.com');
      assert.ok(alice, JSON.stringify(users.body));
      assert.deepEqual(alice.groups, ['eng', 'staff']);
      assert.deepEqual(alice.systems, [p.enrol.identity]);
      const audit = await coord.admin<{ entries: AuditEntry[] }>('GET', '/v1/admin/audit?action=login');
      const ok = audit.body.entries.filter((e) => e.outcome === 'ok');
      assert.equal(ok.length, 1, JSON.stringify(audit.body.entries));
      assert.equal(ok[0]!.actor, 'alice@example.com');
      assert.equal(ok[0]!.target, p.enrol.identity);
      assert.match(ok[0]!.detail ?? '', /^test, groups eng,staff, token check on/);
    });

    test('an ID token signed with another key is refused', async () => {
      const since = Date.now();
      const { privateKey: forger } = await generateKeyPair('RS256');
      tamper = (t) => mint(t, () => {}, forger);
      try {
        const s = await start();
        const r = await signIn(s.url, 'alice');
        assert.equal(r.status, 403);
        assert.match(r.text, /could not be verified/);
        const p = await poll(s.loginId);
        assert.equal(p.status, 'refused');
        assert.match((p as { message: string }).message, /signature/i);
      } finally {
        tamper = null;
      }
      const e = await refusal('id-token-refused', since);
      assert.match(e.detail ?? '', /signature/i);
    });

    test('an expired ID token, signed with the provider’s own key, is refused', async () => {
      const since = Date.now();
      const now = Math.floor(Date.now() / 1000);
      tamper = (t) => mint(t, (c) => ((c.iat = now - 7200), (c.exp = now - 3600)), keys.privateKey);
      try {
        const s = await start();
        const r = await signIn(s.url, 'alice');
        assert.equal(r.status, 403);
        const p = await poll(s.loginId);
        assert.equal(p.status, 'refused');
        assert.match((p as { message: string }).message, /exp|expired|timestamp/i);
      } finally {
        tamper = null;
      }
      await refusal('id-token-refused', since);
    });

    test('an ID token for another audience is refused', async () => {
      const since = Date.now();
      tamper = (t) => mint(t, (c) => ((c.aud = 'some-other-client'), (c.azp = 'some-other-client')), keys.privateKey);
      try {
        const s = await start();
        const r = await signIn(s.url, 'alice');
        assert.equal(r.status, 403);
        const p = await poll(s.loginId);
        assert.equal(p.status, 'refused');
        assert.match((p as { message: string }).message, /aud/i);
      } finally {
        tamper = null;
      }
      await refusal('id-token-refused', since);
    });

    test('a replayed redirect is refused: the state was used once', async () => {
      assert.ok(firstCallback.includes('state='), 'the good sign-in ran first');
      const since = Date.now();
      const r = await fetch(firstCallback);
      assert.equal(r.status, 400);
      assert.match(await r.text(), /already used/);
      await refusal('state-unknown', since);
    });

    test('a code redeemed a second time is refused by the provider', async () => {
      const since = Date.now();
      const used = new URL(firstCallback);
      const s = await start();
      const state = new URL(s.url).searchParams.get('state')!;
      const replay = new URL(`${coord.url}${LOGIN_PATHS.callback}`);
      replay.searchParams.set('code', used.searchParams.get('code')!);
      replay.searchParams.set('state', state);
      if (used.searchParams.has('iss')) replay.searchParams.set('iss', used.searchParams.get('iss')!);
      const r = await fetch(replay);
      assert.equal(r.status, 403);
      assert.match(await r.text(), /invalid_grant/);
      const p = await poll(s.loginId);
      assert.equal(p.status, 'refused');
      await refusal('id-token-refused', since);
    });

    /** refill waits until the source's sign-in budget (OIDC_RATES: 0.5 a second after a burst
     * of 10, spent by the tests above when they run fast) has `n` more: these tests are about
     * refusals, not the rate limit. */
    const refill = (n: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, n * 2000 + 250));

    test('a sign-in naming a provider that is not configured is refused and audited', async () => {
      await refill(1);
      const since = Date.now();
      const r = await startRaw('nope');
      assert.equal(r.status, 404);
      assert.match(await r.text(), /no identity provider is named \\"nope\\" here; use one of test/);
      const e = await refusal('unknown-provider', since, 'login.start');
      assert.equal(e.target, 'nope');
    });

    test('a disabled user signing in is refused and audited; enabled again, the sign-in works', async () => {
      await refill(2);
      const since = Date.now();
      assert.equal((await coord.admin('POST', '/v1/admin/users/alice@example.com/disable')).status, 200);
      const s = await start();
      const r = await signIn(s.url, 'alice');
      assert.equal(r.status, 403);
      assert.match(r.text, /alice@example\.com is disabled on this coordinator; ask its administrator/);
      const p = await poll(s.loginId);
      assert.equal(p.status, 'refused');
      const e = await refusal('login-refused', since);
      assert.match(e.detail ?? '', /is disabled/);
      assert.equal((await coord.admin('POST', '/v1/admin/users/alice@example.com/enable')).status, 200);
      // The start and the callback take one each.
      await refill(2);
      const again = await start();
      assert.equal((await signIn(again.url, 'alice')).status, 200);
      assert.equal((await poll(again.loginId)).status, 'enrolled');
    });
  },
);
