// Test support for the warren-coordinator CLI: run it in-process and keep what it printed.
import { runCli } from './cli.js';

/** CliRun is one command's exit code and output. */
export interface CliRun {
  code: number;
  out: string;
  err: string;
}

/** cli runs `warren-coordinator ARGV` in this process and returns its exit code and output. */
export async function cli(...argv: string[]): Promise<CliRun> {
  let out = '';
  let err = '';
  const code = await runCli(argv, {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
  });
  return { code, out, err };
}
