// Running the system's tools (ip, nft, iptables, sysctl, resolvectl...) without a shell: one
// runner for every program, with a timeout, bounded output and stdin. The async runner is
// injectable, so tests see exactly which commands a component would run; the sync one serves
// code that must finish a change before it returns (adapter and route setup).
import { execFile, execFileSync } from 'node:child_process';

/** CommandResult is what a run reports; a failing or missing program is a result, not a throw. */
export interface CommandResult {
  ok: boolean;
  stdout: string;
  /** stderr is the program's error output, or why it could not run (timeout, not found). */
  stderr: string;
  /** missing is true when the program itself is not installed (ENOENT). */
  missing: boolean;
}

/** CommandRunner runs a program with optional stdin. */
export type CommandRunner = (cmd: string, args: string[], input?: string) => Promise<CommandResult>;

/** COMMAND_LIMITS: a system tool that takes longer than this is stuck, and its output is small. */
export const COMMAND_LIMITS = { timeoutMs: 10_000, maxOutputBytes: 4 * 1024 * 1024 } as const;

/** CommandOptions tune one run; unset ones are COMMAND_LIMITS. A program that legitimately
 * waits longer (systemctl stop waits for the unit's own cleanup) gets its own timeout. */
export interface CommandOptions {
  input?: string;
  timeoutMs?: number;
  maxOutputBytes?: number;
}

/** CommandExit is how a run ended, for callers that explain exit statuses to people. */
export interface CommandExit {
  ok: boolean;
  stdout: string;
  /** stderr is exactly what the program printed there ('' if it never ran). */
  stderr: string;
  /** code is the exit status, or null when the program never ran or did not exit by itself. */
  code: number | null;
  missing: boolean;
  /** killed says the runner stopped it for running past the timeout (output past the bound
   * stops it too, but Node reports that only in failure, with code null). */
  killed: boolean;
  /** failure is Node's account of why the run failed ('' when it succeeded). */
  failure: string;
}

/** runCommandExit runs a program without a shell and reports how it ended; it never throws. */
export function runCommandExit(cmd: string, args: string[], opts: CommandOptions = {}): Promise<CommandExit> {
  return new Promise((resolve) => {
    const limits = {
      timeout: opts.timeoutMs ?? COMMAND_LIMITS.timeoutMs,
      maxBuffer: opts.maxOutputBytes ?? COMMAND_LIMITS.maxOutputBytes,
      encoding: 'utf8' as const,
    };
    const child = execFile(cmd, args, limits, (err, stdout, stderr) => {
      // A non-zero exit puts the status in err.code; a spawn failure puts an errno name there.
      const e = err as (Omit<NodeJS.ErrnoException, 'code'> & { code?: unknown; killed?: boolean }) | null;
      resolve({
        ok: e === null,
        stdout: String(stdout ?? ''),
        stderr: String(stderr ?? ''),
        code: e === null ? 0 : typeof e.code === 'number' ? e.code : null,
        missing: e?.code === 'ENOENT',
        killed: e?.killed === true,
        failure: e ? e.message : '',
      });
    });
    child.stdin?.on('error', () => undefined); // a program that exits early closes its stdin
    child.stdin?.end(opts.input ?? '');
  });
}

/** runCommand is the real CommandRunner. */
export const runCommand: CommandRunner = async (cmd, args, input) => {
  const r = await runCommandExit(cmd, args, { input });
  return { ok: r.ok, stdout: r.stdout, stderr: r.stderr || r.failure, missing: r.missing };
};

/** runCommandSync runs a program and waits for it, reporting like runCommand. */
export function runCommandSync(cmd: string, args: string[], input?: string): CommandResult {
  try {
    const stdout = execFileSync(cmd, args, {
      input,
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: COMMAND_LIMITS.timeoutMs,
      maxBuffer: COMMAND_LIMITS.maxOutputBytes,
    });
    return { ok: true, stdout, stderr: '', missing: false };
  } catch (e) {
    const err = e as { code?: string; stdout?: string; stderr?: string; message: string };
    return {
      ok: false,
      stdout: err.stdout ?? '',
      stderr: (err.stderr ?? '').trim() || err.message,
      missing: err.code === 'ENOENT',
    };
  }
}

/**
 * commandError turns a failed result into the error people see: `missingHint` when the program
 * is not installed (say which package to install), else "cmd args: what it printed".
 */
export function commandError(cmd: string, args: string[], r: CommandResult, missingHint: string): Error {
  if (r.missing) return new Error(missingHint);
  return new Error(`${cmd} ${args.join(' ')}: ${r.stderr.trim() || 'failed'}`);
}

/** mustRunSync runs a program and returns its stdout, or throws commandError. */
export function mustRunSync(cmd: string, args: string[], missingHint: string, input?: string): string {
  const r = runCommandSync(cmd, args, input);
  if (!r.ok) throw commandError(cmd, args, r, missingHint);
  return r.stdout;
}
