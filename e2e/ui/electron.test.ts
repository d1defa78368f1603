// The Electron shell, where its binary exists (it is an optional dependency whose download is
// not possible everywhere): the window is hardened (context isolation, sandbox, no Node in
// the page, navigation and new windows blocked), the page reaches main only through the
// preload's typed API, and a button in the window reaches the helper. Elsewhere every test
// here is skipped with the reason printed.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { _electron, type ElectronApplication, type Page } from 'playwright-core';
import type { Status } from '../../src-shared/wire/status.js';
import { createLogger } from '../../src-shared/lib/log.js';
import { PATHS } from '../../src-shared/wire/helper-api.js';
import { startApiServer, type ApiServer } from '../../helper/src/api/server.js';
import { repoRoot } from '../netns/warren.js';

/** electronSkip says why the shell cannot be launched here, or undefined when it can. */
function electronSkip(root: string): { reason?: string; bin?: string } {
  const pkg = join(root, 'node_modules', 'electron');
  if (!existsSync(join(pkg, 'package.json')))
    return { reason: 'the optional electron package is not installed (its binary cannot be downloaded here)' };
  let bin: string;
  try {
    bin = join(pkg, 'dist', readFileSync(join(pkg, 'path.txt'), 'utf8').trim());
  } catch {
    return { reason: 'the Electron binary was not downloaded (node_modules/electron/path.txt is missing)' };
  }
  if (!existsSync(bin)) return { reason: `the Electron binary is missing (${bin})` };
  if (!existsSync(join(root, 'dist', 'electron', 'main.mjs')))
    return { reason: 'the Electron shell is not built (run npm run build)' };
  if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
    return { reason: 'no display: run the tests under xvfb-run to include the Electron shell' };
  }
  return { bin };
}

const root = repoRoot();
const skip = electronSkip(root);

/** shell registers the suite, or one skipped test carrying the reason (so the skip is counted
 * and printed rather than vanishing with an empty suite). */
function shell(fn: () => void): void {
  if (skip.reason !== undefined) test('the Electron shell', { skip: skip.reason }, () => undefined);
  else describe('the Electron shell', fn);
}

shell(() => {
  let dir = '';
  let helper: ApiServer;
  let app: ElectronApplication;
  let page: Page;
  let disconnects = 0;
  const status: Status = {
    version: '0.1.0',
    identity: 'G982V',
    publicKey: 'pk',
    virtualAddress: '100.64.0.1',
    virtualNetwork: '100.64.0.0/10',
    adapter: 'warren0',
    listenPort: 51820,
    state: 'connected',
    mode: 'static',
    drops: {},
    startedAt: 1,
    peers: [],
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'warren-electron-'));
    const socketPath = join(dir, 'run', 'warren.sock');
    helper = await startApiServer({
      socketPath,
      log: createLogger(0, { write: () => true }),
      getStatus: () => status,
      routes: {
        [PATHS.disconnect]: {
          POST: () => {
            disconnects++;
            return { state: 'disconnected' };
          },
        },
      },
    });
    app = await _electron.launch({
      executablePath: skip.bin!,
      // Chromium's own sandbox refuses root; the window's sandbox option still applies.
      args: [...(process.getuid?.() === 0 ? ['--no-sandbox'] : []), join(root, 'dist', 'electron', 'main.mjs')],
      env: { ...process.env, WARREN_SOCKET: socketPath, WARREN_TRAY: '0' },
    });
    page = await app.firstWindow();
    await page.getByTestId('tunnel-state').waitFor();
  });
  after(async () => {
    await app?.close();
    await helper?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the window is hardened', async () => {
    const prefs = await app.evaluate(({ BrowserWindow }) => {
      const p = BrowserWindow.getAllWindows()[0]!.webContents.getLastWebPreferences();
      return {
        contextIsolation: p?.contextIsolation,
        sandbox: p?.sandbox,
        nodeIntegration: p?.nodeIntegration,
        webviewTag: p?.webviewTag,
      };
    });
    assert.deepEqual(prefs, { contextIsolation: true, sandbox: true, nodeIntegration: false, webviewTag: false });
    assert.equal(await page.evaluate('typeof require'), 'undefined');
    assert.equal(await page.evaluate('typeof process'), 'undefined');
    assert.deepEqual(await page.evaluate('Object.keys(window.warrenIpc).sort()'), ['invoke', 'on']);
    assert.equal(await page.evaluate('window.open("https://example.com") === null'), true);
    const url = page.url();
    await page.evaluate('location.href = "https://example.com/"').catch(() => undefined);
    await page.waitForTimeout(500);
    assert.equal(page.url(), url, 'navigation away is blocked');
    assert.match(
      String(await page.evaluate('window.warrenIpc.invoke("shutdown").then(() => "ok", (e) => e.message)')),
      /no such call/,
    );
  });

  test('the window shows the helper and its button reaches it', async () => {
    await page.locator('[data-testid=tunnel-state][data-state="connected"]').waitFor({ timeout: 10_000 });
    await page.getByTestId('disconnect').click();
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(disconnects, 1);
  });
});
