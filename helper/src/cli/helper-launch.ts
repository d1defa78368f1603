// startOrReloadHelper: after `warren up --coordinator` has a profile, get a helper running it.
// A helper already running it is left alone, one running something else is restarted; else the
// system service is started where systemd runs it with these (default) paths; elsewhere
// (containers, network namespaces, machines without the package's unit) `warren run` is started
// detached, in its own session, logging to a file in the state directory.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiClient, HelperNotRunning } from '../../../src-shared/lib/helper-client/client.js';
import { DEFAULT_SOCKET_PATH } from '../../../src-shared/wire/helper-api.js';
import type { Status } from '../../../src-shared/wire/status.js';
import { readProfile } from '../config/load.js';
import { DEFAULT_PROFILE_PATH } from '../config/schema.js';
import { cliErrorOf } from './api-call.js';
import { CliError } from './command.js';
import { DEFAULT_STATE_DIR } from './paths.js';
import { controlService, SERVICE_UNIT, SYSTEMD_RUN_DIR } from './service.js';
import { withPacketPathFlags } from '../../../src-shared/lib/node-flags.js';

/** HelperPaths are the profile, socket and state directory the helper is to use. */
export interface HelperPaths {
  profilePath: string;
  socketPath: string;
  stateDir: string;
}

/** Launched says how the helper runs now, for the messages that follow. */
export interface Launched {
  how: 'running' | 'service' | 'detached';
  /** log is where the helper's log is (a file, or the journal command). */
  log: string;
  /** pid is the detached helper's process id. */
  pid?: number;
}

/** HELPER_LOG and HELPER_PID are the files a detached helper leaves in the state directory. */
export const HELPER_LOG = 'helper.log';
export const HELPER_PID = 'helper.pid';

const UNIT_DIRS = ['/etc/systemd/system', '/lib/systemd/system', '/usr/lib/systemd/system'];
const START_WAIT_MS = 30_000;
const STOP_WAIT_MS = 20_000;
const LOG_TAIL_BYTES = 4000;

/** startOrReloadHelper gets a helper running with paths' profile; say prints progress. A
 * coordinated helper does not take a new Coordinator section on reload (it must restart), so
 * one already running this enrolment is left as it is, and one running something else is
 * restarted when `warren up` or the service started it. */
export async function startOrReloadHelper(paths: HelperPaths, say: (s: string) => void): Promise<Launched> {
  const client = new ApiClient(paths.socketPath);
  let running: Status | null = null;
  try {
    running = await client.status();
  } catch (e) {
    if (!(e instanceof HelperNotRunning)) throw cliErrorOf(e, paths.socketPath);
  }
  if (running !== null) {
    if (runsThisProfile(running, paths.profilePath)) {
      say(`the helper on ${paths.socketPath} already runs this profile`);
      const pid = ownHelperPid(paths);
      return { how: 'running', log: logOf(paths), ...(pid === null ? {} : { pid }) };
    }
    say(`the helper on ${paths.socketPath} runs another profile or enrolment; restarting it`);
    await stopRunning(paths, client);
  }
  if (serviceRunsThese(paths)) {
    say(`starting the system service ${SERVICE_UNIT}`);
    await controlService('start', SERVICE_UNIT);
    await waitForApi(client, () => null, `journalctl -u ${SERVICE_UNIT}`);
    return { how: 'service', log: `journalctl -u ${SERVICE_UNIT}` };
  }
  return startDetached(paths, client, say);
}

// runsThisProfile: the running helper is coordinated by this profile's coordinator as this
// system, on this profile's adapter.
function runsThisProfile(s: Status, profilePath: string): boolean {
  const p = readProfile(profilePath).profile;
  const c = p.coordinator;
  return (
    c !== undefined &&
    c !== null &&
    s.coordinator?.url === c.url &&
    s.coordinator.systemId === c.systemId &&
    s.adapter === p.adapter.name
  );
}

// stopRunning stops a helper that the service or an earlier `warren up` (its pid file, whose
// process must be `warren run` on this socket) started; another one is the person's to stop.
async function stopRunning(paths: HelperPaths, client: ApiClient): Promise<void> {
  if (serviceRunsThese(paths)) {
    await controlService('stop', SERVICE_UNIT);
    return;
  }
  const pid = ownHelperPid(paths);
  if (pid === null)
    throw new CliError(
      `a helper not started by \`warren up\` runs on ${paths.socketPath} with another profile; stop it ` +
        '(Ctrl-C where `warren run` runs, or end its process) and run this `warren up` again; the enrolment is kept',
    );
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + STOP_WAIT_MS;
  for (;;) {
    try {
      await client.status();
    } catch (e) {
      // While it shuts down the socket may still accept and then reset; only gone is done.
      if (e instanceof HelperNotRunning) return;
    }
    if (Date.now() > deadline)
      throw new CliError(
        `the helper (pid ${pid}) did not stop within ${STOP_WAIT_MS / 1000} s; stop it and run warren up again`,
      );
    await sleep(200);
  }
}

