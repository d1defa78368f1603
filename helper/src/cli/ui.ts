// `warren ui`: the browser fallback of the app. It follows the helper through the local API
// (as the Electron shell does), serves the window on 127.0.0.1 with a token of its own, prints
// the address and, unless asked not to, opens it in the desktop's browser. It runs until
// Ctrl-C (SIGINT) or SIGTERM.
import { spawn } from 'node:child_process';
import { AppBackend } from '../../../src-main/app-backend.js';
import { rendererDir } from '../../../src-main/web-ui/paths.js';
import { startWebUi } from '../../../src-main/web-ui/server.js';
import { booleanFlag, CliError, intFlag, type Command } from './command.js';
import { resolvePath } from './paths.js';

/** browserCommand is how this platform opens a URL, or null when it has no desktop to open it in. */
function browserCommand(env: Record<string, string | undefined>): string[] | null {
  if (process.platform === 'darwin') return ['open'];
  if (process.platform === 'win32') return ['rundll32', 'url.dll,FileProtocolHandler'];
  if (!env.DISPLAY && !env.WAYLAND_DISPLAY) return null;
  return ['xdg-open'];
}

/** uiCommand is `warren ui`. */
export const uiCommand: Command = {
  name: 'ui',
  summary: 'open the app in a web browser (for desktops without Electron)',
  usage: 'warren ui [--port N] [--no-open] [--socket PATH]',
  details: `
Serves Warren's window on http://127.0.0.1 and opens it in the browser. The address carries
a random token made for this run: only someone who has the printed address can use it, and
the page never sends it anywhere else. The window shows the tunnel and the peers and can
connect, disconnect, switch exit nodes and enrol, with this user's rights on the helper's
socket (root or the operator group may change things; others may watch). Stop with Ctrl-C.

  --port N         listen on port N (default: a free port)
  --no-open        print the address only
  --socket PATH    local API socket (env WARREN_SOCKET, default /run/warren/warren.sock)`,
  options: { port: { type: 'string' }, 'no-open': { type: 'boolean' }, socket: { type: 'string' } },
  async run(args, io) {
    const socketPath = resolvePath('socket', args, io);
    const port = intFlag(args, 'port', 1, 65535) ?? 0;
    const backend = new AppBackend({ socketPath });
    let ui;
    try {
      ui = await startWebUi({ backend, rendererDir: rendererDir(io.env), port });
    } catch (e) {
      throw new CliError((e as Error).message);
    }
    backend.start();
    io.stdout.write(`Warren's window is at\n\n  ${ui.url}\n\nThe address is this session's key: do not share it. Stop with Ctrl-C.\n`);
    if (!booleanFlag(args, 'no-open')) openBrowser(ui.url, io);

    await new Promise<void>((resolve) => {
      const stop = (): void => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        resolve();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    backend.stop();
    await ui.close();
    return 0;
  },
};

function openBrowser(url: string, io: Parameters<Command['run']>[1]): void {
  const cmd = browserCommand(io.env);
  if (cmd === null) {
    io.stderr.write('warren ui: no desktop session here (DISPLAY is not set); open the address above in a browser\n');
    return;
  }
  try {
    const child = spawn(cmd[0]!, [...cmd.slice(1), url], { stdio: 'ignore', detached: true });
    child.once('error', () => io.stderr.write(`warren ui: could not start ${cmd[0]}; open the address above in a browser\n`));
    child.unref();
  } catch {
    io.stderr.write(`warren ui: could not start ${cmd[0]}; open the address above in a browser\n`);
  }
}
