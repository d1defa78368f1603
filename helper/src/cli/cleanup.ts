// `warren cleanup`: removes what a helper that crashed, was killed or was uninstalled left on
// the machine, using the same crash-recovery steps as `warren run` at start (the adapter and
// routes, the split-DNS change, the exit node's nftables table and ip_forward). The package's
// uninstall scripts run it after stopping the service; a person can run it after a crash.
import { existsSync, lstatSync, unlinkSync } from 'node:fs';
import { ApiServerError, assertNoHelperRunning } from '../api/server.js';
import { writeLeftoverRecord } from '../daemon/leftovers.js';
import { recoverFromCrash, statePath } from '../daemon/state-file.js';
import { recoverSplitDns, type SplitDnsEnv } from '../dns/split/index.js';
import { dnsStatePath } from '../dns/split/state.js';
import { recoverExitNode, type ExitNodeEnv } from '../exitnode/index.js';
import { exitNodeStatePath } from '../exitnode/state.js';
import { fullTunnelStatePath, recoverFullTunnel } from '../router/full-tunnel.js';
import { leftoverRecordPath } from '../../../src-shared/lib/helper-client/leftovers.js';
import { createLogger, type Logger } from '../../../src-shared/lib/log.js';
import { CliError, EXIT, type Command } from './command.js';
import { resolvePath } from './paths.js';

/** CleanupOptions are the paths of the helper to clean up after. */
export interface CleanupOptions {
  stateDir: string;
  socketPath: string;
  log: Logger;
  /** dns and exitNode replace the commands the recovery runs, as in their own tests. */
  dns?: SplitDnsEnv;
  exitNode?: ExitNodeEnv;
}

/** CleanupReport says what was found and what is still left. */
export interface CleanupReport {
  /** found names the state files that recorded leftovers. */
  found: string[];
  /** left names the state files that remain because their undo failed. */
  left: string[];
  /** staleSocket is true when a socket nobody answers on was removed. */
  staleSocket: boolean;
  errors: string[];
}

const STATE_FILES: Array<[string, (dir: string) => string]> = [
  ['adapter and routes', statePath],
  ['split DNS', dnsStatePath],
  ['exit node', exitNodeStatePath],
  ['full tunnel', fullTunnelStatePath],
];

/**
 * cleanup runs every crash-recovery step once. It refuses (throws CliError) while a helper
 * answers on the socket, because that helper still owns what the state files record.
 */
export async function cleanup(opts: CleanupOptions): Promise<CleanupReport> {
  try {
    await assertNoHelperRunning(opts.socketPath);
  } catch (e) {
    if (e instanceof ApiServerError) {
      throw new CliError(
        `${e.message}; stop it first (\`warren stop\`, or end \`warren run\`), then run cleanup again`,
      );
    }
    throw e;
  }
  const present = (): string[] =>
    STATE_FILES.filter(([, path]) => existsSync(path(opts.stateDir))).map(([what]) => what);
  const found = present();
  const errors: string[] = [];
  // Each step on its own: one that fails must not keep the others from running.
  const steps: Array<[string, () => void | Promise<void>]> = [
    ['adapter and routes', () => recoverFromCrash(opts.stateDir, opts.log)],
    ['split DNS', () => recoverSplitDns(opts.stateDir, opts.log, opts.dns)],
    ['exit node', () => recoverExitNode(opts.stateDir, opts.log, opts.exitNode)],
    ['full tunnel', () => recoverFullTunnel(opts.stateDir, opts.log)],
  ];
  for (const [what, step] of steps) {
    try {
      await step();
    } catch (e) {
      errors.push(`${what}: ${(e as Error).message}`);
    }
  }
  try {
    // The readable record beside the socket says what is left now, for the app and `warren status`.
    writeLeftoverRecord(opts.socketPath, opts.stateDir, null);
  } catch (e) {
    opts.log.warn(`could not update ${leftoverRecordPath(opts.socketPath)}: ${(e as Error).message}`);
  }
  return { found, left: present(), staleSocket: removeStaleSocket(opts.socketPath), errors };
}

// removeStaleSocket deletes the socket file of a helper that is gone (nobody answered above).
function removeStaleSocket(socketPath: string): boolean {
  try {
    if (!lstatSync(socketPath).isSocket()) return false;
    unlinkSync(socketPath);
    return true;
  } catch {
    return false;
  }
}

/** cleanupCommand is `warren cleanup`. */
export const cleanupCommand: Command = {
  name: 'cleanup',
  summary: 'remove what a crashed or uninstalled helper left behind',
  usage: 'warren cleanup [--state-dir DIR] [--socket PATH]',
  details: `
Undoes what the state directory records and no running helper owns any more: the adapter and
its routes, the split-DNS change, the exit node's nftables table and ip_forward setting, a full
tunnel's routing rules and kill switch. It
refuses while a helper answers on the socket. Needs root. The uninstallers run it; run it
yourself after a helper was killed and did not restart.

  --state-dir DIR   crash-recovery state (env WARREN_STATE_DIR, default /var/lib/warren)
  --socket PATH     local API socket (env WARREN_SOCKET, default /run/warren/warren.sock)`,
  options: {
    'state-dir': { type: 'string' },
    socket: { type: 'string' },
  },
  async run(args, io) {
    if (process.platform !== 'linux') {
      throw new CliError(`cleanup is not supported on ${process.platform} yet (Linux only for now)`);
    }
    if (process.getuid?.() !== 0) throw new CliError('needs root: run `sudo warren cleanup`');
    const stateDir = resolvePath('stateDir', args, io);
    const socketPath = resolvePath('socket', args, io);
    const r = await cleanup({ stateDir, socketPath, log: createLogger(1, io.stderr) });
    if (r.staleSocket) io.stdout.write(`removed the stale socket ${socketPath}\n`);
    if (r.errors.length > 0 || r.left.length > 0) {
      const left = r.left.length > 0 ? `; still recorded in ${stateDir}: ${r.left.join(', ')}` : '';
      throw new CliError(
        `could not undo everything: ${r.errors.join('; ') || 'see the messages above'}${left}. ` +
          'Fix what is reported and run `warren cleanup` again.',
        EXIT.failure,
      );
    }
    io.stdout.write(
      r.found.length === 0
        ? `nothing to clean up in ${stateDir}\n`
        : `cleaned up after the helper: ${r.found.join(', ')}\n`,
    );
    return EXIT.ok;
  },
};
