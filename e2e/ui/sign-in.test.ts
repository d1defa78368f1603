// "Sign in" in the app's Enrol tab, end to end: a real OpenID Connect provider and a coordinator
// with `serve --oidc` (e2e/oidc/login-lab.ts) in one namespace, a helper in another, `warren ui`
// in the root namespace and its window in Chromium. Pressing Sign in has the helper start the
// login; the web UI hands the URL to the desktop's browser command (xdg-open, replaced here by a
// script that records what it was given, so the test opens exactly that URL); the person's steps
// at the provider run in a second Chromium in the helper's namespace, where the provider is
// reachable. First the person cancels at the provider and the tab says so in a sentence; then
// the person presses the tab's Cancel while the sign-in waits, and the URL enrols nothing; then
// alice signs in (and confirms on the coordinator's page), and the system is enrolled as hers with the tags AutoTags give group eng, which
// the tab shows, as does the coordinator.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { Topology, describeE2E, genKeyPair, repoRoot, startWarren, waitUntil } from '../netns/index.js';
import type { Namespace, Warren } from '../netns/index.js';
import { completeAtProvider, startOidcLab, type OidcLab } from '../oidc/login-lab.js';
import { AppPage, EnrolForm } from './pages/app-page.js';
import { startWebUiProcess, type WebUiProcess } from './web-ui-process.js';
import { readProfile } from '../../helper/src/config/load.js';

const CHROMIUM = '/usr/bin/chromium';
const COORD_IP = '10.67.0.100';
const SYSTEM_IP = '10.67.0.1';
const MAX_AGE_S = 15;
/** POLICY tags group eng's systems dev, and asks of them a sign-in no older than MAX_AGE_S. */
const POLICY = {
  Tags: ['dev', 'server'],
  AutoTags: { 'group:eng': ['tag:dev'] },
  Policies: [
    {
      Name: 'eng to servers, recently signed in',
      Senders: ['group:eng'],
      Receivers: ['tag:server'],
      Acls: [{ Protocol: 'icmp' }],
      TrustRequirements: [{ Type: 'UserAuthentication', Authority: 'corp', MaxAge: `${MAX_AGE_S}s` }],
    },
  ],
};

