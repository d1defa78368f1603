import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { browserCommand, privateBase, type Runner } from './opener.js';
import { parseWebUiArgs, runWebUi, WEB_UI_USAGE, WebUiUsageError } from './program.js';
import { signIn } from './testing.js';

const here = dirname(fileURLToPath(import.meta.url));
const compiled = import.meta.url.endsWith('.js');
const entryArgv = compiled ? [join(here, 'main.js')] : ['--import', 'tsx', join(here, 'main.ts')];
const ADDRESS =
  /^Warren's window is ready: open this one-time address in a browser on this machine:\n\n {2}(http:\/\/127\.0\.0\.1:\d+\/open\?code=[A-Za-z0-9_-]{43})\n\nIt works once, within 5 minutes: do not share it\. Stop with Ctrl-C\.\n$/;
const INSTEAD =
  /^Instead, open this one-time address in a browser on this machine:\n\n {2}(http:\/\/127\.0\.0\.1:\d+\/open\?code=[A-Za-z0-9_-]{43})\n\nIt works once, within 5 minutes: do not share it\. Stop with Ctrl-C\.\n$/;

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

test('runWebUi prints a one-time address that opens the window, serves it until stopped, then closes it and returns 0', async () => {
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
  const session = await signIn(url);
  const page = await fetch(session.appUrl, { headers: { Cookie: session.cookie } });
  assert.equal(page.status, 200);
  assert.match(await page.text(), /Warren test window/);
  assert.equal((await fetch(url)).status, 403, 'the printed address works once');
  stop();
  assert.equal(await run, 0);
  assert.equal(c.err, '', '--no-open opens nothing and says nothing');
  await assert.rejects(fetch(session.appUrl), 'the server is closed');
});

test('runWebUi on Linux without a display says to open the address by hand', async (t) => {
  // Elsewhere it would open a real browser.
  if (process.platform !== 'linux') return t.skip('Linux decides by DISPLAY and WAYLAND_DISPLAY');
  const c = capture({ WARREN_RENDERER_DIR: renderer });
  assert.equal(await runWebUi(['--socket', socket], c.io, async () => undefined), 0);
  assert.equal(c.err, 'warren ui: no desktop session here (DISPLAY is not set)\n');
  assert.match(c.out, INSTEAD);
});

/** onDesktop runs runWebUi as on a Linux desktop with a private XDG_RUNTIME_DIR, run standing for
 * xdg-open, until stop(). */
async function onDesktop(
  run: Runner,
  ttlMs?: number,
): Promise<{ c: ReturnType<typeof capture>; xdg: string; stop(): Promise<void> }> {
  const xdg = mkdtempSync(join(dir, 'xdg-'));
  const c = capture({ WARREN_RENDERER_DIR: renderer, DISPLAY: ':0', XDG_RUNTIME_DIR: xdg });
  let stop = (): void => undefined;
  let started = (): void => undefined;
  const waiting = new Promise<void>((r) => (started = r));
  const done = runWebUi(
    ['--socket', socket],
    c.io,
    () => {
      started();
      return new Promise<void>((r) => (stop = r));
    },
    { run, platform: 'linux', ttlMs },
  );
  await waiting;
  return {
    c,
    xdg,
    async stop() {
      stop();
      assert.equal(await done, 0);
    },
  };
}

/** openerForm reads the action and the code out of an opener file. */
function openerForm(file: string): { action: string; code: string } {
  const html = readFileSync(file, 'utf8');
  const action = /<form method="post" action="([^"]+)">/.exec(html);
  const code = /<input type="hidden" name="code" value="([A-Za-z0-9_-]{43})">/.exec(html);
  assert.ok(action !== null && code !== null, html);
  return { action: action[1]!, code: code[1]! };
}

