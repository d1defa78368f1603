// A real OpenID Connect provider (idp.ts) and an in-process coordinator with sign-in, on
// loopback, with the steps a test takes against them: start a login as `warren login` does,
// do the person's part in Chromium (the provider's login and consent pages, then the
// coordinator's confirmation page), poll, and find audit entries. The coordinator's clock can be
// moved ahead (skewMs) to reach a pending login's expiry without waiting ten minutes, and the
// provider's token response can be tampered with (tamper) while every check stays real.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CONTROL_PROTOCOL } from '../../src-shared/wire/control.js';
import {
  LOGIN_PATHS,
  loginProofText,
  type LoginPollResponse,
  type LoginStartResponse,
} from '../../src-shared/wire/login.js';
import { formatKey, generatePrivateKey, publicKeyFromPrivate } from '../../src-shared/lib/keys.js';
import { signEd25519 } from '../../src-shared/lib/ed25519.js';
import { machineKeyFromSeed, newMachineSeed } from '../../helper/src/control/sign.js';
import { startTestCoordinator, type TestCoordinator } from '../../coordinator/src/testing/testing.js';
import { loadOidcConfig } from '../../coordinator/src/oidc/config.js';
import type { AuditEntry } from '../../src-shared/wire/admin.js';
import { freePort, idpArgv, idpKeys, startIdpHere, type IdpKeys } from './idp-harness.js';
import { TEST_CLIENT_ID } from './idp.js';
import { waitUntil } from '../netns/wait.js';

export const CHROMIUM = '/usr/bin/chromium';

/** Tamper rewrites the ID token of the provider's token response (null: leave it). */
export type Tamper = ((idToken: string) => Promise<string>) | null;

/** Landed is a page the coordinator answered the browser with: its URL, status and text. */
export interface Landed {
  url: string;
  status: number;
  text: string;
}

/** LocalLab is the provider, the coordinator and a browser. */
export interface LocalLab {
  coord: TestCoordinator;
  keys: IdpKeys;
  browser: Browser;
  /** tamper is applied to every token response while set. */
  tamper: Tamper;
  /** skewMs moves the coordinator's clock ahead. */
  skewMs: number;
  close(): Promise<void>;
}

