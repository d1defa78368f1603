// Pieces the command lines of warren-coordinator and warren-relay share: IO, usage errors (exit 2),
// failures (exit 1), HOST:PORT arguments.
import { isIP } from 'node:net';
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
  if (r.positionals.length > positionals.max)
    throw new UsageError(`unexpected argument ${JSON.stringify(r.positionals[positionals.max])}`);
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
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** table renders rows with padded columns; the last column is not padded. */
export function table(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return `${all.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n')}\n`;
}

/** parseHostPort reads "1.2.3.4:3478", "[::]:443" or "relay.example:443", or says what is wrong;
 * `example` completes the message "... is not HOST:PORT (like EXAMPLE)". */
export function parseHostPort(
  text: string,
  example = '0.0.0.0:3478 or [::]:443',
): { host: string; port: number } | { problem: string } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):([0-9]{1,5})$/.exec(text);
  const host = m?.[1] ?? m?.[2];
  if (!m || host === undefined) return { problem: `${JSON.stringify(text)} is not HOST:PORT (like ${example})` };
  const port = Number(m[3]);
  if (port > 65535) return { problem: `port ${port} is over 65535` };
  if (m[1] !== undefined && isIP(host) !== 6) return { problem: `${JSON.stringify(host)} is not an IPv6 address` };
  if (isIP(host) === 0 && !/^[A-Za-z0-9.-]{1,253}$/.test(host))
    return { problem: `${JSON.stringify(host)} is not an address or host name` };
  return { host, port };
}
