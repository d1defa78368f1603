// The coordinator bench's instances (scripts/bench/coordinator.ts): one coordinator on SQLite,
// or two active-active coordinators sharing one PostgreSQL database (docs/coordinator.md
// "Several coordinators on one PostgreSQL database"): a throwaway cluster started as the store's
// tests start it (coordinator/src/testing/postgres.ts), coordinator A on it, and B with A's
// signing key, admin token and NAT secret copied into its data directory. Everything is removed
// afterwards, also when a start fails half-way or the bench is interrupted (Ctrl-C, SIGTERM).
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCoordinatorProcess, type CoordinatorProcess } from '../../coordinator/src/testing/testing.js';
import { postgresUnavailable, startPostgres, type PgCluster } from '../../coordinator/src/testing/postgres.js';

/** CoordinatorStore is where the bench's coordinators keep their state. */
export type CoordinatorStore = 'sqlite' | 'postgres';

/** Instances are the running coordinator processes of one run (the first is where the admin
 * calls go); stop ends them and removes what they needed. */
export interface Instances {
  store: CoordinatorStore;
  procs: CoordinatorProcess[];
  stop(): Promise<void>;
}

/** SHARED_SECRETS are the files every coordinator on one database must hold the same copy of. */
const SHARED_SECRETS = ['signing.key', 'admin.token', 'nat.key'];

// The coordinators' pids, killed on the way out when the bench is interrupted: an 'exit'
// handler can only run synchronous code, and a signal sent is all a child needs.
const live = new Set<number>();
let hooked = false;

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const pid of live) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
  // startPostgres hooks SIGINT and SIGTERM too (it stops the cluster, then exits); these make
  // sure the process exits, which runs the handler above, whichever start ran first.
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(130));
}

async function start(dataDir: string, args: string[], nodeArgs: string[]): Promise<CoordinatorProcess> {
  const p = await startCoordinatorProcess({
    dataDir,
    listen: '127.0.0.1:0',
    args: ['-v', '0', ...args],
    nodeArgs,
    timeoutMs: 60_000,
  });
  live.add(p.pid);
  return p;
}

async function stopAll(procs: CoordinatorProcess[]): Promise<void> {
  await Promise.all(
    procs.map(async (p) => {
      await p.stop();
      live.delete(p.pid);
    }),
  );
}

/** startInstances starts the run's coordinators: one on SQLite, or two on one PostgreSQL. */
export async function startInstances(
  store: CoordinatorStore,
  nodeArgs: string[],
  progress: (s: string) => void,
): Promise<Instances> {
  hookExit();
  const dir = mkdtempSync(join(tmpdir(), 'warren-coordbench-'));
  const procs: CoordinatorProcess[] = [];
  let pg: PgCluster | null = null;
  const stop = async (): Promise<void> => {
    await stopAll(procs);
    pg?.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    if (store === 'sqlite') {
      procs.push(await start(join(dir, 'data'), [], nodeArgs));
      return { store, procs, stop };
    }
    const why = postgresUnavailable();
    if (why) throw new Error(`--coordinator-store postgres needs a local PostgreSQL: ${why}`);
    pg = startPostgres();
    const url = pg.createDatabase('warren_bench');
    progress(`PostgreSQL on port ${pg.port} (${pg.dir}); coordinators A and B on it`);
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    procs.push(await start(a, ['--store', url], nodeArgs));
    mkdirSync(b, { recursive: true, mode: 0o700 });
    for (const f of SHARED_SECRETS) copyFileSync(join(a, f), join(b, f));
    procs.push(await start(b, ['--store', url], nodeArgs));
    return { store, procs, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
