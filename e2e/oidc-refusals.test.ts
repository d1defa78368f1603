// Signing in against a real OpenID Connect provider (oidc-provider, started by the test) with
// the person's steps done in Chromium: a good sign-in shows the confirmation page naming the
// user, the system and its code, and Confirm enrols the system as the user's with the tags
// AutoTags give the user's group; then what must be refused is refused, each with a clear
// message and an audit entry: an ID token signed with another key (forged), one signed with the
// provider's own key but expired, or for another audience, a replayed redirect (state used
// once), and a code redeemed a second time. The tampered tokens replace the provider's in its
// real token response (the coordinator's fetch seam, local-lab.ts); everything that checks them
// is the coordinator's real code and openid-client.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { SignJWT, generateKeyPair, decodeJwt, type CryptoKey } from 'jose';
import type { AuditEntry } from '../src-shared/wire/admin.js';
import { LOGIN_PATHS } from '../src-shared/wire/login.js';
import {
  CHROMIUM,
  poll as pollOf,
  refill,
  refusal as refusalOf,
  signIn as signInOf,
  start as startOf,
  startLocalLab,
  startRaw as startRawOf,
  type LocalLab,
} from './oidc/local-lab.js';

const POLICY = {
  Tags: ['dev', 'server'],
  AutoTags: { 'group:eng': ['tag:dev'] },
  Policies: [
    { Name: 'eng to servers', Senders: ['group:eng'], Receivers: ['tag:server'], Acls: [{ Protocol: 'any' }] },
  ],
};

