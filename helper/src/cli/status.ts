// `warren status`: ask the running helper for its snapshot and print it.
import { ApiClient, HelperNotRunning, PermissionDenied } from '../api/client.js';
import { booleanFlag, CliError, type Command } from './command.js';
import { resolvePath } from './paths.js';
import { formatStatus } from './status-format.js';

/** statusCommand is `warren status`. */
export const statusCommand: Command = {
  name: 'status',
  summary: 'show this system, the tunnel and each peer',
  usage: 'warren status [--json] [--socket PATH]',
  details: `
Asks the running helper over its local API (GET /v1/status) and prints the local identity,
virtual address, tunnel state and each peer with its endpoint, last handshake and traffic.

  --json           print the raw JSON snapshot
  --socket PATH    local API socket (env WARREN_SOCKET, default /run/warren/warren.sock)`,
  options: {
    json: { type: 'boolean' },
    socket: { type: 'string' },
  },
  async run(args, io) {
    const socketPath = resolvePath('socket', args, io);
    let status;
    try {
      status = await new ApiClient(socketPath).status();
    } catch (e) {
      if (e instanceof HelperNotRunning) {
        throw new CliError(`warren: ${e.message}; start it with \`warren run\` or \`systemctl start warren\``, 1, true);
      }
      if (e instanceof PermissionDenied) {
        throw new CliError(`warren: permission denied on ${socketPath}; run as root or as a member of the operator group`, 1, true);
      }
      throw e;
    }
    io.stdout.write(booleanFlag(args, 'json') ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status, io.now()));
    return 0;
  },
};
