// `warren exec -- CMD ARGS...`: run a command with the proxy variables pointing at the
// helper's egress proxy, so apps that honour http_proxy reach only what Egress allows.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { proxyEnv } from '../proxy/exec-env.js';
import { CliError, EXIT, type Command } from './command.js';
import { callHelper } from './api-call.js';
import { resolvePath } from './paths.js';

/** execCommand is `warren exec`. */
export const execCommand: Command = {
  name: 'exec',
  summary: 'run a command through the egress proxy (http_proxy and friends set)',
  usage: 'warren exec [--socket PATH] -- CMD [ARGS...]',
  details: `
Asks the running helper for its egress proxy (the profile's Egress section) and runs CMD with
http_proxy, https_proxy, no_proxy and their upper-case forms set, exiting with CMD's status.

  --socket PATH    local API socket (env WARREN_SOCKET, default /run/warren/warren.sock)`,
  options: {},
  passThrough: true,
  async run(args, io) {
    const argv = args.positionals;
    const dash = argv.indexOf('--');
    const own = dash >= 0 ? argv.slice(0, dash) : argv;
    const cmd = dash >= 0 ? argv.slice(dash + 1) : [];
    const values: Record<string, string> = {};
    for (let i = 0; i < own.length; i++) {
      if (own[i] === '--socket' && own[i + 1] !== undefined) values.socket = own[++i]!;
      else if (own[i]!.startsWith('-'))
        throw new CliError(`Unknown option '${own[i]}'; usage: ${execCommand.usage}`, EXIT.usage);
      else throw new CliError(`put the command after --, as in: warren exec -- ${own.slice(i).join(' ')}`, EXIT.usage);
    }
    if (cmd.length === 0) throw new CliError(`usage: ${execCommand.usage}`, EXIT.usage);
    const socketPath = resolvePath('socket', { values, positionals: [] }, io);
    const status = await callHelper(socketPath, (c) => c.status());
    if (typeof status.egressProxyPort !== 'number') {
      throw new CliError(
        'the helper has no egress proxy; add an Egress section to the profile and restart the helper',
        1,
      );
    }
    const child = spawn(cmd[0]!, cmd.slice(1), {
      stdio: 'inherit',
      env: { ...process.env, ...proxyEnv(status.egressProxyPort) },
    });
    return await new Promise<number>((resolve) => {
      child.on('error', (e) => {
        io.stderr.write(`warren exec: cannot run ${cmd[0]}: ${e.message}\n`);
        resolve(127);
      });
      child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 + (constants.signals[signal] ?? 0) : 1)));
    });
  },
};
