// The command line of `warren-wg`, as the cross-platform userspace API asks of an
// implementation (https://www.wireguard.com/xplatform/, "Interface") and wireguard-go has it:
// `warren-wg [-f|--foreground] INTERFACE-NAME`, plus --version and --help. The environment
// settings are wireguard-go's too: WG_PROCESS_FOREGROUND=1 and LOG_LEVEL.
import { createLogger, type Logger } from '../../../src-shared/lib/log.js';
import { VERSION } from '../version.js';

/** Command is what a command line asks for. */
export type Command =
  | { kind: 'version' }
  | { kind: 'help' }
  | { kind: 'usage-error'; message: string }
  | { kind: 'run'; name: string; foreground: boolean };

export const USAGE = 'Usage: warren-wg [-f/--foreground] INTERFACE-NAME\n';

/** versionText is what --version prints. */
export function versionText(): string {
  return (
    `warren-wg v${VERSION}\n\n` +
    `Userspace WireGuard data plane of Warren for ${process.platform}-${process.arch}, ` +
    'driven by wg(8) and wg-quick(8) through the cross-platform userspace API.\n'
  );
}

/** parseCommand reads argv (without node and the script) and the environment. */
export function parseCommand(argv: string[], env: NodeJS.ProcessEnv): Command {
  if (argv.length === 1 && argv[0] === '--version') return { kind: 'version' };
  if (argv.length === 1 && (argv[0] === '--help' || argv[0] === '-h')) return { kind: 'help' };
  let foreground = false;
  let rest = argv;
  if (rest[0] === '-f' || rest[0] === '--foreground') {
    foreground = true;
    rest = rest.slice(1);
  }
  if (rest.length !== 1 || rest[0]!.startsWith('-')) {
    return { kind: 'usage-error', message: 'expected one interface name' };
  }
  const name = rest[0]!;
  if (!/^[A-Za-z0-9_=+.-]{1,15}$/.test(name) || name === '.' || name === '..') {
    return {
      kind: 'usage-error',
      message: `invalid interface name ${JSON.stringify(name)} (1-15 of A-Z a-z 0-9 _=+.-)`,
    };
  }
  return { kind: 'run', name, foreground: foreground || env.WG_PROCESS_FOREGROUND === '1' };
}

/** logVerbosity maps LOG_LEVEL as wireguard-go reads it: error (the default), verbose or
 * debug, silent. Errors and warnings are written at every level but silent. */
export function logVerbosity(env: NodeJS.ProcessEnv): number {
  switch (env.LOG_LEVEL) {
    case 'verbose':
    case 'debug':
      return 3;
    case 'silent':
      return -1;
    default:
      return 0;
  }
}

/** loggerFor makes the program's logger (stderr) for LOG_LEVEL. */
export function loggerFor(env: NodeJS.ProcessEnv): Logger {
  return createLogger(logVerbosity(env));
}
