// `warren status` tells the truth about the coordinator, with a real coordinator and helpers in
// namespaces: a system enrolled with a gated key says it waits for approval (and how to give
// it) and its tunnel is not "connected" until the admin approves, after which it is connected
// within seconds; a profile whose pinned coordinator key is wrong says the key does not match;
// a stopped coordinator shows as unreachable at once and as a problem after the bound. Where
// Chromium is installed, the app's window (`warren ui`, driven by playwright-core) shows the
// pending system as "Waiting for approval" with the approve command, never "Connected", and
// turns Connected after the approval.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { after, before, test } from 'node:test';
import { generateKeyPairSync } from 'node:crypto';
import { Topology, describeE2E, startWarren, waitUntil, warrenCli, type Namespace } from './netns/index.js';
import { enrolAndStart, startCoordinator, type Coordinator, type Enrolled } from './netns/coordinated.js';
import { readProfile } from '../helper/src/config/load.js';
import { UNREACHABLE_PROBLEM_MS } from '../helper/src/control/link-problems.js';
import { AppPage } from './ui/pages/app-page.js';
import { startWebUiProcess, type WebUiProcess } from './ui/web-ui-process.js';

const COORD_IP = '10.61.0.100';
const CHROMIUM = '/usr/bin/chromium';

/** shown is the text of the element with a test id in the app's window. */
const shown = async (w: AppPage, testId: string): Promise<string> =>
  (await w.page.getByTestId(testId).first().innerText()).trim();

