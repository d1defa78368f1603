// Opening the window in the desktop's browser without putting a secret where others can read
// it. A command line is readable by every local user (ps, /proc/PID/cmdline), so the browser
// is not given an address with a code in it: it is given the path of a small HTML file that
// only this user can read (0600, in a fresh 0700 directory under $XDG_RUNTIME_DIR or the temp
// directory), and that page sends a one-time code to the server in a form POST, so no URL
// carries the code either. The file is removed as soon as the code is used, or when it
// expires. Jupyter opens its server the same way ("redirect file"), with the token in a URL.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { isOpenableUrl } from '../../src-shared/wire/login-view.js';
import type { CodeEnd } from './codes.js';
import { OPEN_PATH, type WebUi } from './server.js';

/** OPENER_CODE_TTL_MS is how long the opener file's code lives: the browser uses it within
 * seconds, or not at all (a browser that cannot read the file, see docs/app.md). */
export const OPENER_CODE_TTL_MS = 60_000;

/** browserCommand is how this platform opens a file in the browser, or null when it has no
 * desktop to open it in. */
export function browserCommand(
  env: Record<string, string | undefined>,
  platform: string = process.platform,
): string[] | null {
  if (platform === 'darwin') return ['open'];
  if (platform === 'win32') return ['rundll32', 'url.dll,FileProtocolHandler'];
  if (!env.DISPLAY && !env.WAYLAND_DISPLAY) return null;
  return ['xdg-open'];
}

/** SUBMIT is the opener page's only script; its hash is all the page's CSP lets run. */
const SUBMIT = 'document.forms[0].submit();';
const SUBMIT_HASH = createHash('sha256').update(SUBMIT).digest('base64');

/**
 * openerHtml is the page that sends code to the server at origin. A file:// page has no
 * server to send it headers, so its Content-Security-Policy is a meta element: nothing loads,
 * the one script runs by its hash, and the form may only go to /open. Without scripts the
 * button does the same. origin and code need no escaping: digits, dots, colons and base64url.
 */
export function openerHtml(origin: string, code: string): string {
  const action = `${origin}${OPEN_PATH}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'sha256-${SUBMIT_HASH}'; form-action ${action}; base-uri 'none'">
<meta name="referrer" content="no-referrer">
<title>Opening Warren…</title>
</head>
<body>
<form method="post" action="${action}">
<input type="hidden" name="code" value="${code}">
<p>Opening Warren's window… <button type="submit">Open Warren</button></p>
</form>
<script>${SUBMIT}</script>
</body>
</html>
`;
}

/** privateBase is where the opener's directory goes: $XDG_RUNTIME_DIR when it is a directory of
 * this user's that nobody else may enter (the XDG Base Directory spec asks for 0700), else the
 * temp directory (mkdtemp's directory is 0700 in either). */
export function privateBase(env: Record<string, string | undefined>): string {
  const xdg = env.XDG_RUNTIME_DIR;
  if (xdg && isAbsolute(xdg) && process.getuid !== undefined) {
    try {
      const st = statSync(xdg);
      if (st.isDirectory() && st.uid === process.getuid() && (st.mode & 0o077) === 0) return xdg;
    } catch {
      // not there: the temp directory will do
    }
  }
  return tmpdir();
}

/** Runner starts argv detached; onError hears a failure to start it. */
export type Runner = (argv: string[], onError: (e: Error) => void) => void;

/** spawnDetached is the Runner that really starts the browser command. */
export const spawnDetached: Runner = (argv, onError) => {
  try {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: 'ignore', detached: true });
    child.once('error', onError);
    child.unref();
  } catch (e) {
    onError(e as Error);
  }
};

/** OpenerOptions: what openInBrowser may be given instead of the real thing (tests). */
export interface OpenerOptions {
  run?: Runner;
  platform?: string;
  ttlMs?: number;
}

/** Opened says where the opener file is (tests look at it). */
export interface Opened {
  argv: string[];
  file: string;
}

/**
 * openInBrowser writes the opener file for a fresh code of ui's and starts the browser
 * command on it; it returns null when there is no desktop here. onEnd hears how the code
 * ended (the file is gone by then); onError hears that the command could not start.
 */
export function openInBrowser(
  ui: Pick<WebUi, 'origin' | 'oneTimeCode'>,
  env: Record<string, string | undefined>,
  hooks: { onEnd(end: CodeEnd): void; onError(e: Error): void },
  opts: OpenerOptions = {},
): Opened | null {
  const cmd = browserCommand(env, opts.platform);
  if (cmd === null) return null;
  const dir = mkdtempSync(join(privateBase(env), 'warren-ui-'));
  const file = join(dir, 'open.html');
  const code = ui.oneTimeCode(opts.ttlMs ?? OPENER_CODE_TTL_MS, (end) => {
    rmSync(dir, { recursive: true, force: true });
    hooks.onEnd(end);
  });
  // wx: a file already there (it cannot be, the directory is new) is never written through.
  writeFileSync(file, openerHtml(ui.origin, code), { mode: 0o600, flag: 'wx' });
  const argv = [...cmd, file];
  (opts.run ?? spawnDetached)(argv, hooks.onError);
  return { argv, file };
}

/** openUrl hands an http(s) URL (a sign-in page) to the desktop's browser; it returns false when
 * there is no desktop here or the URL is not http(s), and the window then shows it to open by
 * hand. Unlike the window's own address, a sign-in URL holds no secret of this user's: it goes on
 * the command line as it is. */
export function openUrl(url: string, env: Record<string, string | undefined>, opts: OpenerOptions = {}): boolean {
  const cmd = browserCommand(env, opts.platform);
  if (cmd === null || !isOpenableUrl(url)) return false;
  (opts.run ?? spawnDetached)([...cmd, url], () => undefined);
  return true;
}
