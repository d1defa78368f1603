import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CliError } from './command.js';
import { runCaptured } from './run-captured.js';
import { findWebUiEntry } from './web-ui-entry.js';

const here = dirname(fileURLToPath(import.meta.url));
const compiled = import.meta.url.endsWith('.js');
const cliArgv = compiled ? [join(here, 'main.js')] : ['--import', 'tsx', join(here, 'main.ts')];

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'warren-ui-cmd-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** touch creates a file and its folders. */
function touch(path: string, text = ''): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  return path;
}

test("findWebUiEntry takes the checkout's dist entry, else resources/web-ui beside a staged helper, else says it is not installed", () => {
  const checkout = join(dir, 'checkout');
  touch(join(checkout, 'package.json'), JSON.stringify({ name: 'warren' }));
  const fromCheckout = pathToFileURL(join(checkout, 'dist/helper/src/cli/web-ui-entry.js')).href;
  assert.throws(
    () => findWebUiEntry({}, fromCheckout),
    (e: unknown) => {
      assert.ok(e instanceof CliError);
      assert.match(
        e.message,
        /^Warren's window is not installed here \(looked for .*\/checkout\/dist\/src-main\/web-ui\/main\.js and .*\/web-ui\/warren-ui\.mjs\)\. Install the Warren app/,
      );
      return true;
    },
  );
  const dev = touch(join(checkout, 'dist/src-main/web-ui/main.js'));
  assert.equal(findWebUiEntry({}, fromCheckout), dev);

  // The installed layout: <resources>/helper (a package.json named warren) and <resources>/web-ui.
  const resources = join(dir, 'app', 'resources');
  touch(join(resources, 'helper', 'package.json'), JSON.stringify({ name: 'warren', type: 'module' }));
  const fromStaged = pathToFileURL(join(resources, 'helper/dist/helper/src/cli/web-ui-entry.js')).href;
  assert.throws(() => findWebUiEntry({}, fromStaged), /not installed here/);
  const packaged = touch(join(resources, 'web-ui', 'warren-ui.mjs'));
  assert.equal(findWebUiEntry({}, fromStaged), packaged);
});

test("findWebUiEntry prefers WARREN_WEB_UI to the checkout's entry and refuses one that does not exist", () => {
  const checkout = join(dir, 'checkout2');
  touch(join(checkout, 'package.json'), JSON.stringify({ name: 'warren' }));
  const dev = touch(join(checkout, 'dist/src-main/web-ui/main.js'));
  const fromCheckout = pathToFileURL(join(checkout, 'dist/helper/src/cli/web-ui-entry.js')).href;
  const other = touch(join(dir, 'elsewhere', 'entry.mjs'));
  assert.equal(findWebUiEntry({ WARREN_WEB_UI: other }, fromCheckout), other);
  assert.equal(findWebUiEntry({ WARREN_WEB_UI: '' }, fromCheckout), dev, 'an empty WARREN_WEB_UI is unset');
  assert.throws(
    () => findWebUiEntry({ WARREN_WEB_UI: join(dir, 'nope.mjs') }, fromCheckout),
    /WARREN_WEB_UI is .*nope\.mjs, which does not exist/,
  );
});

test('warren ui runs the entry under this runtime with the resolved socket and its flags, and returns its exit code', async () => {
  // A stand-in entry that records how it was started, then fails with 3.
  const out = join(dir, 'started.json');
  const entry = touch(
    join(dir, 'record.mjs'),
    `import { writeFileSync } from 'node:fs';
writeFileSync(process.env.OUT, JSON.stringify({ argv: process.argv.slice(2), execPath: process.execPath,
  electron: process.env.ELECTRON_RUN_AS_NODE ?? null, ipc: process.connected === true }));
process.exit(3);
`,
  );
  const env = { WARREN_WEB_UI: entry, OUT: out, ELECTRON_RUN_AS_NODE: '1' };
  const flags = await runCaptured(['ui', '--port', '8123', '--no-open', '--socket', '/tmp/ui-test.sock'], { env });
  assert.deepEqual([flags.code, flags.out, flags.err], [3, '', '']);
  assert.deepEqual(JSON.parse(readFileSync(out, 'utf8')), {
    argv: ['--socket', '/tmp/ui-test.sock', '--port', '8123', '--no-open'],
    execPath: process.execPath,
    electron: '1',
    ipc: true,
  });
  const defaults = await runCaptured(['ui'], {
    env: { WARREN_WEB_UI: entry, OUT: out, WARREN_SOCKET: '/tmp/env.sock' },
  });
  assert.equal(defaults.code, 3);
  assert.deepEqual((JSON.parse(readFileSync(out, 'utf8')) as { argv: string[] }).argv, ['--socket', '/tmp/env.sock']);
});

test('warren ui checks its flags before it looks for the window, and names a missing WARREN_WEB_UI', async () => {
  const env = { WARREN_WEB_UI: join(dir, 'missing.mjs') };
  const port = await runCaptured(['ui', '--port', '0'], { env });
  assert.deepEqual(
    [port.code, port.err],
    [2, 'warren ui: --port must be a whole number from 1 to 65535, not "0"\nRun \'warren ui --help\' for usage.\n'],
  );
  const missing = await runCaptured(['ui'], { env });
  assert.deepEqual(
    [missing.code, missing.err],
    [1, `warren ui: WARREN_WEB_UI is ${env.WARREN_WEB_UI}, which does not exist\n`],
  );
});

/** startUi runs `warren ui` as its own process with a stand-in entry and waits for its "ready". */
async function startUi(
  entrySource: string,
): Promise<{ signal(s: NodeJS.Signals): void; exit: Promise<{ code: number | null; out: string }> }> {
  const entry = touch(join(dir, `entry-${Math.random().toString(36).slice(2)}.mjs`), entrySource);
  const child = spawn(process.execPath, [...cliArgv, 'ui', '--no-open'], {
    env: { ...process.env, WARREN_WEB_UI: entry, WARREN_SOCKET: join(dir, 'none.sock') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const exit = new Promise<{ code: number | null; out: string }>((resolve) =>
    child.once('exit', (code) => resolve({ code, out })),
  );
  const deadline = Date.now() + 20_000;
  while (!out.includes('ready\n')) {
    if (Date.now() > deadline || child.exitCode !== null) assert.fail(`the stand-in did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return { signal: (s) => child.kill(s), exit };
}

test("warren ui forwards SIGTERM and SIGINT to the window's process and ends as it ends", async () => {
  // Handles SIGTERM and exits 0; a watchdog makes a missed signal a failure, not a hang.
  const term = await startUi(`process.on('SIGTERM', () => { console.log('got SIGTERM'); process.exit(0); });
setTimeout(() => process.exit(7), 15_000); console.log('ready');
`);
  term.signal('SIGTERM');
  const t = await term.exit;
  assert.deepEqual([t.code, t.out], [0, 'ready\ngot SIGTERM\n']);

  // Does not handle SIGINT, so it dies of it: 128 + 2.
  const int = await startUi(`setTimeout(() => process.exit(7), 15_000); console.log('ready');\n`);
  int.signal('SIGINT');
  const i = await int.exit;
  assert.deepEqual([i.code, i.out], [130, 'ready\n']);
});
