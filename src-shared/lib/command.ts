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

/** runCommand is the real CommandRunner. */
export const runCommand: CommandRunner = (cmd, args, input) =>
  new Promise((resolve) => {
    const opts = { timeout: COMMAND_LIMITS.timeoutMs, maxBuffer: COMMAND_LIMITS.maxOutputBytes, encoding: 'utf8' as const };
    const child = execFile(cmd, args, opts, (err, stdout, stderr) => {
      const missing = (err as NodeJS.ErrnoException | null)?.code === 'ENOENT';
      resolve({ ok: err === null, stdout: String(stdout ?? ''), stderr: String(stderr ?? '') || (err ? err.message : ''), missing });
    });
    child.stdin?.on('error', () => undefined); // a program that exits early closes its stdin
    child.stdin?.end(input ?? '');
  });

/** runCommandSync runs a program and waits for it, reporting like runCommand. */
export function runCommandSync(cmd: string, args: string[], input?: string): CommandResult {
  try {
    const stdout = execFileSync(cmd, args, {
      input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'],
      timeout: COMMAND_LIMITS.timeoutMs, maxBuffer: COMMAND_LIMITS.maxOutputBytes,
    });
    return { ok: true, stdout, stderr: '', missing: false };
  } catch (e) {
    const err = e as { code?: string; stdout?: string; stderr?: string; message: string };
    return { ok: false, stdout: err.stdout ?? '', stderr: (err.stderr ?? '').trim() || err.message, missing: err.code === 'ENOENT' };
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