/** startLocalLab starts the provider (provider Name "test") and the coordinator with policy. */
export async function startLocalLab(policy: object): Promise<LocalLab> {
  const dir = mkdtempSync(join(tmpdir(), 'warren-oidc-'));
  const keys = await idpKeys();
  const [idpPort, coordPort] = [await freePort(), await freePort()];
  const issuer = `http://127.0.0.1:${idpPort}`;
  const publicUrl = `http://127.0.0.1:${coordPort}`;
  const secret = 'test-client-secret-0123456789';
  const redirectUri = `${publicUrl}${LOGIN_PATHS.callback}`;
  const idp = await startIdpHere(
    idpArgv(dir, keys, { issuer, host: '127.0.0.1', port: idpPort, clientSecret: secret, redirectUri }),
  );
  writeFileSync(join(dir, 'client.secret'), `${secret}\n`, { mode: 0o600 });
  const oidcFile = join(dir, 'oidc.json');
  const provider = { Name: 'test', Issuer: issuer, ClientId: TEST_CLIENT_ID, ClientSecretFile: 'client.secret' };
  writeFileSync(
    oidcFile,
    JSON.stringify({
      PublicUrl: publicUrl,
      Providers: [{ ...provider, Scopes: ['openid', 'email', 'groups'], AllowHttp: true }],
    }),
  );
  const lab = { tamper: null, skewMs: 0 } as LocalLab;
  // The seam only rewrites the token response's id_token; the request and every check are real.
  const seamFetch = async (url: string, options: RequestInit): Promise<Response> => {
    const r = await fetch(url, options);
    if (!lab.tamper || !new URL(url).pathname.endsWith('/token') || !r.ok) return r;
    const body = (await r.json()) as { id_token?: string };
    if (body.id_token) body.id_token = await lab.tamper(body.id_token);
    return new Response(JSON.stringify(body), { status: r.status, headers: { 'content-type': 'application/json' } });
  };
  lab.keys = keys;
  lab.coord = await startTestCoordinator({
    port: coordPort,
    now: () => Date.now() + lab.skewMs,
    oidc: { config: loadOidcConfig(oidcFile), seams: { fetch: seamFetch as never } },
  });
  const applied = await lab.coord.admin('PUT', '/v1/admin/policy', JSON.stringify(policy));
  assert.equal(applied.status, 200, JSON.stringify(applied.body));
  lab.browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  lab.close = async () => {
    await lab.browser?.close();
    await lab.coord?.dispose();
    await idp.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  return lab;
}

/** startRaw asks the coordinator to start a login for fresh keys, as `warren login` does. */
export async function startRaw(lab: LocalLab, provider: string, hostname = 'laptop'): Promise<Response> {
  const machine = machineKeyFromSeed(newMachineSeed());
  const wg = formatKey(publicKeyFromPrivate(generatePrivateKey()));
  const ts = Date.now();
  const proof = signEd25519(machine.privateKey, Buffer.from(loginProofText(provider, wg, ts))).toString('base64');
  const body = {
    ...{ protocol: CONTROL_PROTOCOL, provider, wireguardPublicKey: wg, machinePublicKey: formatKey(machine.publicKey) },
    ...{ hostname, ts, proof, endpoints: [] },
  };
  return fetch(`${lab.coord.url}${LOGIN_PATHS.start}`, { method: 'POST', body: JSON.stringify(body) });
}

/** start is startRaw that must succeed. */
export async function start(lab: LocalLab, provider = '', hostname = 'laptop'): Promise<LoginStartResponse> {
  const r = await startRaw(lab, provider, hostname);
  assert.equal(r.status, 200, await r.clone().text());
  return (await r.json()) as LoginStartResponse;
}

/** SignInOptions: what the person does on the confirmation page ('none': leave it open, and
 * the page is handed to the caller's then). */
export interface SignInOptions {
  press?: 'Confirm' | 'Cancel' | 'none';
  then?: (page: Page) => Promise<void>;
}

/** signIn does the person's part in a fresh browser context: the provider's login and consent
 * pages, then the coordinator's confirmation page. It returns the callback's answer, and the
 * confirmation's when a button was pressed. */
export async function signIn(
  lab: LocalLab,
  url: string,
  user: string,
  o: SignInOptions = {},
): Promise<{ callback: Landed; confirmed: Landed | null }> {
  const context = await lab.browser.newContext();
  try {
    const page = await context.newPage();
    const landed = page.waitForResponse((r) => r.url().includes(LOGIN_PATHS.callback), { timeout: 20_000 });
    await page.goto(url);
    await page.fill('input[name=login]', user);
    await page.fill('input[name=password]', 'any password');
    await page.click('button[type=submit]');
    await page.click('button[type=submit]'); // the consent page's Continue
    const r = await landed;
    const callback = { url: r.url(), status: r.status(), text: textOf(await r.text()) };
    const press = o.press ?? 'Confirm';
    if (callback.status !== 200 || press === 'none') {
      await o.then?.(page);
      return { callback, confirmed: null };
    }
    const answered = page.waitForResponse((x) => x.url().endsWith(LOGIN_PATHS.confirm), { timeout: 20_000 });
    await page.getByRole('button', { name: press }).click();
    const c = await answered;
    const confirmed = { url: c.url(), status: c.status(), text: textOf(await c.text()) };
    await o.then?.(page);
    return { callback, confirmed };
  } finally {
    await context.close();
  }
}

/** textOf is a page's text: inline markup dropped, block markup a space. */
export const textOf = (html: string): string =>
  html
    .replace(/<[^>]+data-testid[^>]*>|<\/strong>/g, '')
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ');

/** pollRaw is one long poll; poll one that must answer 200. */
export async function pollRaw(lab: LocalLab, loginId: string): Promise<Response> {
  return fetch(`${lab.coord.url}${LOGIN_PATHS.poll}`, { method: 'POST', body: JSON.stringify({ loginId }) });
}

export async function poll(lab: LocalLab, loginId: string): Promise<LoginPollResponse> {
  const r = await pollRaw(lab, loginId);
  assert.equal(r.status, 200, await r.clone().text());
  return (await r.json()) as LoginPollResponse;
}

/** refusal waits for the audit entry of a refused action with reason (refusals are queued up
 * to 1 s). */
export async function refusal(lab: LocalLab, reason: string, since: number, action = 'login'): Promise<AuditEntry> {
  return waitUntil(
    `a refused ${action} audited with ${reason}`,
    async () => {
      const r = await lab.coord.admin<{ entries: AuditEntry[] }>(
        'GET',
        `/v1/admin/audit?action=${action}&refused=1&since=${since}`,
      );
      return r.body.entries.find((e) => e.reason === reason);
    },
    5000,
    100,
  );
}

/** refill waits until the source's sign-in budget (OIDC_RATES: 0.5 a second after a burst of
 * 10; a start, a callback and a confirmation take one each) has n more: tests that are not about
 * the rate limit must not race it. */
export const refill = (n: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, n * 2000 + 250));
