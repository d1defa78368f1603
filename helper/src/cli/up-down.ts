// `warren up` / `warren down`: connect or disconnect the tunnel without stopping the helper
// (POST /v1/connect, /v1/disconnect; root or the operator group).
import { PATHS } from '../../../src-shared/wire/helper-api.js';
import type { Command } from './command.js';
import { callHelper } from './api-call.js';
import { resolvePath } from './paths.js';
import { withJoin } from './up-join.js';

function toggle(name: 'up' | 'down'): Command {
  const path = name === 'up' ? PATHS.connect : PATHS.disconnect;
  return {
    name,
    summary: name === 'up' ? 'connect the tunnel' : 'disconnect the tunnel (the helper keeps running)',
    usage: `warren ${name} [--socket PATH]`,
    details:
      name === 'up'
        ? `\nBrings the tunnel back up after \`warren down\`: sessions are negotiated again and exit-node\nroutes return.\n\n  --socket PATH    local API socket (env WARREN_SOCKET, default /run/warren/warren.sock)`
        : `\nDisconnects the tunnel without stopping the helper: every packet through the overlay is\ndropped, sessions are erased and routes through exit nodes are withdrawn so the machine's own\nroutes take over. \`warren up\` reconnects.\n\n  --socket PATH    local API socket (env WARREN_SOCKET, default /run/warren/warren.sock)`,
    options: { socket: { type: 'string' } },
    async run(args, io) {
      const socketPath = resolvePath('socket', args, io);
      const r = await callHelper(socketPath, (c) => c.request<{ state: string }>('POST', path));
      io.stdout.write(`tunnel ${r.state}\n`);
      return 0;
    },
  };
}

/** upCommand reconnects a running helper, or with --coordinator joins a network (up-join.ts). */
export const upCommand = withJoin(toggle('up'));
export const downCommand = toggle('down');
