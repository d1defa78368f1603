// `warren run`: validate the profile, then hand over to the daemon in the foreground.
import { ApiServerError, assertNoHelperRunning } from '../api/server.js';
import { loadProfile } from '../config/load.js';
import { createLogger, DEFAULT_VERBOSITY, MAX_VERBOSITY, MIN_VERBOSITY } from '../../../src-shared/lib/log.js';
import { metricsListenOf } from '../config/validate-metrics.js';
import { parseHostPort } from '../../../src-shared/lib/cli-args.js';
import { CliError, intFlag, stringFlag, UsageError, type Command } from './command.js';
import { resolvePath } from './paths.js';
import { startLoopStats } from '../daemon/loop-stats.js';
import { idleBackgroundThreads } from '../daemon/background-threads.js';

/** runCommand is `warren run`. */
export const runCommand: Command = {
  name: 'run',
  summary: 'run the helper in the foreground',
  usage: 'warren run [--profile FILE] [-v N] [--socket PATH] [--state-dir DIR] [--metrics-listen ADDR:PORT]',
  details: `
Loads and checks the profile, brings up the adapter and the tunnels and serves the local API
until SIGTERM or SIGINT. A bad profile is reported and nothing on the machine is touched.

  --profile FILE    profile to use (env WARREN_PROFILE, default /etc/warren/profiles/Universe.profile)
  -v, --verbose N   log level 0-5: 0 errors and warnings, 1 events (default), 3 debug, 5 packet flow
  --socket PATH     local API socket (env WARREN_SOCKET, default /run/warren/warren.sock)
  --state-dir DIR   crash-recovery state (env WARREN_STATE_DIR, default /var/lib/warren)
  --metrics-listen ADDR:PORT
                    also serve GET /metrics (Prometheus text) there, without authentication,
                    e.g. 127.0.0.1:9465 or [::1]:9465; default: the profile's Metrics.Listen, else off`,
  options: {
    profile: { type: 'string' },
    verbose: { type: 'string', short: 'v' },
    socket: { type: 'string' },
    'state-dir': { type: 'string' },
    'metrics-listen': { type: 'string' },
  },
  async run(args, io) {
    const verbosity = intFlag(args, 'verbose', MIN_VERBOSITY, MAX_VERBOSITY, '-v') ?? DEFAULT_VERBOSITY;
    const profilePath = resolvePath('profile', args, io);
    const socketPath = resolvePath('socket', args, io);
    const stateDir = resolvePath('stateDir', args, io);
    const metricsText = stringFlag(args, 'metrics-listen');
    const listen = metricsText === undefined ? undefined : parseHostPort(metricsText, '127.0.0.1:9465 or [::1]:9465');
    if (listen !== undefined && 'problem' in listen) throw new UsageError(`--metrics-listen ${listen.problem}`);
    // Throws ProfileError before anything is opened or changed.
    const profile = loadProfile(profilePath);
    // The flag wins over the profile's Metrics.Listen.
    const metricsListen = listen ?? metricsListenOf(profile);
    // A second helper on the same socket would fight the first over the adapter and port.
    try {
      await assertNoHelperRunning(socketPath);
    } catch (e) {
      if (e instanceof ApiServerError) throw new CliError(e.message);
      throw e;
    }
    const log = createLogger(verbosity, io.stderr);
    // Imported lazily so that status, genkey and friends never load the data plane.
    const runDaemon = io.runDaemon ?? (await import('../daemon/index.js')).runDaemon;
    // WARREN_BACKGROUND_THREADS=idle (an experiment): before the data plane starts its threads.
    if (io.runDaemon === undefined) idleBackgroundThreads(io.env, log);
    // WARREN_LOOP_STATS=N: the event loop's delay and GC pauses every N s (a diagnostic).
    const stopLoopStats = startLoopStats(io.env, (line) => io.stderr.write(line));
    try {
      await runDaemon({
        profilePath,
        profile,
        socketPath,
        stateDir,
        verbosity,
        log,
        ...(metricsListen ? { metricsListen } : {}),
      });
    } finally {
      stopLoopStats();
    }
    return 0;
  },
};
