import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { browserCommand, parseWebUiArgs, runWebUi, WEB_UI_USAGE, WebUiUsageError } from './program.js';

const here = dirname(fileURLToPath(import.meta.url));
const compiled = import.meta.url.endsWith('.js');
const entryArgv = compiled ? [join(here, 'main.js')] : ['--import', 'tsx', join(here, 'main.ts')];
const ADDRESS =
  /^Warren's window is at\n\n {2}(http:\/\/127\.0\.0\.1:\d+\/[A-Za-z0-9_-]{43}\/)\n\nThe address is this session's key: do not share it\. Stop with Ctrl-C\.\n$/;

let dir = '';
let renderer = '';
let socket = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'warren-webui-program-'));
  renderer = join(dir, 'renderer');
  mkdirSync(renderer);
  writeFileSync(join(renderer, 'index.html'), '<!doctype html><title>Warren test window</title>');
  socket = join(dir, 'no-helper.sock');
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** capture is a WebUiIo that keeps what is written. */
function capture(env: Record<string, string | undefined>): {
  out: string;
  err: string;
  io: Parameters<typeof runWebUi>[1];
} {
  const c = {
    out: '',
    err: '',
    io: { stdout: { write: (s: string) => (c.out += s) }, stderr: { write: (s: string) => (c.err += s) }, env },
  };
  return c;
}

test('parseWebUiArgs takes --socket, --port and --no-open and refuses anything else as a usage error', () => {
  assert.deepEqual(parseWebUiArgs(['--socket', '/s']), { socketPath: '/s', port: 0, open: true });
  assert.deepEqual(parseWebUiArgs(['--no-open', '--port', '65535', '--socket=/s']), {
    socketPath: '/s',
    port: 65535,
    open: false,
  });
  const bad: Array<[string[], RegExp]> = [
    [[], /^--socket PATH is required$/],
    [['--socket', ''], /^--socket PATH is required$/],
    [['--socket', '/s', '--port', '0'], /^--port must be a whole number from 1 to 65535, not "0"$/],
    [['--socket', '/s', '--port', '70000'], /^--port must be/],
    [['--socket', '/s', '--port', '8e3'], /^--port must be/],
    [['--socket', '/s', '--open'], /Unknown option '--open'/],
    [['--socket', '/s', 'extra'], /Unexpected argument 'extra'/],
    [['--socket'], /argument missing/],
  ];
  for (const [argv, want] of bad) {
    assert.throws(
      () => parseWebUiArgs(argv),
      (e: unknown) => e instanceof WebUiUsageError && want.test(e.message),
      argv.join(' '),
    );
  }
});

test('browserCommand uses open, rundll32, or xdg-open only when a display is set', () => {
  assert.deepEqual(browserCommand({}, 'darwin'), ['open']);
  assert.deepEqual(browserCommand({}, 'win32'), ['rundll32', 'url.dll,FileProtocolHandler']);
  assert.equal(browserCommand({}, 'linux'), null);
  assert.deepEqual(browserCommand({ DISPLAY: ':0' }, 'linux'), ['xdg-open']);
  assert.deepEqual(browserCommand({ WAYLAND_DISPLAY: 'wayland-0' }, 'linux'), ['xdg-open']);
});

test('runWebUi prints the address, serves the window there until stopped, then closes it and returns 0', async () => {
  const c = capture({ WARREN_RENDERER_DIR: renderer });
  let stop = (): void => undefined;
  let waiting = (): void => undefined;
  const asked = new Promise<void>((r) => (waiting = r));
  const run = runWebUi(['--socket', socket, '--no-open'], c.io, () => {
    waiting();
    return new Promise<void>((r) => (stop = r));
  });
  await asked;
  const url = ADDRESS.exec(c.out)?.[1];
  assert.ok(url !== undefined, c.out);
  const page = await fetch(url);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /Warren test window/);
  stop();
  assert.equal(await run, 0);
  assert.equal(c.err, '', '--no-open opens nothing and says nothing');
  await assert.rejects(fetch(url), 'the server is closed');
});

test('runWebUi on Linux without a display says to open the address by hand', async (t) => {
  // Elsewhere it would open a real browser.
  if (process.platform !== 'linux') return t.skip('Linux decides by DISPLAY and WAYLAND_DISPLAY');
  const c = capture({ WARREN_RENDERER_DIR: renderer });
  assert.equal(await runWebUi(['--socket', socket], c.io, async () => undefined), 0);
  assert.equal(c.err, 'warren ui: no desktop session here (DISPLAY is not set); open the address above in a browser\n');
  assert.match(c.out, ADDRESS);
});

test('runWebUi exits 2 on a usage error and 1 with the reason when it cannot serve', async () => {
  const usage = capture({ WARREN_RENDERER_DIR: renderer });
  assert.equal(await runWebUi(['--port', '1'], usage.io, async () => undefined), 2);
  assert.equal(usage.err, `warren ui: --socket PATH is required\n${WEB_UI_USAGE}\n`);
  const missing = join(dir, 'not-built');
  const noRenderer = capture({ WARREN_RENDERER_DIR: missing });
  assert.equal(await runWebUi(['--socket', socket, '--no-open'], noRenderer.io, async () => undefined), 1);
  assert.equal(
    noRenderer.err,
    `warren ui: the app's renderer is not built (${missing} is missing): run \`npm run build\`\n`,
  );
  assert.equal(noRenderer.out, '');

  const taken = createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
  const port = (taken.address() as { port: number }).port;
  try {
    const busy = capture({ WARREN_RENDERER_DIR: renderer });
    assert.equal(
      await runWebUi(['--socket', socket, '--no-open', '--port', String(port)], busy.io, async () => undefined),
      1,
    );
    assert.equal(busy.err, `warren ui: port ${port} on 127.0.0.1 is in use; pick another with --port\n`);
  } finally {
    taken.close();
  }
});

/** startEntry runs the entry as `warren ui` does (with an IPC channel) and waits for its address. */
async function startEntry(
  args: string[],
): Promise<{ child: ChildProcess; url: string; exit: Promise<number | null>; output(): string }> {
  const child = spawn(process.execPath, [...entryArgv, ...args], {
    env: { ...process.env, WARREN_RENDERER_DIR: renderer },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const deadline = Date.now() + 20_000;
  while (ADDRESS.exec(out) === null) {
    if (Date.now() > deadline || child.exitCode !== null) assert.fail(`the entry did not print its address: ${out}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return { child, url: ADDRESS.exec(out)![1]!, exit, output: () => out };
}

test('the entry serves until SIGTERM, then exits 0', async () => {
  const e = await startEntry(['--socket', socket, '--no-open']);
  assert.equal((await fetch(e.url)).status, 200);
  e.child.kill('SIGTERM');
  assert.equal(await e.exit, 0, e.output());
});

test('the entry stops when the process that started it goes away (its IPC channel closes)', async () => {
  const e = await startEntry(['--socket', socket, '--no-open']);
  e.child.disconnect();
  assert.equal(await e.exit, 0, e.output());
  await assert.rejects(fetch(e.url), 'nothing listens any more');
});

test('the entry exits 2 with the usage on a bad command line', async () => {
  const child = spawn(process.execPath, [...entryArgv, '--socket', socket, '--bogus'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  assert.equal(code, 2);
  assert.match(err, /^warren ui: Unknown option '--bogus'[^\n]*\n/);
  assert.ok(err.endsWith(`\n${WEB_UI_USAGE}\n`), err);
});
