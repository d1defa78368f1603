// The app in a browser against real helpers: `warren ui` runs in the root
// namespace and follows a client helper in a namespace; Chromium (Debian's, driven by
// playwright-core) uses the window as a person would. The client has two peers: an exit node
// in front of a "printer" LAN and a plain peer. Peers appear with moving counters;
// Disconnect really stops traffic and Connect restores it; the exit-node switch really
// removes and adds the route; a read-only user sees the window but cannot change things; the
// helper going away shows the error state and the window recovers when it is back. The
// browser gets in as a person would with `warren ui --no-open`: through the one-time address
// it printed, which works once. Screenshots of each view go to .artifacts/ui/.
import assert from 'node:assert/strict';
import { chmodSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import {
  Topology,
  describeE2E,
  genKeyPair,
  ping,
  repoRoot,
  startWarren,
  waitForPing,
  waitUntil,
  type KeyPair,
  type Namespace,
  type Warren,
} from '../netns/index.js';
import { identityFromPublicKey } from '../../src-shared/lib/identity.js';
import { TestUsers, usersSkipReason } from '../../helper/src/api/test-users.js';
import { AppPage, EnrolForm } from './pages/app-page.js';
import { startWebUiProcess, type WebUiProcess } from './web-ui-process.js';

const CHROMIUM = '/usr/bin/chromium';
const LAN = '198.51.100.0/24';
const EXIT_LAN_IP = '198.51.100.1';
const PRINTER = '198.51.100.10';
const identityOf = (publicKey: string): string => identityFromPublicKey(Buffer.from(publicKey, 'base64'));

interface Host {
  key: KeyPair;
  vip: string;
  ip: string;
  ns?: Namespace;
  w?: Warren;
}

/** scenario registers the suite, or one skipped test saying what this machine lacks. */
function scenario(fn: () => void): void {
  if (!existsSync(CHROMIUM)) {
    test(
      'the app in a browser against real helpers',
      { skip: `needs ${CHROMIUM} (apt-get install chromium)` },
      () => undefined,
    );
    return;
  }
  describeE2E(
    'the app in a browser against real helpers',
    { warren: true, binaries: ['ping'] },
    { timeout: 300_000 },
    fn,
  );
}

scenario(() => {
  let topo: Topology;
  let printer: Namespace;
  let ui: WebUiProcess;
  let browser: Browser;
  let context: BrowserContext;
  let app: AppPage;
  const exit: Host = { key: genKeyPair(), vip: '100.64.0.10', ip: '192.0.2.10' };
  const client: Host = { key: genKeyPair(), vip: '100.64.0.1', ip: '192.0.2.1' };
  const other: Host = { key: genKeyPair(), vip: '100.64.0.2', ip: '192.0.2.2' };
  const exitId = identityOf(exit.key.publicKey);
  const otherId = identityOf(other.key.publicKey);
  const artifacts = join(repoRoot(), '.artifacts', 'ui');
  let clientProfile: object;

  const peer = (h: Host, name: string, extra: object = {}) => ({
    Name: name,
    PublicKey: h.key.publicKey,
    Endpoint: `${h.ip}:51820`,
    AllowedIPs: [`${h.vip}/32`],
    ...extra,
  });

  before(async () => {
    topo = Topology.create();
    const sw = await topo.addSwitch('sw');
    for (const [h, short] of [
      [exit, 'exit'],
      [client, 'cl'],
      [other, 'ot'],
    ] as const) {
      h.ns = await topo.addNamespace(short);
      await topo.attach(h.ns, sw, `${h.ip}/24`);
    }
    printer = await topo.addNamespace('prn');
    await topo.link(exit.ns!, printer, `${EXIT_LAN_IP}/24`, `${PRINTER}/24`);
    exit.w = await startWarren(
      exit.ns!,
      {
        PrivateKey: exit.key.privateKey,
        ListenPort: 51820,
        VirtualAddress: exit.vip,
        Adapter: { Name: topo.ifname('w') },
        Tags: ['exit'],
        Policies: [
          {
            Name: 'laptops use the exit node',
            Senders: ['tag:laptop'],
            Receivers: ['tag:exit'],
            Acls: [{ Protocol: 'any' }],
          },
        ],
        Peers: [peer(client, 'client', { Tags: ['laptop'] })],
        ExitNode: { ProvidesRoutes: [LAN] },
      },
      { name: 'warren-exit' },
    );
    other.w = await startWarren(
      other.ns!,
      {
        PrivateKey: other.key.privateKey,
        ListenPort: 51820,
        VirtualAddress: other.vip,
        Adapter: { Name: topo.ifname('w') },
        Peers: [peer(client, 'client')],
      },
      { name: 'warren-other' },
    );
    clientProfile = {
      PrivateKey: client.key.privateKey,
      ListenPort: 51820,
      VirtualAddress: client.vip,
      Adapter: { Name: topo.ifname('w') },
      Tags: ['laptop'],
      Peers: [peer(exit, 'exit', { Tags: ['exit'] }), peer(other, 'other')],
      ExitNode: { AvailableRoutes: { [exitId]: [LAN] } },
    };
    client.w = await startWarren(client.ns!, clientProfile, { name: 'warren-client' });
    ui = await startWebUiProcess(client.w.socket, topo.dir);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    context = await browser.newContext({ viewport: { width: 900, height: 860 }, colorScheme: 'light' });
    app = new AppPage(await context.newPage(), artifacts);
    await app.goto(ui.oneTimeUrl);
  });
  after(async () => {
    await browser?.close();
    await ui?.stop();
    await topo?.destroy();
  });

  test('peers appear with their addresses and live counters', async () => {
    await app.waitForState('connected');
    const ex = await app.peer(exitId);
    const ot = await app.peer(otherId);
    assert.equal(await ex.text('peer-ip'), exit.vip);
    assert.equal(await ex.text('endpoint'), `${exit.ip}:51820`);
    assert.equal(await ot.text('peer-ip'), other.vip);
    assert.match(
      await ex.root.getByTestId('exit').innerText(),
      new RegExp(`Exit node for ${LAN.replace(/\./g, '\\.')}`),
    );
    assert.match(
      await app.page.getByTestId('identity').innerText(),
      new RegExp(`${identityOf(client.key.publicKey)} · ${client.vip.replace(/\./g, '\\.')}`),
    );

    await waitForPing(client.ns!, other.vip);
    const before = await ot.bytes('rx');
    assert.equal((await ping(client.ns!, other.vip, { count: 10, interval: 0.05 })).received, 10);
    // The window is not reloaded: the counters move through the event stream alone.
    // Ten echo replies of 84 bytes each at least; the page hears of them within a second or two.
    const after = await waitUntil(
      'the received counter to move on the page',
      async () => {
        const n = await ot.bytes('rx');
        return n >= before + 10 * 84 ? n : undefined;
      },
      10_000,
      200,
    );
    assert.ok(after > before, `rx went from ${before} to ${after}`);
    assert.notEqual(await ot.text('handshake'), 'never');
    await app.screenshot('peers');
    await app.setTheme('dark');
    assert.equal(await app.themeAttribute(), 'dark');
    await app.screenshot('peers-dark');
    await app.setTheme('light');
  });

  test('the printed address worked once: its session cookie is the only way into the window', async () => {
    const appUrl = new URL(app.page.url());
    assert.match(appUrl.pathname, /^\/[A-Za-z0-9_-]{22}\/$/, 'the window is at its own path, with no code in it');
    const session = (await context.cookies()).filter((c) => c.name === 'warren-ui');
    assert.equal(session.length, 1);
    const { httpOnly, sameSite, secure, expires, domain, path, value } = session[0]!;
    assert.deepEqual(
      { httpOnly, sameSite, secure, expires, domain, path },
      { httpOnly: true, sameSite: 'Strict', secure: false, expires: -1, domain: '127.0.0.1', path: appUrl.pathname },
      'a host-only session cookie for the window alone',
    );
    assert.match(value, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(ui.oneTimeUrl.includes(value), false, 'the address never carried the secret');
    // A second browser: the address is spent, and the window's own address opens nothing.
    const stranger = await browser.newContext();
    try {
      const page = await stranger.newPage();
      const again = await page.goto(ui.oneTimeUrl);
      assert.ok(again !== null);
      assert.equal(again.status(), 403);
      assert.match(await page.locator('body').innerText(), /has been used or has expired/);
      const direct = await page.goto(appUrl.href);
      assert.ok(direct !== null);
      assert.equal(direct.status(), 403);
      assert.match(await page.locator('body').innerText(), /no session for this window/);
    } finally {
      await stranger.close();
    }
  });

  test('the why view says why traffic with a peer is allowed', async () => {
    const ex = await app.peer(exitId);
    const text = await ex.openWhy();
    // The client's profile has no Policies, so the helper allows all between configured peers
    // (helper/src/firewall/why.ts): both verdicts read allowed, and the reason names the peer.
    assert.match(text, /This system → peer: allowed/);
    assert.match(text, /Peer → this system: allowed/);
    assert.match(
      text,
      new RegExp(`^${exitId} \\(tag:exit\\): all traffic allowed both ways \\(static profile without Policies`, 'm'),
    );
    await app.screenshot('why');
    await ex.root.getByTestId('why-button').click();
  });

  test('Disconnect really stops traffic and Connect restores it', async () => {
    await waitForPing(client.ns!, other.vip);
    await app.disconnectButton.click();
    await app.waitForState('disconnected');
    assert.equal((await client.w!.status()).state, 'disconnected', 'the helper itself is disconnected');
    const r = await ping(client.ns!, other.vip, { count: 3, interval: 0.2 });
    assert.equal(r.received, 0, 'no ping crosses while disconnected');
    await app.screenshot('disconnected');
    await app.connectButton.click();
    await app.waitForState('connected');
    await waitForPing(client.ns!, other.vip, 15_000);
    assert.equal((await ping(client.ns!, other.vip, { count: 3, interval: 0.05 })).received, 3);
  });

  test('the exit-node switch really removes and adds the route', async () => {
    const routeOf = async () => (await client.ns!.exec(['ip', 'route', 'show', LAN])).stdout.trim();
    const ex = await app.peer(exitId);
    await ex.waitExitInUse(true);
    assert.match(await routeOf(), /dev /);
    await waitForPing(client.ns!, PRINTER);

    await ex.exitSwitch.click();
    await ex.waitExitInUse(false);
    await waitUntil('the route to go', async () => ((await routeOf()) === '' ? true : undefined), 5000);
    const r = await client.ns!.exec(['ping', '-n', '-c', '1', '-W', '1', PRINTER], { allowFailure: true });
    assert.notEqual(r.code, 0, 'no way to the printer without the exit node');
    await app.screenshot('exit-off');

    await ex.exitSwitch.click();
    await ex.waitExitInUse(true);
    await waitUntil('the route to return', async () => ((await routeOf()) !== '' ? true : undefined), 5000);
    await waitForPing(client.ns!, PRINTER);
  });

  test('the enrol form checks its fields, and the tabs work from the keyboard', async () => {
    await app.openTab('enrol');
    const form = new EnrolForm(app.page);
    await form.root.waitFor();
    await form.submit();
    assert.equal((await form.fieldErrors()).length, 2, 'both fields are explained');
    await form.fill('ftp://nope', 'a key');
    await form.submit();
    const errors = (await form.fieldErrors()).join(' ');
    assert.match(errors, /https:\/\//);
    assert.match(errors, /no spaces/);
    await form.fill('https://coordinator.example.com', '');
    await app.screenshot('enrol');

    // Plain http:// without the coordinator key: the form explains and offers the explicit choice.
    const enrolmentKey = 'wek-abcdefgh12345678';
    await form.fill('http://127.0.0.1:9', enrolmentKey);
    await form.submit();
    assert.match((await form.fieldErrors()).join(' '), /anyone on the network path could pose as the coordinator/);
    assert.equal(await form.insecure.isVisible(), true, 'the insecure choice is offered for http://');
    await form.fill('http://127.0.0.1:9', enrolmentKey, 'not-a-key');
    assert.match((await form.fieldErrors()).join(' '), /44 characters of base64/);
    assert.equal(await form.insecure.count(), 0, 'no insecure choice once a key is typed');
    // A well-formed key passes the form and main; the helper then tries the address itself.
    await form.fill('http://127.0.0.1:9', enrolmentKey, `${'A'.repeat(43)}=`);
    await form.submit();
    await form.outcome.waitFor({ timeout: 20_000 });
    assert.match(
      await form.outcome.innerText(),
      /enrolment failed: cannot reach the coordinator at http:\/\/127\.0\.0\.1:9/,
    );
    await form.fill('http://127.0.0.1:9', enrolmentKey);
    await form.insecure.check();
    assert.deepEqual(await form.fieldErrors(), [], 'the explicit choice satisfies the form');
    await app.screenshot('enrol-http');
    await app.page.getByTestId('tab-enrol').focus();
    await app.page.keyboard.press('ArrowLeft');
    assert.equal(await app.page.getByTestId('tab-peers').getAttribute('aria-selected'), 'true');
    assert.equal(await app.focusedTestId(), 'tab-peers');
  });

  test('a user outside the operator group sees the window read-only', { skip: usersSkipReason() }, async () => {
    const users = new TestUsers();
    let roUi: WebUiProcess | null = null;
    try {
      const user = users.user('ui');
      // The socket lives in the run dir; others must be able to reach it (the files in it stay 0600).
      chmodSync(topo.dir, 0o755);
      roUi = await startWebUiProcess(client.w!.socket, topo.dir, { user, name: 'warren-ui-readonly' });
      const page = new AppPage(await context.newPage(), artifacts);
      await page.goto(roUi.oneTimeUrl);
      await page.waitForState('connected');
      await page.readOnlyBanner.waitFor({ timeout: 10_000 });
      // Which advice depends on whether this machine has the operator group.
      assert.match(await page.readOnlyBanner.innerText(), /usermod -aG warren|operator group warren does not exist/);
      assert.equal(await page.disconnectButton.isDisabled(), true);
      const ex = await page.peer(exitId);
      assert.equal(await ex.exitSwitch.isDisabled(), true);
      await page.screenshot('read-only');
      await page.page.close();
    } finally {
      await roUi?.stop();
      chmodSync(topo.dir, 0o700);
      users.cleanup();
    }
  });

  test('the helper going away shows the error state, and the window recovers', async () => {
    await client.w!.stop();
    // First the stream breaks, then the next attempt finds no socket: "not running".
    await app.page.locator('[data-testid=helper-down][data-code="helper-not-running"]').waitFor({ timeout: 15_000 });
    assert.equal(await app.state(), 'down');
    assert.match(await app.helperDown.innerText(), /not running/);
    assert.equal(await app.disconnectButton.count(), 0, 'no button that cannot work');
    await app.screenshot('helper-down');

    client.w = await startWarren(client.ns!, clientProfile, { name: 'warren-client' });
    // The client backs off to at most 10 s between attempts.
    await app.waitForState('connected', 20_000);
    await app.peer(exitId);
    await app.helperDown.waitFor({ state: 'detached', timeout: 5000 });
    await waitForPing(client.ns!, other.vip);
  });
});