/** humanStatus runs `warren status` (the human form) for a helper. */
async function humanStatus(e: Enrolled): Promise<string> {
  const r = await warrenCli(e.w.ns, ['status', '--socket', e.w.socket], { allowFailure: true });
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

const line = (out: string, label: string): string =>
  out
    .split('\n')
    .find((l) => l.startsWith(`${label}:`))
    ?.slice(label.length + 1)
    .trim() ?? '';

/** statusUntil polls the human status until check passes, and returns it and how long it took. */
async function statusUntil(
  what: string,
  e: Enrolled,
  check: (out: string) => boolean,
  timeoutMs: number,
): Promise<{ out: string; ms: number }> {
  const start = Date.now();
  let out = '';
  await waitUntil(
    what,
    async () => {
      out = await humanStatus(e);
      return check(out) ? true : undefined;
    },
    timeoutMs,
    100,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; last status:\n${out}`);
  });
  return { out, ms: Date.now() - start };
}

describeE2E('warren status and the coordinator', { warren: true, binaries: ['curl'] }, { timeout: 180_000 }, () => {
  let topo: Topology;
  let coord: Coordinator;
  let alphaNs: Namespace;
  let betaNs: Namespace;
  let alpha: Enrolled;
  let ui: WebUiProcess | undefined;
  let browser: Browser | undefined;
  let app: AppPage | undefined;

  /** openWindow opens the app's window on alpha's helper, or returns null without Chromium. */
  async function openWindow(): Promise<AppPage | null> {
    if (!existsSync(CHROMIUM)) return null;
    ui = await startWebUiProcess(alpha.w.socket, topo.dir, { name: 'warren-ui-status' });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    const context = await browser.newContext({ viewport: { width: 900, height: 860 } });
    app = new AppPage(await context.newPage(), topo.dir);
    await app.goto(ui.oneTimeUrl);
    return app;
  }

  before(async () => {
    topo = Topology.create();
    const sw = await topo.addSwitch('sw');
    const coordNs = await topo.addNamespace('co');
    await topo.attach(coordNs, sw, `${COORD_IP}/24`);
    alphaNs = await topo.addNamespace('al');
    await topo.attach(alphaNs, sw, '10.61.0.1/24');
    betaNs = await topo.addNamespace('be');
    await topo.attach(betaNs, sw, '10.61.0.2/24');
    coord = await startCoordinator(coordNs, COORD_IP);
  });
  after(async () => {
    await browser?.close();
    await ui?.stop();
    await coord?.stop();
    await topo?.destroy();
  });

  test('a gated system shows pending approval with the approve command, then connected soon after approval', async () => {
    alpha = await enrolAndStart(coord, alphaNs, 'alpha', 'dev', [], ['--approval', 'gated']);
    const identity = readProfile(alpha.w.profilePath).profile.coordinator!.identity!;
    const { out } = await statusUntil(
      'pending approval',
      alpha,
      (o) => /pending approval/.test(line(o, 'Coordinator')),
      10_000,
    );
    assert.match(
      line(out, 'Coordinator'),
      new RegExp(`^${coord.url} pending approval since \\d\\d:\\d\\d:\\d\\d, no map yet$`),
    );
    assert.equal(line(out, 'Tunnel'), 'up, waiting for the coordinator (pending approval)');
    assert.match(
      out,
      new RegExp(
        `Problem: +waiting for an admin to approve this system: .*\`warren-coordinator systems approve ${identity}\``,
      ),
    );
    const json = await alpha.w.status();
    assert.equal(json.state, 'connected', '--json keeps the tunnel state as before');
    assert.equal(json.coordinator?.condition, 'pending-approval');
    const window = await openWindow();
    if (window) {
      await window.waitForState('held');
      assert.equal(await shown(window, 'tunnel-state'), 'Waiting for approval');
      assert.match(await shown(window, 'helper-problem'), new RegExp(`warren-coordinator systems approve ${identity}`));
      assert.match(await shown(window, 'no-peers'), /waits for an admin to approve it/);
      assert.match(await shown(window, 'coordinator'), /pending approval/);
    }

    await coord.cli(['systems', 'approve', identity]);
    const approved = await statusUntil(
      'connected',
      alpha,
      (o) => / connected, map v\d+/.test(line(o, 'Coordinator')),
      10_000,
    );
    assert.ok(approved.ms < 5_000, `connected ${approved.ms} ms after the approval`);
    assert.equal(line(approved.out, 'Tunnel'), 'connected');
    assert.doesNotMatch(approved.out, /Problem:/);
    if (window) {
      await window.waitForState('connected', 10_000);
      assert.equal(await shown(window, 'tunnel-state'), 'Connected');
      assert.equal(await shown(window, 'no-peers'), "No peers yet: the coordinator's policy gives this system none.");
    }
  });

  test("a profile whose pinned coordinator key is wrong says the coordinator's key does not match", async () => {
    const beta = await enrolAndStart(coord, betaNs, 'beta', 'dev');
    await beta.w.stop();
    const json = readProfile(beta.w.profilePath).json as { Coordinator: Record<string, unknown> };
    const other = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
    const wrong = { ...json, Coordinator: { ...json.Coordinator, PublicKey: other.toString('base64') } };
    const w = await startWarren(betaNs, wrong, { name: 'warren-beta-wrongkey' });
    const e: Enrolled = { ...beta, w };
    const { out } = await statusUntil(
      'bad signature',
      e,
      (o) => /bad map signature/.test(line(o, 'Coordinator')),
      10_000,
    );
    assert.match(out, /Problem: +the coordinator's key does not match the pinned key \(Coordinator\.PublicKey in /);
    assert.match(out, /warren enrol --coordinator-key KEY/);
    assert.match(line(out, 'Tunnel'), /^up, waiting for the coordinator/);
    await w.stop();
  });

  test('a stopped coordinator shows as unreachable within 3 s, and as a problem after the bound', async () => {
    await coord.stop();
    const down = await statusUntil(
      'unreachable',
      alpha,
      (o) => /unreachable since/.test(line(o, 'Coordinator')),
      5_000,
    );
    assert.ok(down.ms < 3_000, `unreachable ${down.ms} ms after the stop`);
    assert.match(line(down.out, 'Coordinator'), /\(last error: .+\), map v\d+ \(\d+ s old\)$/);
    // A map in force keeps the tunnel working through the outage.
    assert.equal(line(down.out, 'Tunnel'), 'connected');
    const problem = await statusUntil(
      'the unreachable problem',
      alpha,
      (o) => /Problem: +the coordinator at .* has not answered for \d+ s/.test(o),
      UNREACHABLE_PROBLEM_MS + 5_000,
    );
    assert.match(problem.out, /stays in force\. Check that it runs and that this machine can reach it/);
  });
});
