// The web console's Users page against a real coordinator (serve --oidc --console), a real OIDC
// provider and real helpers in namespaces (login-lab.ts): alice signs in with `warren login`,
// and the page shows her, her groups, her system online and her last sign-in. Disabled from the
// page (after a confirmation that says what disabling does), her system loses the server that
// group:eng grants within 1 s of the click, measured on real pings; enabled, it gets it back.
// Both are audited as the admin's, as the CLI's are. Chromium runs in the coordinator's
// namespace, as in console.test.ts.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { Topology, describeE2E, repoRoot, waitForPing, type Namespace } from '../netns/index.js';
import { enrolAndStart, type Enrolled } from '../netns/coordinated.js';
import { loginAndStart, startOidcLab, type OidcLab } from '../oidc/login-lab.js';
import { LIMIT_MS, Pinger, cutAfter, restoredAfter, sleep } from '../oidc/pinger.js';
import type { AuditEntry } from '../../src-shared/wire/admin.js';
import { ConsolePage } from './console-page.js';

const CHROMIUM = '/usr/bin/chromium';
const COORD_IP = '10.67.0.100';
const POLICY = {
  Tags: ['server'],
  Policies: [
    { Name: 'eng to servers', Senders: ['group:eng'], Receivers: ['tag:server'], Acls: [{ Protocol: 'icmp' }] },
  ],
};

function scenario(fn: () => void): void {
  if (!existsSync(CHROMIUM)) {
    test('the console users page', { skip: `needs ${CHROMIUM} (apt-get install chromium)` }, () => undefined);
    return;
  }
  describeE2E(
    'the web console users page with a real provider and helpers',
    { warren: true, binaries: ['curl', 'ping'] },
    { timeout: 180_000 },
    fn,
  );
}

scenario(() => {
  let topo: Topology;
  let lab: OidcLab;
  let server: Enrolled;
  let alice: Enrolled & { identity: string };
  let aliceNs: Namespace;
  let browser: Browser;
  let ui: ConsolePage;
  let pinger: Pinger | null = null;
  const figures: string[] = [];

  before(async () => {
    topo = Topology.create();
    const sw = await topo.addSwitch('userssw');
    lab = await startOidcLab(topo, sw, 'usersk', COORD_IP, { serveArgs: ['--console'] });
    await lab.c.applyPolicy(POLICY);
    const serverNs = await topo.addNamespace('usersv');
    await topo.attach(serverNs, sw, '10.67.0.10/24');
    server = await enrolAndStart(lab.c, serverNs, 'server', 'server');
    aliceNs = await topo.addNamespace('usersl');
    await topo.attach(aliceNs, sw, '10.67.0.1/24');
    const a = await loginAndStart(lab, topo, aliceNs, 'alice');
    alice = { ...a, identity: (await a.w.status()).identity };
    const wrapper = topo.writeFile(
      'chromium-console.sh',
      `#!/bin/sh\nexec ip netns exec ${lab.coordNs.name} ${CHROMIUM} "$@"\n`,
    );
    chmodSync(wrapper, 0o700);
    browser = await chromium.launch({ executablePath: wrapper, args: ['--no-sandbox'] });
    const page = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
    ui = new ConsolePage(page, join(repoRoot(), '.artifacts'));
    await page.goto(`${lab.coordUrl}/console/`);
    await ui.login(readFileSync(join(topo.file('coordinator-data'), 'admin.token'), 'utf8').trim());
    await page.getByRole('heading', { name: 'Systems', level: 2 }).waitFor();
  });
  after(async () => {
    await pinger?.proc.stop(500);
    await browser?.close();
    await lab?.close();
    await topo?.destroy();
    if (figures.length > 0) console.log(`console users figures: ${figures.join('; ')}`);
  });

  test('the page shows alice: groups, her system online, her last sign-in and its provider', async () => {
    await ui.open('Users');
    const row = ui.userRow('alice@example.com');
    await row.locator(`[data-system="${alice.identity}"][data-online="yes"]`).waitFor({ timeout: 15_000 });
    const text = await row.innerText();
    assert.match(text, /Alice Liddell/, 'the name claim (scope profile)');
    assert.match(text, /eng, staff/);
    assert.match(text, /alice-laptop/);
    const signedIn = (JSON.parse(await lab.c.cli(['users', 'list', '--json'])) as { lastAuthAt: number }[])[0]!;
    // The time as the page's own locale writes it (components/ui.tsx when).
    const shown = await ui.page.evaluate((ms) => {
      const d = new Date(ms);
      return `${d.toLocaleDateString()} ${d.toLocaleTimeString()}`;
    }, signedIn.lastAuthAt);
    assert.ok(text.includes(`${shown} at corp`), `${JSON.stringify(text)} shows the sign-in at ${shown}`);
    assert.equal(await row.getAttribute('data-state'), 'active');
    await ui.screenshot('users');
  });

  test('Disable asks what it does, then cuts her access within 1 s; Enable restores it; both audited', async () => {
    await waitForPing(aliceNs, server.vip, 15_000);
    pinger = Pinger.start(aliceNs, server.vip, 'users-console-pinger');
    await sleep(300);
    const row = ui.userRow('alice@example.com');
    await row.getByRole('button', { name: 'Disable', exact: true }).click();
    const question = await row.locator('.confirm').innerText();
    assert.match(question, /Every grant that names them .* or requires their sign-in .* stops within a second/);
    await ui.screenshot('users-disable');
    const disabledAt = Date.now();
    await row.getByRole('button', { name: 'Yes, disable' }).click();
    await ui.page.locator('tr[data-email="alice@example.com"][data-state="disabled"]').waitFor();
    const cut = await cutAfter(pinger, disabledAt, 'disable');
    figures.push(`disable cut ${cut} ms after the click`);
    assert.ok(cut < LIMIT_MS, `replies went on ${cut} ms after the click`);

    const enabledAt = Date.now();
    await row.getByRole('button', { name: 'Enable', exact: true }).click();
    await ui.page.locator('tr[data-email="alice@example.com"][data-state="active"]').waitFor();
    const back = await restoredAfter(pinger, enabledAt, 'enable');
    figures.push(`enable restored ${back} ms after the click`);
    assert.ok(back < LIMIT_MS, `first reply ${back} ms after the click`);

    for (const action of ['user.disabled', 'user.enabled']) {
      const entries = JSON.parse(await lab.c.cli(['audit', '--action', action, '--json'])) as AuditEntry[];
      assert.deepEqual(
        entries.map((e) => [e.actor, e.target, e.outcome]),
        [['admin', 'alice@example.com', 'ok']],
        action,
      );
    }
    await ui.open('Audit log');
    await ui.page.locator('tr[data-action="user.disabled"][data-outcome="ok"]').waitFor();
    assert.deepEqual(ui.violations, []);
  });
});
