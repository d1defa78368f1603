// Running `warren ui` for the browser specs: the real CLI in the root namespace (the page and
// Chromium live there), talking to a helper's socket that lives in a namespace's run dir
// (sockets are files, so that crosses namespaces). Optionally as another user, with that
// user's groups (setpriv), to see what a read-only person sees. With --no-open it prints a
// one-time address, which a browser (or signIn) turns into the window's session once.
import { join } from 'node:path';
import { TrackedProcess } from '../netns/process.js';
import { warrenArgv } from '../netns/warren.js';
import type { TestUser } from '../../helper/src/api/test-users.js';

/** WebUiProcess is a running `warren ui`. */
export interface WebUiProcess {
  /** oneTimeUrl is the address it printed: it opens the window once, within 5 minutes. */
  oneTimeUrl: string;
  proc: TrackedProcess;
  stop(): Promise<void>;
}

const live = new Set<TrackedProcess>();
process.on('exit', () => {
  for (const p of live) if (p.running) p.child.kill('SIGKILL');
});

/** startWebUiProcess starts `warren ui --no-open` and waits for the one-time address it prints. */
export async function startWebUiProcess(
  socket: string,
  logDir: string,
  opts: { user?: TestUser; name?: string; env?: Record<string, string> } = {},
): Promise<WebUiProcess> {
  const name = opts.name ?? 'warren-ui';
  const argv = [...warrenArgv(), 'ui', '--no-open', '--socket', socket];
  const full = opts.user
    ? [
        '/usr/bin/setpriv',
        '--reuid',
        String(opts.user.uid),
        '--regid',
        String(opts.user.gid),
        '--init-groups',
        '--',
        ...argv,
      ]
    : argv;
  const proc = new TrackedProcess(name, full, join(logDir, `${name}.log`), {
    ...process.env,
    HOME: '/tmp',
    ...opts.env,
  });
  live.add(proc);
  try {
    const m = await proc.waitFor(/(http:\/\/127\.0\.0\.1:\d+\/open\?code=[A-Za-z0-9_-]{43})\n/, 20_000);
    return {
      oneTimeUrl: m[1]!,
      proc,
      async stop() {
        await proc.stop(3000);
        live.delete(proc);
      },
    };
  } catch (e) {
    await proc.stop(1000);
    live.delete(proc);
    throw new Error(`${name} did not print its address: ${(e as Error).message}\n${proc.output().slice(-3000)}`);
  }
}
