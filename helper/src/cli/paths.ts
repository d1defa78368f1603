// Where the helper keeps things. Flags win over environment variables, which win over the
// defaults, so that several helpers can run side by side in network namespaces (DESIGN.md "CLI").
import { DEFAULT_SOCKET_PATH } from '../../../src-shared/wire/helper-api.js';
import { DEFAULT_PROFILE_PATH } from '../config/schema.js';
import { stringFlag, type CliIo, type ParsedArgs } from './command.js';

/** DEFAULT_STATE_DIR holds the helper's crash-recovery state. */
export const DEFAULT_STATE_DIR = '/var/lib/warren';

/** PATH_ENV names the environment variable for each path. */
export const PATH_ENV = {
  profile: 'WARREN_PROFILE',
  socket: 'WARREN_SOCKET',
  stateDir: 'WARREN_STATE_DIR',
} as const;

const DEFAULTS = { profile: DEFAULT_PROFILE_PATH, socket: DEFAULT_SOCKET_PATH, stateDir: DEFAULT_STATE_DIR };
const FLAGS = { profile: 'profile', socket: 'socket', stateDir: 'state-dir' } as const;

/** PathKind is one of the paths a helper uses. */
export type PathKind = keyof typeof PATH_ENV;

/** resolvePath picks the flag, then the environment variable, then the default; empty means unset. */
export function resolvePath(kind: PathKind, args: ParsedArgs, io: Pick<CliIo, 'env'>): string {
  const flag = stringFlag(args, FLAGS[kind]);
  if (flag !== undefined && flag !== '') return flag;
  const env = io.env[PATH_ENV[kind]];
  if (env !== undefined && env !== '') return env;
  return DEFAULTS[kind];
}
