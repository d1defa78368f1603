// The browser fallback as a program of its own (main.ts is its entry; `warren ui` runs that entry
// as a child process, so the helper carries no app code): it follows the helper through
// AppBackend, serves the window with startWebUi on 127.0.0.1, opens it in the desktop's browser
// through a one-time opener file (opener.ts) unless --no-open, or else prints a one-time address
// to paste, and runs until told to stop. The session's secret is made in this process and only
// ever sent in a Set-Cookie header: it is never on a command line, in a URL or on the terminal.
import { parseArgs } from 'node:util';
import { AppBackend } from '../app-backend.js';
import { openInBrowser, openUrl, type OpenerOptions } from './opener.js';
import { rendererDir } from './paths.js';
import { oneTimeUrl, startWebUi, type WebUi } from './server.js';

/** WEB_UI_USAGE is the entry's synopsis; the entry is main.js in a checkout, warren-ui.mjs
 * when installed, and `warren ui` passes it the socket it resolved. */
export const WEB_UI_USAGE = 'usage: <web UI entry> --socket PATH [--port N] [--no-open] (`warren ui` runs it for you)';

/** WebUiArgs are the entry's parsed arguments; port 0 picks a free port. */
export interface WebUiArgs {
  socketPath: string;
  port: number;
  open: boolean;
}

/** WebUiUsageError is a mistake in the entry's command line (exit 2). */
export class WebUiUsageError extends Error {
  override name = 'WebUiUsageError';
}

/** WebUiIo is what the program touches outside its arguments. */
export interface WebUiIo {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
  env: Record<string, string | undefined>;
}

/** parseWebUiArgs parses argv strictly (node:util parseArgs); it throws WebUiUsageError. */
export function parseWebUiArgs(argv: string[]): WebUiArgs {
  let values: { socket?: string; port?: string; 'no-open'?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { socket: { type: 'string' }, port: { type: 'string' }, 'no-open': { type: 'boolean' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    throw new WebUiUsageError((e as Error).message);
  }
  if (values.socket === undefined || values.socket === '') throw new WebUiUsageError('--socket PATH is required');
  let port = 0;
  if (values.port !== undefined) {
    if (!/^[0-9]{1,5}$/.test(values.port) || Number(values.port) < 1 || Number(values.port) > 65535) {
      throw new WebUiUsageError(
        `--port must be a whole number from 1 to 65535, not ${JSON.stringify(values.port.slice(0, 40))}`,
      );
    }
    port = Number(values.port);
  }
  return { socketPath: values.socket, port, open: values['no-open'] !== true };
}

/** PRINTED_CODE_TTL_MS is how long a printed one-time address works: long enough for a person
 * to copy it, or to forward the port over SSH first, and no longer. */
export const PRINTED_CODE_TTL_MS = 5 * 60_000;

/**
 * runWebUi runs the browser fallback: it serves the window, then waits for untilStopped() and
 * stops cleanly. It returns the exit code: 0 after a clean stop, 1 when the server cannot
 * start (the reason on stderr), 2 for a usage error. opener replaces how the browser is
 * started (tests).
 */
export async function runWebUi(
  argv: string[],
  io: WebUiIo,
  untilStopped: () => Promise<void>,
  opener: OpenerOptions = {},
): Promise<number> {
  let args: WebUiArgs;
  try {
    args = parseWebUiArgs(argv);
  } catch (e) {
    if (!(e instanceof WebUiUsageError)) throw e;
    io.stderr.write(`warren ui: ${e.message}\n${WEB_UI_USAGE}\n`);
    return 2;
  }
  const backend = new AppBackend({ socketPath: args.socketPath, openUrl: (url) => openUrl(url, io.env, opener) });
  let ui: WebUi;
  try {
    ui = await startWebUi({ backend, rendererDir: rendererDir(io.env), port: args.port });
  } catch (e) {
    io.stderr.write(`warren ui: ${(e as Error).message}\n`);
    return 1;
  }
  backend.start();
  if (args.open) openWindow(ui, io, opener);
  else printAddress(ui, io, "Warren's window is ready: open");
  await untilStopped();
  backend.stop();
  await ui.close();
  return 0;
}

/** printAddress prints a fresh one-time address for a person to open; lead ends in "open". */
function printAddress(ui: WebUi, io: WebUiIo, lead: string): void {
  const url = oneTimeUrl(ui, ui.oneTimeCode(PRINTED_CODE_TTL_MS));
  io.stdout.write(
    `${lead} this one-time address in a browser on this machine:\n\n  ${url}\n\n` +
      `It works once, within ${PRINTED_CODE_TTL_MS / 60_000} minutes: do not share it. Stop with Ctrl-C.\n`,
  );
}

/** openWindow opens the window in the desktop's browser; when that cannot work (no desktop, no
 * command, or the browser never used the opener's code) it prints a one-time address, once. */
function openWindow(ui: WebUi, io: WebUiIo, opener: OpenerOptions): void {
  let printed = false;
  const fallBack = (why: string): void => {
    if (printed) return;
    printed = true;
    io.stderr.write(`warren ui: ${why}\n`);
    printAddress(ui, io, 'Instead, open');
  };
  try {
    const opened = openInBrowser(
      ui,
      io.env,
      {
        onEnd: (end) => {
          if (end === 'expired') fallBack('the browser did not open the window');
        },
        onError: (e) => fallBack(`could not open a browser (${e.message})`),
      },
      opener,
    );
    if (opened === null) return fallBack('no desktop session here (DISPLAY is not set)');
  } catch (e) {
    return fallBack(`could not write the page that opens the browser (${(e as Error).message})`);
  }
  if (!printed) io.stdout.write("Warren's window is opening in your browser. Stop with Ctrl-C.\n");
}
