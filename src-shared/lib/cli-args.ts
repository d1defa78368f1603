// Pieces every warren-coordinator command shares: IO, usage errors (exit 2), failures (exit 1).
import { parseArgs } from 'node:util';

/** EXIT codes. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/** CliIo is what a command writes to (captured in tests). */
export interface CliIo {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
}

/** UsageError is a wrong command line: the message and the usage go to stderr, exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Failure is a refused or failed command: the message goes to stderr, exit 1. */
export class Failure extends Error {
  override name = 'Failure';
}

/** OptionSpecs are node:util parseArgs options. */
export type OptionSpecs = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;

/** Parsed is a command line after parsing. */
export interface Parsed {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/** parse reads argv strictly: unknown flags and missing values are usage errors. */
export function parse(argv: string[], options: OptionSpecs, positionals: { min: number; max: number }): Parsed {
  let r;
  try {
    r = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message.replace(/^TypeError \[[A-Z_]+\]: /, ''));
  }
  if (r.positionals.length < positionals.min) throw new UsageError('missing argument');
  if (r.positionals.length > positionals.max) throw new UsageError(`unexpected argument ${JSON.stringify(r.positionals[positionals.max])}`);
  return { values: r.values as Parsed['values'], positionals: r.positionals };
}

/** str returns a string flag or undefined. */
export function str(p: Parsed, name: string): string | undefined {
  const v = p.values[name];
  return typeof v === 'string' ? v : undefined;
}

/** bool tells whether a boolean flag was given. */
export function bool(p: Parsed, name: string): boolean {
  return p.values[name] === true;
}

/** list splits "a,b , c" into ["a","b","c"] (empty entries dropped). */
export function list(text: string): string[] {
  return text.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

/** table renders rows with padded columns; the last column is not padded. */
export function table(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return `${all.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n')}\n`;
}