describeE2E(
  'Sign in from the app with a real OIDC provider',
  { warren: true, binaries: ['curl', 'chromium'] },
  { timeout: 240_000 },
  () => {
    let topo: Topology;
    let lab: OidcLab;
    let sys: Namespace;
    let helper: Warren;
    let ui: WebUiProcess;
    let browser: Browser;
    let app: AppPage;
    let form: EnrolForm;
    let openedFile: string;

    /** openedUrls are the URLs the web UI handed to the browser command, in order. */
    const openedUrls = (): string[] =>
      existsSync(openedFile) ? readFileSync(openedFile, 'utf8').split('\n').filter(Boolean) : [];

    /** pressSignIn fills the tab and presses Sign in; it returns the URL the browser was given
     * and the code the tab shows. */
    async function pressSignIn(): Promise<{ url: string; code: string }> {
      const before = openedUrls().length;
      await form.fill(lab.coordUrl, '', lab.coordinatorKey);
      await form.signInButton.click();
      const code = (await form.signInCode.innerText()).trim();
      assert.match(code, /^[0-9A-Z]{4}-[0-9A-Z]{4}$/);
      const url = await waitUntil(
        'the web UI to hand the sign-in URL to the browser command',
        async () => openedUrls()[before],
        10_000,
        100,
      );
      assert.equal(await form.signInLink.getAttribute('href'), url, 'the tab offers the same address to open');
      assert.match(url, new RegExp(`^${lab.idpUrl.replace(/\./g, '\\.')}/auth\\?`), 'the provider’s own page');
      return { url, code };
    }

    before(async () => {
      topo = Topology.create();
      const sw = await topo.addSwitch('sw');
      lab = await startOidcLab(topo, sw, 'signc', COORD_IP);
      await lab.c.applyPolicy(POLICY);
      sys = await topo.addNamespace('signs');
      await topo.attach(sys, sw, `${SYSTEM_IP}/24`);
      // Not enrolled yet: a helper with a static profile and no peers, as on a new laptop.
      const key = genKeyPair();
      helper = await startWarren(
        sys,
        {
          PrivateKey: key.privateKey,
          ListenPort: 51820,
          VirtualAddress: '100.64.9.1',
          Adapter: { Name: topo.ifname('w') },
        },
        { name: 'warren-signin' },
      );
      // The desktop's browser command: a script that records the URL it is given.
      openedFile = join(topo.dir, 'opened-urls');
      const bin = join(topo.dir, 'bin');
      mkdirSync(bin, { mode: 0o700 });
      writeFileSync(join(bin, 'xdg-open'), `#!/bin/sh\nprintf '%s\\n' "$1" >> ${openedFile}\n`, { mode: 0o700 });
      ui = await startWebUiProcess(helper.socket, topo.dir, {
        env: { DISPLAY: ':99', PATH: `${bin}:${process.env.PATH ?? ''}` },
      });
      browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
      const context = await browser.newContext({ viewport: { width: 900, height: 900 }, colorScheme: 'light' });
      app = new AppPage(await context.newPage(), join(repoRoot(), '.artifacts', 'ui'));
      await app.goto(ui.oneTimeUrl);
      await app.openTab('enrol');
      form = new EnrolForm(app.page);
      await form.root.waitFor();
    });
    after(async () => {
      await browser?.close();
      await ui?.stop();
      await lab?.close();
      await topo?.destroy();
    });

    test('the person cancels at the provider: the tab says the sign-in was refused, and nothing is enrolled', async () => {
      const { url, code } = await pressSignIn();
      await form.signInProgress('waiting');
      assert.match(await form.signInOutcome.innerText(), /Waiting for you to sign in in your browser/);
      assert.match(await form.signInOutcome.innerText(), new RegExp(`shows the code ${code}`));
      await app.screenshot('sign-in-waiting');
      assert.equal(await form.signInButton.isDisabled(), true, 'one sign-in at a time');
      await completeAtProvider(lab, topo, sys, url, 'alice', { cancel: true });
      await form.signInProgress('refused', 40_000);
      assert.match(await form.signInOutcome.innerText(), /^The sign-in was refused: .*(access_denied|aborted)/i);
      await app.screenshot('sign-in-refused');
      assert.doesNotMatch(await lab.c.cli(['systems', 'list']), /alice@example\.com/);
      assert.equal(readProfile(helper.profilePath).profile.coordinator, null, 'the profile is untouched');
    });

    test('Cancel in the tab cancels the sign-in at the coordinator: the tab says so, and its URL enrols nothing', async () => {
      const { url } = await pressSignIn();
      await form.signInProgress('waiting');
      await form.signInCancel.click();
      await form.signInProgress('cancelled', 20_000);
      assert.equal(
        await form.signInOutcome.innerText(),
        'The sign-in was cancelled: its URL no longer enrols anything.',
      );
      await app.screenshot('sign-in-cancelled');
      assert.equal(await form.signInButton.isDisabled(), false, 'a new sign-in may start');
      const { pageText } = await completeAtProvider(lab, topo, sys, url, 'alice', { cancelledBefore: true });
      assert.match(pageText, /was cancelled, so it enrols nothing/);
      assert.doesNotMatch(await lab.c.cli(['systems', 'list']), /alice@example\.com/);
      assert.equal(readProfile(helper.profilePath).profile.coordinator, null, 'the profile is untouched');
    });

    test('alice signs in: the system is enrolled as hers with the AutoTags tags, and the tab shows it', async () => {
      const { url, code } = await pressSignIn();
      await completeAtProvider(lab, topo, sys, url, 'alice', { code });
      await form.signInProgress('enrolled', 40_000);
      const text = await form.signInOutcome.innerText();
      assert.match(
        text,
        /^Signed in as alice@example\.com: enrolled as [0-9A-Z]{5} \(100\.\d+\.\d+\.\d+\) with tags dev\./,
      );
      assert.match(text, /Restart the helper/);
      await app.screenshot('sign-in-enrolled');
      const identity = /enrolled as ([0-9A-Z]{5})/.exec(text)![1]!;
      assert.match(await lab.c.cli(['systems', 'list']), new RegExp(`${identity}.*alice@example\\.com`));
      const written = readProfile(helper.profilePath).profile;
      assert.equal(written.coordinator?.url, lab.coordUrl);
      assert.equal(written.coordinator?.identity, identity);
    });

    test('once the sign-in lapses the window says so and offers Sign in again, which signs in with the pinned key', async () => {
      // Restart the helper on the profile the sign-in wrote: it joins as alice's system.
      const json = readProfile(helper.profilePath).json;
      await helper.stop();
      helper = await startWarren(sys, json, { name: 'warren-signin' });
      await app.page.getByText(/Currently enrolled with/).waitFor({ timeout: 20_000 });
      // On the Peers tab a banner offers the way back (the Enrol tab has its own button).
      await app.openTab('peers');
      const again = app.page.getByTestId('sign-in-again');
      await again.waitFor({ timeout: (MAX_AGE_S + 10) * 1000 });
      const problems = (await app.page.getByTestId('helper-problem').allInnerTexts()).join('\n');
      assert.match(problems, /Your sign-in as alice@example\.com expired at \d\d:\d\d/);
      await app.screenshot('sign-in-lapsed');
      await again.getByRole('button', { name: 'Sign in again' }).click();
      await form.root.waitFor();
      assert.equal(await form.signInButton.innerText(), 'Sign in again');
      assert.match(
        await app.page.getByTestId('sign-in-lapsed').innerText(),
        /Your sign-in as alice@example\.com expired/,
      );
      assert.equal(await app.page.getByTestId('enrol-url').inputValue(), lab.coordUrl, 'the enrolled coordinator');
      assert.equal(
        await app.page.getByTestId('enrol-coordinator-key').inputValue(),
        '',
        'no key typed: the pinned one',
      );
      const before = openedUrls().length;
      await form.signInButton.click();
      const code = (await form.signInCode.innerText()).trim();
      const url = await waitUntil(
        'the sign-in URL handed to the browser',
        async () => openedUrls()[before],
        10_000,
        100,
      );
      await completeAtProvider(lab, topo, sys, url, 'alice', { code });
      await form.signInProgress('enrolled', 40_000);
      await again.waitFor({ state: 'detached', timeout: 10_000 });
      assert.equal(await app.page.getByTestId('sign-in-lapsed').count(), 0);
      assert.equal(await form.signInButton.innerText(), 'Sign in');
      const st = await helper.status();
      assert.equal(st.signIn?.lapsed, false, 'the helper has the new sign-in from its map');
    });
  },
);
