// `warren ui`: the browser fallback of the app. It follows the helper through the local API
// (as the Electron shell does), serves the window on 127.0.0.1 and opens it in the desktop's
// browser, or prints a one-time address to open. It runs until Ctrl-C (SIGINT) or SIGTERM. The
// window is app code (src-main/web-ui/main.ts), which the helper does not carry: this command
// finds that program (web-ui-entry.ts) and runs it as a child process, which makes the
// session's secret and one-time codes itself, so none is ever on a command line.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { booleanFlag, EXIT, intFlag, type CliIo, type Command } from './command.js';
import { resolvePath } from './paths.js';
import { findWebUiEntry } from './web-ui-entry.js';

/** uiCommand is `warren ui`. */
export const uiCommand: Command = {
  name: 'ui',
  summary: 'open the app in a web browser (for desktops without Electron)',
  usage: 'warren ui [--port N] [--no-open] [--socket PATH]',
  details: `
Serves Warren's window on http://127.0.0.1 and opens it in the browser. Only a browser that
has signed in with a one-time code gets in: the browser is opened on a page only this user
can read, which hands it a code; with --no-open, or when no browser opens, a one-time
address is printed (it works once, within 5 minutes). The window shows the tunnel and the
peers and can connect, disconnect, switch exit nodes and enrol, with this user's rights on
the helper's socket (root or the operator group may change things; others may watch). Stop
with Ctrl-C.

  --port N         listen on port N (default: a free port)
  --no-open        print a one-time address instead of opening a browser
  --socket PATH    local API socket (env WARREN_SOCKET, default /run/warren/warren.sock)`,
  options: { port: { type: 'string' }, 'no-open': { type: 'boolean' }, socket: { type: 'string' } },
  async run(args, io) {
    const socketPath = resolvePath('socket', args, io);
    const port = intFlag(args, 'port', 1, 65535);
    const entry = findWebUiEntry(io.env);
    const argv = [entry, '--socket', socketPath];
    if (port !== undefined) argv.push('--port', String(port));
    if (booleanFlag(args, 'no-open')) argv.push('--no-open');
    return runWebUi(argv, io);
  },
};

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

/**
 * runWebUi runs the entry under this process's runtime and resolves with its exit code (128 +
 * the signal's number when a signal ended it). process.execPath is Node in a checkout and the
 * app's Electron binary when installed, where the environment carries ELECTRON_RUN_AS_NODE=1
 * (packaging/warren) to the child, so both run the entry as Node. The child's stdio is this
 * process's; SIGINT and SIGTERM are forwarded; the IPC channel, never written to, closes when
 * this process ends however it ends, which tells the child to stop too.
 */
function runWebUi(argv: string[], io: CliIo): Promise<number> {
  return new Promise((resolve) => {
    // io.env over process.env: they are the same object outside tests.
    const child = spawn(process.execPath, argv, {
      stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, ...io.env },
    });
    const forward = (signal: NodeJS.Signals): void => {
      child.kill(signal);
    };
    for (const s of FORWARDED) process.on(s, forward);
    let settled = false;
    const done = (code: number): void => {
      if (settled) return;
      settled = true;
      for (const s of FORWARDED) process.off(s, forward);
      resolve(code);
    };
    child.once('error', (e) => {
      io.stderr.write(`warren ui: cannot run ${argv[0]} with ${process.execPath}: ${e.message}\n`);
      done(EXIT.failure);
    });
    child.once('exit', (code, signal) =>
      done(code ?? (signal ? 128 + (constants.signals[signal] ?? 0) : EXIT.failure)),
    );
  });
}
