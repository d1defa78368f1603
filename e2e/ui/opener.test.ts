// `warren ui` opening the browser as on a desktop, with Chromium as the browser: the real CLI
// and web UI processes run with DISPLAY set and a stand-in xdg-open first on PATH that records
// the arguments it was given; Chromium then opens what it was given, as xdg-open would. The
// browser command gets only the path of a 0600 file in a private directory; that page (under
// its own CSP) signs Chromium in and is removed; no process's command line ever holds the code
// or the session's secret; and the session cookie goes to no other port of this host. No
// helper runs: the window shows that the helper cannot be reached, which is enough here.
import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { TrackedProcess } from '../netns/process.js';
import { repoRoot, warrenArgv, warrenCliPath } from '../netns/warren.js';
import { waitUntil } from '../netns/wait.js';

const CHROMIUM = '/usr/bin/chromium';

function skipReason(): string | undefined {
  if (process.platform !== 'linux') return 'xdg-open and /proc are Linux';
  if (!existsSync(CHROMIUM)) return `needs ${CHROMIUM} (apt-get install chromium)`;
  if (!existsSync(warrenCliPath())) return `the CLI is not built (${warrenCliPath()}): run npm run build`;
  if (!existsSync(join(repoRoot(), 'dist', 'renderer', 'index.html')))
    return 'the renderer is not built: run npm run build';
  return undefined;
}

/** commandLines are the command lines of every process on this machine now. */
function commandLines(): string[] {
  const lines: string[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      lines.push(readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' '));
    } catch {
      // it ended meanwhile
    }
  }
  return lines;
}

describe('warren ui opens the browser through a one-time opener file', { skip: skipReason() }, () => {
  let tmp = '';
  let runtime = '';
  let record = '';
  let ui: TrackedProcess;
  let browser: Browser;
  let context: BrowserContext;
  let opened: string[] = [];
  const csp: string[] = [];

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'warren-opener-'));
    runtime = mkdtempSync(join(tmp, 'run-'));
    record = join(tmp, 'opened.txt');
    const bin = join(tmp, 'bin');
    mkdirSync(bin);
    // Stands for xdg-open: writes its arguments, one a line, and opens nothing.
    writeFileSync(
      join(bin, 'xdg-open'),
      `#!/bin/sh\nfor a in "$@"; do printf '%s\\n' "$a"; done > "${record}.tmp" && mv "${record}.tmp" "${record}"\n`,
      { mode: 0o755 },
    );
    ui = new TrackedProcess(
      'warren-ui-desktop',
      [...warrenArgv(), 'ui', '--socket', join(tmp, 'none.sock')],
      join(tmp, 'ui.log'),
      {
        ...process.env,
        PATH: `${bin}:${process.env.PATH ?? ''}`,
        DISPLAY: ':99',
        XDG_RUNTIME_DIR: runtime,
      },
    );
    await ui.waitFor(/Warren's window is opening in your browser\./, 20_000);
    opened = await waitUntil(
      'the stand-in xdg-open to run',
      async () => (existsSync(record) ? readFileSync(record, 'utf8').split('\n').filter(Boolean) : undefined),
      10_000,
      50,
    );
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    context = await browser.newContext();
  });
  after(async () => {
    await browser?.close();
    await ui?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  test('the browser command gets one path, of a 0600 file in a private directory, and no URL', () => {
    assert.equal(opened.length, 1, opened.join(' '));
    const file = opened[0]!;
    assert.equal(dirname(dirname(file)), runtime, 'under $XDG_RUNTIME_DIR');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(dirname(file)).mode & 0o777, 0o700);
    assert.doesNotMatch(file, /code=|http/);
  });

  test("Chromium opens the file, signs in under the page's own CSP, lands in the window, and the file is gone", async () => {
    const file = opened[0]!;
    const code = /name="code" value="([A-Za-z0-9_-]{43})"/.exec(readFileSync(file, 'utf8'))?.[1];
    assert.ok(code !== undefined);
    const page = await context.newPage();
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) csp.push(m.text());
    });
    await page.goto(pathToFileURL(file).href);
    await page.getByTestId('tunnel-state').waitFor({ timeout: 15_000 });
    const app = new URL(page.url());
    assert.equal(app.hostname, '127.0.0.1');
    assert.match(app.pathname, /^\/[A-Za-z0-9_-]{22}\/$/);
    assert.equal(await page.getByTestId('tunnel-state').getAttribute('data-state'), 'down', 'no helper here');
    assert.deepEqual(csp, [], 'neither the opener page nor the window broke its CSP');
    await waitUntil('the opener file to go', async () => (existsSync(dirname(file)) ? undefined : true), 5000, 50);

    const cookies = (await context.cookies()).filter((c) => c.name === 'warren-ui');
    assert.equal(cookies.length, 1);
    const secret = cookies[0]!.value;
    assert.deepEqual([cookies[0]!.httpOnly, cookies[0]!.sameSite, cookies[0]!.path], [true, 'Strict', app.pathname]);
    for (const line of [...opened, ...commandLines()]) {
      assert.equal(line.includes(code), false, `the code is on a command line: ${line}`);
      assert.equal(line.includes(secret), false, `the secret is on a command line: ${line}`);
    }
    const again = await fetch(`${app.origin}/open`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: 'null' },
      body: `code=${code}`,
    });
    assert.equal(again.status, 403, "the opener's code worked once");
  });

  test('the session cookie goes to no other server on this host', async () => {
    const seen: string[] = [];
    const other: Server = createServer((req, res) => {
      seen.push(`${req.url} ${req.headers.cookie ?? '-'}`);
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end('<title>another port</title>');
    });
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    const port = (other.address() as { port: number }).port;
    try {
      const page = await context.newPage();
      await page.goto(`http://127.0.0.1:${port}/`);
      // Same-site for cookies (a site ignores ports), so a Path=/ cookie would go with this.
      await page.evaluate(async () => void (await fetch('/again', { credentials: 'include' })));
      // The page itself, its fetch and perhaps a favicon: none with a cookie.
      assert.deepEqual(
        seen.filter((s) => !s.startsWith('/favicon.ico ')),
        ['/ -', '/again -'],
      );
      assert.deepEqual(
        seen.filter((s) => !s.endsWith(' -')),
        [],
      );
      await page.close();
    } finally {
      other.close();
    }
  });
});
