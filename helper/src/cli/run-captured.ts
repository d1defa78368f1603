// runCaptured runs the CLI in-process with its output captured, for tests of the commands.
import { runCli } from './cli.js';
import type { CliIo } from './command.js';

/** runCaptured runs `warren ARGV` with io's defaults (no environment, the real clock, empty
 * stdin) overridden by `over`, and returns the exit code and what was printed. */
export async function runCaptured(
  argv: string[],
  over: Partial<CliIo> = {},
): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    env: {},
    now: () => Date.now(),
    readStdin: async () => '',
    ...over,
  };
  const code = await runCli(argv, io);
  return { code, out, err };
}
