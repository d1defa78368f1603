// `warren status`: ask the running helper for its snapshot and print it.
import { booleanFlag, type Command } from './command.js';
import { callHelper } from './api-call.js';
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
    const status = await callHelper(socketPath, (c) => c.status());
    io.stdout.write(
      booleanFlag(args, 'json') ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status, io.now()),
    );
    return 0;
  },
};
