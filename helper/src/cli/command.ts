// What every `warren` subcommand is made of, and the process-facing pieces they share: the IO
// they write to (injectable for tests), usage errors (exit 2) and runtime errors (exit 1).
import type { DaemonOptions } from '../daemon/index.js';

/** CliIo is everything a command touches outside its arguments. */
export interface CliIo {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
  env: Record<string, string | undefined>;
  /** readStdin returns stdin as text, failing if it is longer than maxBytes. */
  readStdin(maxBytes: number): Promise<string>;
  now(): number;
  /** runDaemon replaces the real daemon in tests of `warren run`. */
  runDaemon?: (opts: DaemonOptions) => Promise<void>;
}

/** OptionSpec is one flag, in node:util parseArgs form. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
}

/** ParsedArgs are a command's flags and positional arguments after parsing. */
export interface ParsedArgs {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/** Command is one subcommand. */
export interface Command {
  name: string;
  /** summary is the one line shown by `warren --help`. */
  summary: string;
  /** usage is the synopsis, e.g. "warren status [--json] [--socket PATH]". */
  usage: string;
  /** details follow the usage line in `warren CMD --help`. */
  details: string;
  options: Record<string, OptionSpec>;
  /** positionals names the positional arguments; none are accepted when absent. */
  positionals?: string[];
  /** passThrough hands the raw arguments to run (after --help is handled), for commands that
   * take another command line after `--`. */
  passThrough?: boolean;
  run(args: ParsedArgs, io: CliIo): Promise<number>;
}

/** EXIT codes: success, failure, usage error. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/** UsageError is a mistake in the command line; the command's usage is shown and exit is 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** CliError is a failure to report as `warren CMD: message` (or raw, for ready-made messages). */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failure,
    readonly raw = false,
  ) {
    super(message);
  }
}

/** stringFlag returns a string flag's value, or undefined. */
export function stringFlag(args: ParsedArgs, name: string): string | undefined {
  const v = args.values[name];
  return typeof v === 'string' ? v : undefined;
}

/** requiredFlag returns a string flag's value or throws a UsageError naming it. */
export function requiredFlag(args: ParsedArgs, name: string, what: string): string {
  const v = stringFlag(args, name);
  if (v === undefined || v === '') throw new UsageError(`--${name} ${what} is required`);
  return v;
}

/** booleanFlag tells whether a boolean flag was given. */
export function booleanFlag(args: ParsedArgs, name: string): boolean {
  return args.values[name] === true;
}

/** intFlag parses a whole-number flag within bounds, or returns undefined when absent. */
export function intFlag(
  args: ParsedArgs,
  name: string,
  min: number,
  max: number,
  label = `--${name}`,
): number | undefined {
  const v = stringFlag(args, name);
  if (v === undefined) return undefined;
  if (!/^[0-9]{1,10}$/.test(v) || Number(v) < min || Number(v) > max) {
    throw new UsageError(
      `${label} must be a whole number from ${min} to ${max}, not ${JSON.stringify(v.slice(0, 40))}`,
    );
  }
  return Number(v);
}

/** helpText renders a command's --help output. */
export function helpText(cmd: Command): string {
  return `usage: ${cmd.usage}\n\n${cmd.details.trim()}\n`;
}
