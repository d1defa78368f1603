// Shared setup of the sign-in e2e tests: a real OpenID Connect provider (oidc-provider, idp.ts)
// and a coordinator with `serve --oidc` in one namespace, and `warren login` run in a system's
// namespace with the person's steps done in Chromium running in that same namespace.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { Namespace, Switch, Topology } from '../netns/index.js';
import { startCoordinator, type Coordinator, type Enrolled } from '../netns/coordinated.js';
import { startWarren, warrenArgv } from '../netns/warren.js';
import { readProfile } from '../../helper/src/config/load.js';
import { LOGIN_PATHS } from '../../src-shared/wire/login.js';
import { idpArgv, idpKeys, startIdpIn } from './idp-harness.js';
import { TEST_CLIENT_ID, TEST_CONTROL_PATH, TEST_USERS, type TestUserChange } from './idp.js';

const CHROMIUM = '/usr/bin/chromium';

/** OidcLab is a provider and a coordinator that signs people in with it (provider Name "corp"). */
export interface OidcLab {
  c: Coordinator;
  coordinatorKey: string;
  coordUrl: string;
  idpUrl: string;
  /** browsers are closed by close(). */
  browsers: Browser[];
  /** coordNs holds the provider and the coordinator. */
  coordNs: Namespace;
  /** setUser changes a person at the provider (idp.ts TEST_CONTROL_PATH). */
  setUser(user: string, change: TestUserChange): Promise<void>;
  close(): Promise<void>;
}

/** LabOptions: RecheckSeconds for the --oidc file (absent: the default), and more `serve`
 * arguments (--console). */
export interface LabOptions {
  recheckSeconds?: number;
  serveArgs?: string[];
}

/** startOidcLab starts the provider (port 9000) and the coordinator (port 8080) at ip in a new
 * namespace `short` on sw. */
export async function startOidcLab(
  topo: Topology,
  sw: Switch,
  short: string,
  ip: string,
  o: LabOptions = {},
): Promise<OidcLab> {
  const coordNs = await topo.addNamespace(short);
  await topo.attach(coordNs, sw, `${ip}/24`);
  const coordUrl = `http://${ip}:8080`;
  const { idpUrl, oidcFile: oidc } = await startIdpFor(topo, coordNs, ip, coordUrl, o);
  const c = await startCoordinator(coordNs, ip, ['--oidc', oidc, ...(o.serveArgs ?? [])]);
  const coordinatorKey = (JSON.parse(await c.cli(['key', '--json'])) as { publicKey: string }).publicKey;
  const browsers: Browser[] = [];
  return {
    c,
    coordinatorKey,
    coordUrl,
    idpUrl,
    browsers,
    coordNs,
    async setUser(user, change) {
      const r = await coordNs.exec(
        ['curl', '-sf', '-X', 'PUT', '--data', JSON.stringify(change), `${idpUrl}${TEST_CONTROL_PATH}${user}`],
        { allowFailure: true, timeoutMs: 5000 },
      );
      assert.equal(r.code, 0, `the test provider did not change ${user}: ${r.stderr}`);
    },
    async close() {
      for (const b of browsers) await b.close().catch(() => {});
      await c.stop();
    },
  };
}

/** startIdpFor starts the provider at ip:9000 in ns for coordinators whose PublicUrl is
 * publicUrl, and writes the --oidc file naming it (provider Name "corp"). */
export async function startIdpFor(
  topo: Topology,
  ns: Namespace,
  ip: string,
  publicUrl: string,
  o: { recheckSeconds?: number } = {},
): Promise<{ idpUrl: string; oidcFile: string }> {
  const idpUrl = `http://${ip}:9000`;
  const secret = 'e2e-client-secret-0123456789';
  await startIdpIn(
    ns,
    idpArgv(topo.dir, await idpKeys(), {
      issuer: idpUrl,
      host: ip,
      port: 9000,
      clientSecret: secret,
      redirectUri: `${publicUrl}${LOGIN_PATHS.callback}`,
    }),
    idpUrl,
  );
  topo.writeFile('client.secret', secret);
  const oidcFile = topo.writeFile(
    'oidc.json',
    JSON.stringify({
      PublicUrl: publicUrl,
      Providers: [
        {
          Name: 'corp',
          Issuer: idpUrl,
          ClientId: TEST_CLIENT_ID,
          ClientSecretFile: 'client.secret',
          Scopes: ['openid', 'email', 'profile', 'groups'],
          AllowHttp: true,
        },
      ],
      ...(o.recheckSeconds !== undefined ? { RecheckSeconds: o.recheckSeconds } : {}),
    }),
  );
  return { idpUrl, oidcFile };
}

/** signIn runs `warren login` in ns and signs in as user in a new Chromium in ns (no session
 * at the provider, so the person authenticates afresh); it returns the profile path and what
 * the CLI printed. */
