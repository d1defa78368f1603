// The browser fallback's entry: `node dist/src-main/web-ui/main.js --socket PATH [--port N]
// [--no-open]` in a checkout, resources/web-ui/warren-ui.mjs (this file bundled by
// scripts/build-ui.mjs) when installed. `warren ui` (helper/src/cli/ui.ts) finds it and runs it
// as a child process with an IPC channel; see program.ts for what it does.
import { runWebUi } from './program.js';

/**
 * untilStopped resolves on SIGINT or SIGTERM, or when the `warren ui` that started this process
 * goes away, however it ends: its IPC channel closes with it, so no window outlives it. The
 * signal handlers stay until the process exits, because a Ctrl-C in a terminal reaches both
 * processes and `warren ui` forwards its copy: the second must not cut the clean stop short.
 */
function untilStopped(): Promise<void> {
  return new Promise((resolve) => {
    const stop = (): void => {
      // Removing the listener lets the IPC channel stop holding the event loop open.
      process.off('disconnect', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    if (process.send !== undefined) {
      if (process.connected) process.on('disconnect', stop);
      else stop();
    }
  });
}

try {
  process.exitCode = await runWebUi(
    process.argv.slice(2),
    { stdout: process.stdout, stderr: process.stderr, env: process.env },
    untilStopped,
  );
} catch (e) {
  process.stderr.write(`warren ui: ${(e as Error).message}\n`);
  process.exitCode = 1;
}
