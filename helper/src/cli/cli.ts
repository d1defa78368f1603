// The `warren` command line: picks the subcommand, parses its flags strictly, and turns errors
// into messages and exit codes (0 ok, 1 failure, 2 usage).
import { parseArgs } from 'node:util';
import { didYouMean, ProfileError } from '../../../src-shared/lib/errors.js';
import { addPeerCommand } from './add-peer.js';
import { CliError, EXIT, helpText, UsageError, type CliIo, type Command, type ParsedArgs } from './command.js';
import { genkeyCommand } from './genkey.js';
import { identityCommand } from './identity.js';
import { initCommand } from './init.js';
import { pubkeyCommand } from './pubkey.js';
import { reloadCommand } from './reload.js';
import { whyCommand } from './why.js';
import { exitNodeCommand } from './exit-node.js';
import { execCommand } from './exec.js';
import { runCommand } from './run.js';
import { statusCommand } from './status.js';
import { versionCommand } from './version.js';
import { enrolCommand } from './enrol.js';
import { loginCommand } from './login.js';
import { logoutCommand } from './logout.js';
import { upCommand, downCommand } from './up-down.js';
import { uiCommand } from './ui.js';
import { cleanupCommand } from './cleanup.js';
import { startCommand, stopCommand } from './service.js';

/** COMMANDS are all subcommands, in the order `warren --help` lists them. */
export const COMMANDS: readonly Command[] = [
  runCommand,
  startCommand,
  stopCommand,
  cleanupCommand,
  statusCommand,
  upCommand,
  downCommand,
  enrolCommand,
  loginCommand,
  logoutCommand,
  whyCommand,
  reloadCommand,
  exitNodeCommand,
  execCommand,
  genkeyCommand,
  pubkeyCommand,
  initCommand,
  addPeerCommand,
  identityCommand,
  uiCommand,
  versionCommand,
];

/** topLevelHelp is `warren --help`. */
export function topLevelHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const rows = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return (
    `usage: warren <command> [options]\n\ncommands:\n${rows.join('\n')}\n\n` +
    'Run `warren <command> --help` for the options of one command.\n'
  );
}

/** runCli runs one command line and returns the exit code; it never throws. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.stderr.write(topLevelHelp());
    return EXIT.usage;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    const target = rest[0] === undefined ? undefined : COMMANDS.find((c) => c.name === rest[0]);
    io.stdout.write(target ? helpText(target) : topLevelHelp());
    return EXIT.ok;
  }
  if (name === '--version') return runCli(['version'], io);
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) {
    const hint = didYouMean(
      name,
      COMMANDS.map((c) => c.name),
    );
    io.stderr.write(`warren: unknown command ${JSON.stringify(name.slice(0, 40))}${hint}\n\n${topLevelHelp()}`);
    return EXIT.usage;
  }
  try {
    if (cmd.passThrough) {
      const own = rest.includes('--') ? rest.slice(0, rest.indexOf('--')) : rest;
      if (own.includes('--help') || own.includes('-h')) {
        io.stdout.write(helpText(cmd));
        return EXIT.ok;
      }
      return await cmd.run({ values: {}, positionals: rest }, io);
    }
    const args = parseCommandArgs(cmd, rest);
    if (args.values.help === true) {
      io.stdout.write(helpText(cmd));
      return EXIT.ok;
    }
    return await cmd.run(args, io);
  } catch (e) {
    return report(cmd, e, io);
  }
}

function parseCommandArgs(cmd: Command, rest: string[]): ParsedArgs {
  const maxPositionals = cmd.positionals?.length ?? 0;
  try {
    const { values, positionals } = parseArgs({
      args: rest,
      options: { ...cmd.options, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: maxPositionals > 0,
    });
    if (positionals.length > maxPositionals) {
      throw new UsageError(`unexpected argument ${JSON.stringify(positionals[maxPositionals])}`);
    }
    return { values: values as ParsedArgs['values'], positionals };
  } catch (e) {
    if (e instanceof UsageError) throw e;
    // node:util parseArgs errors (unknown option, missing value) are usage errors.
    if ((e as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) throw new UsageError((e as Error).message);
    throw e;
  }
}

/** usageHint is the line after a usage mistake, pointing at the command's own --help. */
export function usageHint(name: string): string {
  return `Run 'warren ${name} --help' for usage.`;
}

function report(cmd: Command, e: unknown, io: CliIo): number {
  if (e instanceof UsageError) {
    // One line saying what is wrong; the whole usage only on --help (it buried the mistake).
    io.stderr.write(`warren ${cmd.name}: ${e.message}\n${usageHint(cmd.name)}\n`);
    return EXIT.usage;
  }
  if (e instanceof ProfileError) {
    io.stderr.write(`${e.message}\n`);
    return EXIT.failure;
  }
  if (e instanceof CliError) {
    io.stderr.write(e.raw ? `${e.message}\n` : `warren ${cmd.name}: ${e.message}\n`);
    return e.exitCode;
  }
  const err = e as NodeJS.ErrnoException;
  io.stderr.write(`warren ${cmd.name}: ${err?.message ?? String(e)}\n`);
  return EXIT.failure;
}
