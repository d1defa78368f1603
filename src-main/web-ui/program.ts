// The browser fallback as a program of its own (main.ts is its entry; `warren ui` runs that entry
// as a child process, so the helper carries no app code): it follows the helper through
// AppBackend, serves the window with startWebUi on 127.0.0.1 with a token it makes itself (so
// the token never appears on a command line), prints the address, opens it in the desktop's
// browser unless --no-open, and runs until told to stop.
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { AppBackend } from '../app-backend.js';
import { rendererDir } from './paths.js';
import { startWebUi, type WebUi } from './server.js';

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

/** browserCommand is how this platform opens a URL, or null when it has no desktop to open it in. */
export function browserCommand(
  env: Record<string, string | undefined>,
  platform: string = process.platform,
): string[] | null {
  if (platform === 'darwin') return ['open'];
  if (platform === 'win32') return ['rundll32', 'url.dll,FileProtocolHandler'];
  if (!env.DISPLAY && !env.WAYLAND_DISPLAY) return null;
  return ['xdg-open'];
}

/**
 * runWebUi runs the browser fallback: it serves the window, then waits for untilStopped() and
 * stops cleanly. It returns the exit code: 0 after a clean stop, 1 when the server cannot
 * start (the reason on stderr), 2 for a usage error.
 */
export async function runWebUi(argv: string[], io: WebUiIo, untilStopped: () => Promise<void>): Promise<number> {
  let args: WebUiArgs;
  try {
    args = parseWebUiArgs(argv);
  } catch (e) {
    if (!(e instanceof WebUiUsageError)) throw e;
    io.stderr.write(`warren ui: ${e.message}\n${WEB_UI_USAGE}\n`);
    return 2;
  }
  const backend = new AppBackend({ socketPath: args.socketPath });
  let ui: WebUi;
  try {
    ui = await startWebUi({ backend, rendererDir: rendererDir(io.env), port: args.port });
  } catch (e) {
    io.stderr.write(`warren ui: ${(e as Error).message}\n`);
    return 1;
  }
  backend.start();
  io.stdout.write(
    `Warren's window is at\n\n  ${ui.url}\n\nThe address is this session's key: do not share it. Stop with Ctrl-C.\n`,
  );
  if (args.open) openBrowser(ui.url, io);
  await untilStopped();
  backend.stop();
  await ui.close();
  return 0;
}

function openBrowser(url: string, io: WebUiIo): void {
  const cmd = browserCommand(io.env);
  if (cmd === null) {
    io.stderr.write('warren ui: no desktop session here (DISPLAY is not set); open the address above in a browser\n');
    return;
  }
  try {
    const child = spawn(cmd[0]!, [...cmd.slice(1), url], { stdio: 'ignore', detached: true });
    child.once('error', () =>
      io.stderr.write(`warren ui: could not start ${cmd[0]}; open the address above in a browser\n`),
    );
    child.unref();
  } catch {
    io.stderr.write(`warren ui: could not start ${cmd[0]}; open the address above in a browser\n`);
  }
}
