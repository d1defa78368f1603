// `warren why PEER`: which policy lets traffic with a peer through, in which direction, or
// which missing policy or unmet trust requirement blocks it.
import { PATHS } from '../../../src-shared/wire/helper-api.js';
import { booleanFlag, UsageError, type Command } from './command.js';
import { callHelper } from './api-call.js';
import { resolvePath } from './paths.js';

/** whyCommand is `warren why`. */
export const whyCommand: Command = {
  name: 'why',
  summary: 'explain why traffic with a peer (or to a routed address) is allowed or blocked',
  usage: 'warren why PEER|ADDRESS [--json] [--socket PATH]',
  details: `
PEER is the peer's identity (as \`warren status\` shows it), its Name, its public key or its
virtual address, IPv4 or IPv6 (any spelling: fd12::6440:2 and FD12:0:0::6440:2 are the same).
Prints, for each direction, the policies and ACLs that allow new connections,
or what blocks them: no policy naming both systems, a disabled policy, or a trust requirement
that is not met (with when it next changes).

ADDRESS, any other IPv4 or IPv6 address outside the virtual networks, is explained by the exit
routes: the exit node that carries it and what lets traffic through (the coordinator's route
grant, or in a static profile the policy to the exit node), on an exit node the subnet it
provides and the peers granted it, or "no route: no grant covers it".

  --json           print the structured answer
  --socket PATH    local API socket (env WARREN_SOCKET, default /run/warren/warren.sock)`,
  options: { json: { type: 'boolean' }, socket: { type: 'string' } },
  positionals: ['PEER'],
  async run(args, io) {
    const peer = args.positionals[0];
    if (peer === undefined) throw new UsageError('name the peer (identity, name or overlay address)');
    const socketPath = resolvePath('socket', args, io);
    const r = await callHelper(socketPath, (c) =>
      c.request<{ text: string; detail: unknown }>('GET', `${PATHS.why}?peer=${encodeURIComponent(peer)}`),
    );
    io.stdout.write(
      booleanFlag(args, 'json') ? `${JSON.stringify(r.detail, null, 2)}\n` : `${r.text.replace(/\n?$/, '\n')}`,
    );
    return 0;
  },
};
