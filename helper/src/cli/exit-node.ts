// `warren exit-node`: list the exit nodes this system may use, and switch their routes on or off.
import { PATHS } from '../../../src-shared/wire/helper-api.js';
import type { ExitNodeState } from '../../../src-shared/wire/helper-api.js';
import { UsageError, type Command } from './command.js';
import { callHelper } from './api-call.js';
import { resolvePath } from './paths.js';

const ALLOWED: Record<string, string> = {
  'route-grant': "usable by the coordinator's route grant",
  policy: 'usable as the policy to the exit node allows (warren why IDENTITY)',
  'allow-all': 'usable (no Policies: all traffic allowed)',
};

// line shows one exit node; its routes are usable where they are in use, routed (no conflict)
// and let through this system's firewall (allowedBy).
function line(s: ExitNodeState): string {
  const conflicts = s.conflicts.length ? `; not routed: ${s.conflicts.join('; ')}` : '';
  const allowed =
    s.allowedBy === undefined || !s.inUse
      ? ''
      : s.allowedBy === null
        ? `; not usable: no policy lets this system reach ${s.identity}, and a static profile's routes need one`
        : `; ${ALLOWED[s.allowedBy]!.replace('IDENTITY', s.identity)}`;
  const who = s.name ? `${s.identity} (${s.name})` : s.identity;
  return `${who}  ${s.routes.join(', ')}  ${s.inUse ? 'in use' : 'off'}${allowed}${conflicts}`;
}

/** exitNodeCommand is `warren exit-node list` and `warren exit-node use NODE on|off`. */
export const exitNodeCommand: Command = {
  name: 'exit-node',
  summary: 'list exit nodes, or route through one: use NODE on|off',
  usage: 'warren exit-node list | warren exit-node use NODE on|off [--socket PATH]',
  details: `
Exit nodes are peers that route subnets for this system (ExitNode.AvailableRoutes in the
profile). \`use NODE off\` removes their routes at once; \`on\` puts them back (root only).
NODE is the exit node's identity or its name, as \`exit-node list\` shows them.

  --socket PATH    local API socket (env WARREN_SOCKET, default /run/warren/warren.sock)`,
  options: { socket: { type: 'string' } },
  positionals: ['ACTION', 'NODE', 'ON_OFF'],
  async run(args, io) {
    const [action, identity, onOff] = args.positionals;
    const socketPath = resolvePath('socket', args, io);
    if (action === 'list' && identity === undefined) {
      const list = await callHelper(socketPath, (c) => c.request<ExitNodeState[]>('GET', PATHS.exitNodes));
      io.stdout.write(
        list.length
          ? `${list.map(line).join('\n')}\n`
          : 'no exit nodes: with a coordinator, no Routes grant in its policy file names this system; in a static profile, ExitNode.AvailableRoutes is empty\n',
      );
      return 0;
    }
    if (action !== 'use' || identity === undefined || (onOff !== 'on' && onOff !== 'off')) {
      throw new UsageError(
        action === undefined || action === 'list' || action === 'use'
          ? "say 'list', or 'use IDENTITY on' or 'use IDENTITY off'"
          : `unknown action ${JSON.stringify(action.slice(0, 40))}: say 'list' or 'use IDENTITY on|off'`,
      );
    }
    const r = await callHelper(socketPath, (c) =>
      c.request<ExitNodeState>('POST', PATHS.exitNodes, { identity, use: onOff === 'on' }),
    );
    io.stdout.write(`${line(r)}\n`);
    return 0;
  },
};
