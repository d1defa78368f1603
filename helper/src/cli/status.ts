// `warren status`: ask the running helper for its snapshot and print it. When no helper answers,
// say what it left on the machine (src-shared/wire/leftovers.ts): a crashed helper's kill switch
// keeps blocking traffic until it is started again or cleaned up, and that must not go unsaid.
import { ApiClient, HelperNotRunning } from '../../../src-shared/lib/helper-client/client.js';
import {
  foundInRecord,
  helperDownReport,
  leftoverRecordPath,
  readLeftoverRecord,
  type Found,
} from '../../../src-shared/lib/helper-client/leftovers.js';
import type { Status } from '../../../src-shared/wire/status.js';
import { readStateDirLeftovers } from '../daemon/leftovers.js';
import { booleanFlag, CliError, EXIT, stringFlag, type CliIo, type Command, type ParsedArgs } from './command.js';
import { cliErrorOf } from './api-call.js';
import { PATH_ENV, resolvePath } from './paths.js';
import { formatStatus } from './status-format.js';

/** statusCommand is `warren status`. */
export const statusCommand: Command = {
  name: 'status',
  summary: 'show this system, the tunnel and each peer',
  usage: 'warren status [--json] [--socket PATH] [--state-dir DIR]',
  details: `
Asks the running helper over its local API (GET /v1/status) and prints the local identity,
virtual address, tunnel state and each peer with its endpoint, last handshake and traffic.
When no helper answers, it says what a helper that stopped left on the machine (a full
tunnel's kill switch, DNS, exit-node rules) and what to do, and exits 1. Root reads the state
directory; other users read the record the helper keeps beside its socket.

  --json           print the raw JSON snapshot (or, when no helper answers, the report)
  --socket PATH    local API socket (env WARREN_SOCKET, default /run/warren/warren.sock)
  --state-dir DIR  crash-recovery state (env WARREN_STATE_DIR; default: the one the helper of
                   this socket recorded, else /var/lib/warren)`,
  options: {
    json: { type: 'boolean' },
    socket: { type: 'string' },
    'state-dir': { type: 'string' },
  },
  async run(args, io) {
    const socketPath = resolvePath('socket', args, io);
    let status: Status;
    try {
      status = await new ApiClient(socketPath).status();
    } catch (e) {
      if (e instanceof HelperNotRunning) helperDown(e, args, io);
      throw cliErrorOf(e, socketPath);
    }
    io.stdout.write(
      booleanFlag(args, 'json') ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status, io.now()),
    );
    return 0;
  },
};

// helperDown reports what the helper of this socket left behind; the exit status stays 1, as
// for any helper that is not running.
function helperDown(e: HelperNotRunning, args: ParsedArgs, io: CliIo): never {
  const report = helperDownReport(findLeftovers(e.socketPath, args, io), e.message);
  if (booleanFlag(args, 'json')) io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  throw new CliError(`warren: ${report.message}`, EXIT.failure, true);
}

// findLeftovers reads the state directory where this user may (root), else the readable record.
// Without --state-dir or WARREN_STATE_DIR the record names the state directory of the helper
// that used this socket, which is the one to read rather than the default.
function findLeftovers(socketPath: string, args: ParsedArgs, io: CliIo): Found | null {
  const record = readLeftoverRecord(socketPath);
  const explicit = (stringFlag(args, 'state-dir') ?? '') !== '' || (io.env[PATH_ENV.stateDir] ?? '') !== '';
  const stateDir = explicit || record === null ? resolvePath('stateDir', args, io) : record.stateDir;
  const found = readStateDirLeftovers(stateDir);
  if (found !== 'unreadable') return found;
  if (record === null) return null;
  return { ...foundInRecord(record), where: leftoverRecordPath(socketPath) };
}