export async function signIn(
  lab: OidcLab,
  topo: Topology,
  ns: Namespace,
  user: string,
): Promise<{ profile: string; output: string; consentAt: number; confirmAt: number }> {
  const profile = topo.file(`${user}.profile`);
  const stateDir = topo.file(`warren-${user}-state`);
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const proc = ns.spawn(
    [
      ...warrenArgv(),
      ...['login', '--coordinator', lab.coordUrl, '--coordinator-key', lab.coordinatorKey, '--no-browser'],
      ...['--profile', profile, '--state-dir', stateDir, '--hostname', `${user}-laptop`, '--port', '51820'],
    ],
    { name: `login-${user}` },
  );
  const url = (await proc.waitFor(/^\s+(https?:\/\/\S+)$/m, 20_000))[1]!;
  const code = (await proc.waitFor(/shows the code ([0-9A-Z]{4}-[0-9A-Z]{4})/))[1]!;
  const { consentAt, confirmAt } = await completeAtProvider(lab, topo, ns, url, user, {
    code,
    hostname: `${user}-laptop`,
  });
  const { code: exit } = await proc.exited;
  assert.equal(exit, 0, proc.output());
  assert.match(proc.output(), new RegExp(`Signed in as ${TEST_USERS[user]!.email}`));
  return { profile, output: proc.output(), consentAt, confirmAt };
}

/** PersonOptions: what the person is shown (code, hostname) and does (cancel at the provider);
 * cancelledBefore: the coordinator's page says cancelled instead of asking; watch sees the page
 * before it opens the URL, beforeConfirm acts on the confirmation page before Confirm is pressed,
 * and confirmRefused expects the coordinator to refuse the Confirm. */
export interface PersonOptions {
  code?: string;
  hostname?: string;
  cancel?: boolean;
  cancelledBefore?: boolean;
  watch?: (page: Page) => void;
  beforeConfirm?: (page: Page) => Promise<void>;
  confirmRefused?: boolean;
}

/** completeAtProvider does the person's part of a sign-in: opens url in a new Chromium in ns (no
 * session at the provider, so the person authenticates afresh), signs in as user and consents,
 * checks the coordinator's confirmation page names the user (and the code and hostname when
 * given) and presses Confirm, then that the page says the user signed in; with cancel, the
 * person cancels at the provider's login page instead; with cancelledBefore, the login was
 * cancelled by its system and the coordinator's page says so instead of asking. It returns when
 * the consent was given, when Confirm was pressed (0 when it was not) and what the last page said.
 * The coordinator stores the new sign-in on Confirm (confirm.ts), so access changes time from there. */
export async function completeAtProvider(
  lab: Pick<OidcLab, 'browsers'>,
  topo: Topology,
  ns: Namespace,
  url: string,
  user: string,
  o: PersonOptions = {},
): Promise<{ consentAt: number; confirmAt: number; pageText: string }> {
  const wrapper = topo.writeFile(`chromium-${user}.sh`, `#!/bin/sh\nexec ip netns exec ${ns.name} ${CHROMIUM} "$@"\n`);
  chmodSync(wrapper, 0o700);
  const browser = await chromium.launch({ executablePath: wrapper, args: ['--no-sandbox'] });
  lab.browsers.push(browser);
  try {
    const page = await browser.newPage();
    o.watch?.(page);
    await page.goto(url);
    if (o.cancel) {
      await page.click('text=[ Cancel ]');
      await page.waitForURL((u) => u.pathname === LOGIN_PATHS.callback, { timeout: 20_000 });
      return { consentAt: 0, confirmAt: 0, pageText: (await page.textContent('body')) ?? '' };
    }
    await page.fill('input[name=login]', user);
    await page.fill('input[name=password]', 'any password');
    await page.click('button[type=submit]');
    // From this click on the person's part is quick: consent, the redirect, the coordinator's
    // confirmation page and its Confirm.
    const consentAt = Date.now();
    await page.click('button[type=submit]'); // consent
    if (o.cancelledBefore) {
      await page.getByText('Sign-in cancelled').waitFor({ timeout: 20_000 });
      return { consentAt, confirmAt: 0, pageText: (await page.textContent('body')) ?? '' };
    }
    await page.getByTestId('confirm-email').waitFor({ timeout: 20_000 });
    assert.equal(await page.getByTestId('confirm-email').innerText(), TEST_USERS[user]!.email);
    if (o.code)
      assert.equal(await page.getByTestId('confirm-code').innerText(), o.code, 'the code the system was given');
    if (o.hostname) assert.equal(await page.getByTestId('confirm-hostname').innerText(), o.hostname);
    await o.beforeConfirm?.(page);
    const confirm = page.getByRole('button', { name: 'Confirm' });
    await confirm.waitFor({ timeout: 20_000 });
    const confirmAt = Date.now();
    await confirm.click();
    const outcome = o.confirmRefused ? 'Confirmation refused' : `Signed in as ${TEST_USERS[user]!.email}`;
    await page.getByText(outcome).waitFor({ timeout: 20_000 });
    const pageText = (await page.textContent('body')) ?? '';
    if (o.code && !o.confirmRefused)
      assert.match(pageText, new RegExp(o.code), 'the page shows the code the system was given');
    return { consentAt, confirmAt, pageText };
  } finally {
    await browser.close().catch(() => {});
  }
}

/** loginAndStart signs user in from ns and starts the helper with the profile written. */
export async function loginAndStart(lab: OidcLab, topo: Topology, ns: Namespace, user: string): Promise<Enrolled> {
  const { profile, output } = await signIn(lab, topo, ns, user);
  const p = readProfile(profile);
  const adapter = topo.ifname('w');
  const json = { ...p.json, Adapter: { Name: adapter } };
  const w = await startWarren(ns, json, { name: `warren-${user}` });
  return { w, vip: p.profile.virtualAddress, vip6: p.profile.virtualAddress6, adapter, enrolOutput: output, json };
}