async function waitGone(path: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (existsSync(path)) {
    if (Date.now() > deadline) assert.fail(`${path} is still there`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('the browser is given a private opener file: no code or secret on its command line, and the file goes once used', async () => {
  const calls: string[][] = [];
  const d = await onDesktop((argv) => void calls.push(argv));
  try {
    assert.equal(calls.length, 1);
    const argv = calls[0]!;
    assert.equal(argv.length, 2, JSON.stringify(argv));
    assert.equal(argv[0], 'xdg-open');
    const file = argv[1]!;
    const folder = dirname(file);
    assert.equal(dirname(folder), d.xdg, 'in a fresh directory under $XDG_RUNTIME_DIR');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(folder).mode & 0o777, 0o700);
    assert.equal(statSync(file).uid, process.getuid!());
    const { action, code } = openerForm(file);
    assert.match(action, /^http:\/\/127\.0\.0\.1:\d+\/open$/, 'the code goes in the form body, not the URL');
    // What the page's form does in the browser (e2e/ui/opener.test.ts does it in Chromium).
    const res = await fetch(action, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: 'null' },
      body: new URLSearchParams({ code }).toString(),
    });
    assert.equal(res.status, 200);
    const secret = /^warren-ui=([A-Za-z0-9_-]{43});/.exec(res.headers.getSetCookie()[0] ?? '')?.[1];
    assert.ok(secret !== undefined);
    for (const arg of argv) {
      assert.equal(arg.includes(code), false, `the code is not in ${arg}`);
      assert.equal(arg.includes(secret), false, `the session secret is not in ${arg}`);
    }
    assert.equal(existsSync(folder), false, 'the opener file and its directory are gone once used');
    assert.equal(d.c.out, "Warren's window is opening in your browser. Stop with Ctrl-C.\n", 'no address printed');
    assert.equal(d.c.err, '');
  } finally {
    await d.stop();
  }
});

test('an opener file the browser never uses goes when its code expires, and a one-time address is printed instead', async () => {
  const calls: string[][] = [];
  const d = await onDesktop((argv) => void calls.push(argv), 100);
  try {
    const file = calls[0]![1]!;
    const { code } = openerForm(file);
    await waitGone(dirname(file));
    assert.equal(d.c.err, 'warren ui: the browser did not open the window\n');
    const opening = "Warren's window is opening in your browser. Stop with Ctrl-C.\n";
    assert.ok(d.c.out.startsWith(opening), d.c.out);
    const url = INSTEAD.exec(d.c.out.slice(opening.length))?.[1];
    assert.ok(url !== undefined, d.c.out);
    assert.equal((await fetch(`${new URL(url).origin}/open?code=${code}`)).status, 403, "the file's code has expired");
    assert.equal((await signIn(url)).appUrl.startsWith(new URL(url).origin), true, 'the printed one works');
  } finally {
    await d.stop();
  }
});

test('a browser command that cannot start: the address is printed instead, and stopping removes the opener file', async () => {
  const calls: string[][] = [];
  const d = await onDesktop((argv, onError) => {
    calls.push(argv);
    onError(new Error('spawn xdg-open ENOENT'));
  });
  const folder = dirname(calls[0]![1]!);
  try {
    assert.equal(d.c.err, 'warren ui: could not open a browser (spawn xdg-open ENOENT)\n');
    assert.match(d.c.out, INSTEAD);
    assert.equal(existsSync(folder), true, 'the code is still pending');
  } finally {
    await d.stop();
  }
  assert.equal(existsSync(folder), false, 'stopping removes it');
});

test('privateBase takes $XDG_RUNTIME_DIR only when it is a directory of ours that nobody else may enter', () => {
  const own = mkdtempSync(join(dir, 'run-'));
  assert.equal(privateBase({ XDG_RUNTIME_DIR: own }), own);
  const open = mkdtempSync(join(dir, 'run-'));
  chmodSync(open, 0o755);
  assert.equal(privateBase({ XDG_RUNTIME_DIR: open }), tmpdir(), 'others may enter it');
  assert.equal(privateBase({ XDG_RUNTIME_DIR: join(dir, 'missing') }), tmpdir());
  assert.equal(privateBase({ XDG_RUNTIME_DIR: 'relative/run' }), tmpdir());
  assert.equal(privateBase({}), tmpdir());
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