describe(
  'sign-in refusals against a real OIDC provider',
  { skip: !existsSync(CHROMIUM) && `needs ${CHROMIUM}` },
  () => {
    let lab: LocalLab;
    let firstCallback = '';

    before(async () => {
      lab = await startLocalLab(POLICY);
    });
    after(async () => {
      await lab?.close();
    });

    const start = (provider = '') => startOf(lab, provider);
    const startRaw = (provider: string) => startRawOf(lab, provider);
    const poll = (loginId: string) => pollOf(lab, loginId);
    const refusal = (reason: string, since: number, action = 'login') => refusalOf(lab, reason, since, action);
    /** signIn does the person's part and presses Confirm; it returns the last page. */
    const signIn = async (url: string, user: string) => {
      const r = await signInOf(lab, url, user);
      return { ...(r.confirmed ?? r.callback), callback: r.callback.url, confirmPage: r.callback };
    };

    /** mint re-signs the provider's ID token's claims, changed by change, with key. */
    async function mint(
      idToken: string,
      change: (c: Record<string, unknown>) => void,
      key: CryptoKey,
    ): Promise<string> {
      const claims = { ...decodeJwt(idToken) } as Record<string, unknown>;
      change(claims);
      return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: lab.keys.kid }).sign(key);
    }

    test('a good sign-in enrols the system as the user’s, with the tags AutoTags give the group', async () => {
      const s = await start();
      const r = await signIn(s.url, 'alice');
      firstCallback = r.callback;
      assert.equal(r.confirmPage.status, 200, r.confirmPage.text);
      assert.match(r.confirmPage.text, /You signed in as alice@example\.com/);
      assert.match(r.confirmPage.text, new RegExp(`Enrol the system laptop as yours\\? It printed the code ${s.code}`));
      assert.equal(r.status, 200, r.text);
      assert.match(r.text, /Signed in as alice@example\.com/);
      assert.match(r.text, new RegExp(s.code));
      const p = await poll(s.loginId);
      assert.equal(p.status, 'enrolled', JSON.stringify(p));
      if (p.status !== 'enrolled') return;
      assert.equal(p.user, 'alice@example.com');
      assert.deepEqual(p.enrol.tags, ['dev']);
      assert.equal(p.enrol.state, 'active');
      const users = await lab.coord.admin<{ users: { email: string; groups: string[]; systems: string[] }[] }>(
        'GET',
        '/v1/admin/users',
      );
      const alice = users.body.users.find((u) => u.email === 'alice@example.com');
      assert.ok(alice, JSON.stringify(users.body));
      assert.deepEqual(alice.groups, ['eng', 'staff']);
      assert.deepEqual(alice.systems, [p.enrol.identity]);
      const audit = await lab.coord.admin<{ entries: AuditEntry[] }>('GET', '/v1/admin/audit?action=login');
      const ok = audit.body.entries.filter((e) => e.outcome === 'ok');
      assert.equal(ok.length, 1, JSON.stringify(audit.body.entries));
      assert.equal(ok[0]!.actor, 'alice@example.com');
      assert.equal(ok[0]!.target, p.enrol.identity);
      assert.match(ok[0]!.detail ?? '', /^test, groups eng,staff, token check on/);
    });

    test('an ID token signed with another key is refused', async () => {
      const since = Date.now();
      const { privateKey: forger } = await generateKeyPair('RS256');
      lab.tamper = (t) => mint(t, () => {}, forger);
      try {
        const s = await start();
        const r = await signIn(s.url, 'alice');
        assert.equal(r.status, 403);
        assert.match(r.text, /could not be verified/);
        const p = await poll(s.loginId);
        assert.equal(p.status, 'refused');
        assert.match((p as { message: string }).message, /signature/i);
      } finally {
        lab.tamper = null;
      }
      const e = await refusal('id-token-refused', since);
      assert.match(e.detail ?? '', /signature/i);
    });

    test('an expired ID token, signed with the provider’s own key, is refused', async () => {
      const since = Date.now();
      const now = Math.floor(Date.now() / 1000);
      lab.tamper = (t) => mint(t, (c) => ((c.iat = now - 7200), (c.exp = now - 3600)), lab.keys.privateKey);
      try {
        const s = await start();
        const r = await signIn(s.url, 'alice');
        assert.equal(r.status, 403);
        const p = await poll(s.loginId);
        assert.equal(p.status, 'refused');
        assert.match((p as { message: string }).message, /exp|expired|timestamp/i);
      } finally {
        lab.tamper = null;
      }
      await refusal('id-token-refused', since);
    });

    test('an ID token for another audience is refused', async () => {
      const since = Date.now();
      lab.tamper = (t) =>
        mint(t, (c) => ((c.aud = 'some-other-client'), (c.azp = 'some-other-client')), lab.keys.privateKey);
      try {
        const s = await start();
        const r = await signIn(s.url, 'alice');
        assert.equal(r.status, 403);
        const p = await poll(s.loginId);
        assert.equal(p.status, 'refused');
        assert.match((p as { message: string }).message, /aud/i);
      } finally {
        lab.tamper = null;
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
      await refill(2);
      const since = Date.now();
      const used = new URL(firstCallback);
      const s = await start();
      const state = new URL(s.url).searchParams.get('state')!;
      const replay = new URL(`${lab.coord.url}${LOGIN_PATHS.callback}`);
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
      await refill(3);
      const since = Date.now();
      assert.equal((await lab.coord.admin('POST', '/v1/admin/users/alice@example.com/disable')).status, 200);
      const s = await start();
      const r = await signIn(s.url, 'alice');
      assert.equal(r.status, 403, 'refused at Confirm');
      assert.match(r.text, /alice@example\.com is disabled on this coordinator; ask its administrator/);
      const p = await poll(s.loginId);
      assert.equal(p.status, 'refused');
      const e = await refusal('login-refused', since);
      assert.match(e.detail ?? '', /is disabled/);
      assert.equal((await lab.coord.admin('POST', '/v1/admin/users/alice@example.com/enable')).status, 200);
      // The start, the callback and the confirmation take one each.
      await refill(3);
      const again = await start();
      assert.equal((await signIn(again.url, 'alice')).status, 200);
      assert.equal((await poll(again.loginId)).status, 'enrolled');
    });
  },
);
