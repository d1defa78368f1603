// The helper's state file records what a running helper has set up on the machine, so that
// after a crash (kill -9, power loss) the next start removes exactly that and nothing else.
import { join } from 'node:path';
import { readJsonState, removeQuietly, writeJsonState } from '../../../src-shared/lib/atomic-file.js';
import { processIsWarren } from '../../../src-shared/lib/helper-client/leftovers.js';
import { systemTun, type TunDriver } from '../tun/index.js';
import { systemRouter, type Router } from '../router/index.js';
import type { Logger } from '../../../src-shared/lib/log.js';

/** HelperState is what a running helper has changed on the machine. */
export interface HelperState {
  pid: number;
  startedAt: number;
  adapter: string;
  /** routes are `ip route` specs added outside the adapter ("PREFIX dev ADAPTER", none yet);
   * the prefix gives the family (router/router-linux.ts recordedRouteArgs), so IPv6 routes need
   * no marker and older records replay unchanged. */
  routes: string[];
}

const FILE = 'helper.json';

/** statePath is the state file inside the state directory. */
export function statePath(stateDir: string): string {
  return join(stateDir, FILE);
}

/** readState returns the recorded state, or null if there is none or it is unreadable. */
export function readState(stateDir: string): HelperState | null {
  const v = readJsonState(statePath(stateDir)) as Partial<HelperState> | null;
  if (v === null || typeof v !== 'object') return null;
  if (typeof v.pid !== 'number' || typeof v.adapter !== 'string' || !Array.isArray(v.routes)) return null;
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(v.adapter)) return null;
  return {
    pid: v.pid,
    startedAt: Number(v.startedAt) || 0,
    adapter: v.adapter,
    routes: v.routes.filter((r) => typeof r === 'string'),
  };
}

/** CrashCleanup is what recoverFromCrash asks of the OS: the daemon's DaemonEnv, or fakes. */
export interface CrashCleanup {
  tun: Pick<TunDriver, 'exists' | 'remove'>;
  router: Pick<Router, 'removeRecordedRoute'>;
}

/**
 * recoverFromCrash undoes what a helper that died without cleaning up left behind. It refuses
 * to touch anything if that helper is still running.
 */
export async function recoverFromCrash(
  stateDir: string,
  log: Logger,
  os: CrashCleanup = { tun: systemTun, router: systemRouter },
): Promise<void> {
  const old = readState(stateDir);
  if (old === null) return;
  if (processIsWarren(old.pid)) {
    throw new Error(
      `another Warren helper (pid ${old.pid}) is running with state directory ${stateDir}; ` +
        'stop it first, or give this one its own --state-dir',
    );
  }
  for (const route of old.routes) os.router.removeRecordedRoute(route);
  if (os.tun.exists(old.adapter)) os.tun.remove(old.adapter);
  // The kernel unregisters a dead process's TUN device asynchronously. A new adapter of the same
  // name made before that finishes can be attached to the dying one and vanish with it, taking
  // its address and routes along, so wait until the name is really free.
  for (let i = 0; i < 150 && os.tun.exists(old.adapter); i++) await new Promise((r) => setTimeout(r, 20));
  if (os.tun.exists(old.adapter))
    throw new Error(
      `the adapter ${old.adapter} of a crashed helper (pid ${old.pid}) does not go away; remove it with \`ip link del ${old.adapter}\``,
    );
  clearState(stateDir);
  log.warn(
    `cleaned up after a helper (pid ${old.pid}) that did not stop cleanly: adapter ${old.adapter}` +
      (old.routes.length ? `, ${old.routes.length} route(s)` : ''),
  );
}

/** writeState records the state atomically (src-shared/lib/atomic-file.ts). */
export function writeState(stateDir: string, state: HelperState): void {
  writeJsonState(stateDir, FILE, state);
}

/** clearState removes the state file after a clean stop. */
export function clearState(stateDir: string): void {
  removeQuietly(statePath(stateDir));
}
