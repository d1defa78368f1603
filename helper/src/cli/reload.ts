// `warren reload`: ask the running helper to re-read its profile (the same as SIGHUP).
import { PATHS } from '../../../src-shared/wire/helper-api.js';
import type { Command } from './command.js';
import { callHelper } from './api-call.js';
import { resolvePath } from './paths.js';

/** reloadCommand is `warren reload`. */
export const reloadCommand: Command = {
  name: 'reload',
  summary: 're-read the profile and apply policy changes at once',
  usage: 'warren reload [--socket PATH]',
  details: `
Asks the running helper (POST /v1/reload, root only) to re-read its profile. Policies, tags and
DNS names take effect at once, for existing connections too. A profile with errors is refused
and the helper keeps the policy it has. Sending SIGHUP to the helper does the same.

  --socket PATH    local API socket (env WARREN_SOCKET, default /run/warren/warren.sock)`,
  options: { socket: { type: 'string' } },
  async run(args, io) {
    const socketPath = resolvePath('socket', args, io);
    const r = await callHelper(socketPath, (c) => c.request<{ message: string }>('POST', PATHS.reload));
    io.stdout.write(`${r.message}\n`);
    return 0;
  },
};