// ownHelperPid reads helper.pid and checks, in /proc, that the process is still `warren run`
// with this socket, so that a reused pid is never signalled.
function ownHelperPid(paths: HelperPaths): number | null {
  try {
    const text = readFileSync(join(paths.stateDir, HELPER_PID), 'utf8').slice(0, 32).trim();
    if (!/^[1-9][0-9]{0,9}$/.test(text)) return null;
    const argv = readFileSync(`/proc/${text}/cmdline`, 'utf8').slice(0, 8192).split('\0');
    return argv.includes('run') && argv.includes(paths.socketPath) ? Number(text) : null;
  } catch {
    return null;
  }
}

// serviceRunsThese: the packaged unit runs `warren run` with the default paths, so it serves
// this profile only when every path is the default, and only where systemd runs (sd_booted(3)).
function serviceRunsThese(p: HelperPaths): boolean {
  if (process.platform !== 'linux' || !existsSync(SYSTEMD_RUN_DIR)) return false;
  if (
    p.profilePath !== DEFAULT_PROFILE_PATH ||
    p.socketPath !== DEFAULT_SOCKET_PATH ||
    p.stateDir !== DEFAULT_STATE_DIR
  )
    return false;
  return UNIT_DIRS.some((d) => existsSync(join(d, SERVICE_UNIT)));
}

function logOf(p: HelperPaths): string {
  return join(p.stateDir, HELPER_LOG);
}

async function startDetached(paths: HelperPaths, client: ApiClient, say: (s: string) => void): Promise<Launched> {
  const log = logOf(paths);
  // This module's sibling main (.js when built, .ts under tsx), with the same Node flags and
  // the packet path's (node-flags.ts).
  const here = fileURLToPath(import.meta.url);
  const main = join(here, '..', `main${extname(here)}`);
  const fd = openSync(log, 'a', 0o600);
  const child = (() => {
    try {
      return spawn(
        process.execPath,
        [
          ...withPacketPathFlags(process.execArgv),
          main,
          'run',
          '--profile',
          paths.profilePath,
          '--socket',
          paths.socketPath,
          '--state-dir',
          paths.stateDir,
        ],
        { detached: true, stdio: ['ignore', fd, fd] },
      );
    } finally {
      closeSync(fd);
    }
  })();
  let exited: string | null = null;
  child.once('exit', (code, signal) => (exited = signal ? `signal ${signal}` : `exit ${code}`));
  child.once('error', (e) => (exited = e.message));
  child.unref();
  const pid = child.pid ?? 0;
  writeFileSync(join(paths.stateDir, HELPER_PID), `${pid}\n`, { mode: 0o600 });
  say(`no system service runs this profile here; started \`warren run\` in the background (pid ${pid}), log ${log}`);
  await waitForApi(client, () => exited, log);
  return { how: 'detached', log, pid };
}

// waitForApi waits until the helper's API answers; exited tells whether the process is gone.
async function waitForApi(client: ApiClient, exited: () => string | null, log: string): Promise<void> {
  const deadline = Date.now() + START_WAIT_MS;
  for (;;) {
    try {
      await client.status();
      return;
    } catch (e) {
      if (!(e instanceof HelperNotRunning)) throw cliErrorOf(e, '');
    }
    const gone = exited();
    if (gone !== null)
      throw new CliError(
        `the helper stopped while starting (${gone}); the end of its log ${log}:\n${tail(log)}\n` +
          'Fix what it says, then run the same `warren up` again: the system stays enrolled and no key is used again',
      );
    if (Date.now() > deadline)
      throw new CliError(`the helper did not answer within ${START_WAIT_MS / 1000} s; see its log (${log})`);
    await sleep(200);
  }
}

function tail(path: string): string {
  try {
    const size = statSync(path).size;
    const text = readFileSync(path)
      .subarray(Math.max(0, size - LOG_TAIL_BYTES))
      .toString('utf8');
    return text.trimEnd();
  } catch {
    return '(no log)';
  }
}
