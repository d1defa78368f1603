// runDaemon: the helper's main job. It brings the helper up as a list of steps, each of which
// can be undone (steps.ts: the local API, crash recovery, the leftover record, the UDP socket,
// the adapter, the state record, the firewall, the device, exit nodes, DNS, the proxies, NAT
// traversal and the coordinator), runs until SIGTERM/SIGINT, and undoes the steps in reverse.
// If a step fails, the steps before it are undone, so the machine is never left half-configured.
import type { Profile } from '../config/schema.js';
import type { Logger } from '../../../src-shared/lib/log.js';
import { systemEnv, type DaemonEnv } from './env.js';
import { Lifecycle } from './lifecycle.js';
import { newDaemonState, type DaemonState } from './state.js';
import { daemonSteps } from './steps.js';
import { ProfileUpdates } from './updates.js';

export type { DaemonEnv } from './env.js';
export { StepError } from './lifecycle.js';

/** DaemonOptions is what `warren run` hands to the daemon. */
export interface DaemonOptions {
  profilePath: string;
  profile: Profile;
  socketPath: string;
  stateDir: string;
  verbosity: number;
  log: Logger;
  /** metricsListen is `warren run --metrics-listen` or the profile's Metrics.Listen: GET
   * /metrics there, unauthenticated. */
  metricsListen?: { host: string; port: number };
}

/** Daemon is one helper: start() runs the steps, stop() undoes them, reload() applies the profile file again. */
export class Daemon {
  readonly state: DaemonState;
  private readonly lifecycle: Lifecycle;
  private readonly updates: ProfileUpdates;

  constructor(
    private readonly opts: DaemonOptions,
    private readonly env: DaemonEnv = systemEnv(),
  ) {
    this.state = newDaemonState(opts);
    this.lifecycle = new Lifecycle(opts.log);
    this.updates = new ProfileUpdates(this.state, opts.log);
  }

  /** running names the started steps that have something to undo, in start order. */
  get running(): string[] {
    return this.lifecycle.running;
  }

  /** start runs every step; on a failure it undoes the started ones and throws StepError. */
  async start(): Promise<void> {
    const { opts, state } = this;
    // The leftover record follows each step too: a crash between two steps leaves it true.
    await this.lifecycle.start(daemonSteps({ ...opts, env: this.env, state, updates: this.updates }), () =>
      state.leftovers?.sync(),
    );
    state.ready = true;
    state.changes.notify();
    opts.log.info(
      `Warren helper up: ${opts.profile.identity} ${opts.profile.virtualAddress} on ${state.adapter}, ` +
        `UDP ${state.listenPort}, ${opts.profile.peers.length} peer(s), API ${opts.socketPath}`,
    );
  }

  /** stop undoes every started step, last first. */
  stop(): Promise<void> {
    return this.lifecycle.stop();
  }

  /** reload re-reads the profile file and applies what can change without a restart; it says
   * what it did, or fails with ApiHttpError (503 still starting, 409 coordinated, 422 refused). */
  reload(): Promise<string> {
    return this.updates.reload();
  }

  /** hangup reloads on SIGHUP; a failure is logged by the reload itself. */
  hangup(): void {
    this.reload().catch(() => undefined);
  }
}

/** runDaemon runs the helper until it is asked to stop; it resolves after a clean stop. */
export async function runDaemon(opts: DaemonOptions, env: DaemonEnv = systemEnv()): Promise<void> {
  const daemon = new Daemon(opts, env);
  // Signals are caught from the start, so a stop request during setup still tears down.
  const stopped = waitForStopSignal(
    env,
    opts.log,
    () => daemon.stop(),
    () => daemon.hangup(),
  );
  await daemon.start();
  await stopped;
  await daemon.stop();
  opts.log.info('Warren helper stopped; adapter and routes removed');
}

// waitForStopSignal resolves on SIGTERM or SIGINT. A crash in between still tears down first.
function waitForStopSignal(
  env: DaemonEnv,
  log: Logger,
  teardown: () => Promise<void>,
  onHup: () => void,
): Promise<void> {
  return new Promise((resolve) => {
    const stop = (sig: string) => (): void => {
      log.info(`${sig} received, stopping`);
      env.signals.off('SIGTERM', onTerm);
      env.signals.off('SIGINT', onInt);
      resolve();
    };
    const onTerm = stop('SIGTERM');
    const onInt = stop('SIGINT');
    env.signals.on('SIGTERM', onTerm);
    env.signals.on('SIGINT', onInt);
    env.signals.on('SIGHUP', () => {
      log.info('SIGHUP received, reloading the profile');
      onHup();
    });
    env.signals.on('uncaughtException', (e: Error) => {
      log.error(`internal error, stopping: ${e.stack ?? e.message}`);
      void teardown().finally(() => env.exit(70));
    });
  });
}
