// A throwaway PostgreSQL for tests: initdb into a temporary directory owned by the postgres
// user, a server on a free port of 127.0.0.1 (its unix socket in the same directory), a fresh
// database per caller, and everything removed afterwards: the server killed by its pid, the
// directory deleted, also when the test process exits early. PostgreSQL refuses to run as root,
// so its programs run through `runuser -u postgres`.
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { userInfo } from 'node:os';

/** PgCluster is a running throwaway server. */
export interface PgCluster {
  port: number;
  dir: string;
  pid: number;
  /** createDatabase makes an empty database and returns its postgres:// URL (TCP, 127.0.0.1). */
  createDatabase(name: string): string;
  /** socketUrl is name's URL through the unix socket, which a process in another network
   * namespace reaches too (a socket path is in the file system, not the network namespace). */
  socketUrl(name: string): string;
  /** stop kills the server and removes its directory; safe to call twice. */
  stop(): void;
}

/** pgBinDir finds PostgreSQL's programs: $WARREN_PG_BIN, or Debian's newest
 * /usr/lib/postgresql/N/bin. */
export function pgBinDir(): string | null {
  const env = process.env['WARREN_PG_BIN'];
  if (env) return existsSync(join(env, 'initdb')) ? env : null;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((v) => /^[0-9]+$/.test(v) && existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(root, versions[0], 'bin') : null;
}

/** postgresUnavailable says why no throwaway PostgreSQL can run here, or null when one can. */
export function postgresUnavailable(): string | null {
  if (!pgBinDir())
    return 'PostgreSQL is not installed (no /usr/lib/postgresql/N/bin/initdb; apt-get install postgresql)';
  if (userInfo().uid !== 0) return 'the PostgreSQL tests run the server as the postgres user, which needs root';
  if (spawnSync('id', ['-u', 'postgres']).status !== 0) return 'there is no postgres user (apt-get install postgresql)';
  return null;
}

function asPostgres(bin: string, args: string[]): string {
  return execFileSync('runuser', ['-u', 'postgres', '--', bin, ...args], { encoding: 'utf8', stdio: 'pipe' });
}

/** freePort asks the kernel for a free port on 127.0.0.1 (through a short-lived child, so this
 * stays synchronous). */
function freePort(): number {
  const out = execFileSync(
    process.execPath,
    ['-e', "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"],
    { encoding: 'utf8' },
  );
  return Number(out.trim());
}

const running = new Set<PgCluster>();
let hooked = false;

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const c of running) c.stop();
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const)
    process.once(sig, () => {
      for (const c of running) c.stop();
      process.exit(1);
    });
}

function killAndWait(pid: number): void {
  try {
    process.kill(pid, 'SIGQUIT');
  } catch {
    return;
  }
  const until = Date.now() + 10_000;
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    if (Date.now() > until) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        return;
      }
    }
    spawnSync('sleep', ['0.05']);
  }
}

/** startPostgres starts a throwaway server; it throws with the server's log if it cannot. */
export function startPostgres(): PgCluster {
  const bin = pgBinDir();
  const why = postgresUnavailable();
  if (!bin || why) throw new Error(`cannot start PostgreSQL: ${why ?? 'no binaries'}`);
  hookExit();
  const dir = mkdtempSync(join(tmpdir(), 'warren-pg-'));
  const pg = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  chownSync(dir, Number(pg.stdout.trim()), Number(gid.stdout.trim()));
  const data = join(dir, 'data');
  let pid = 0;
  const cluster: PgCluster = {
    port: 0,
    dir,
    pid: 0,
    createDatabase(name) {
      asPostgres(join(bin, 'createdb'), ['-h', dir, '-p', String(cluster.port), '-U', 'postgres', name]);
      return `postgres://postgres@127.0.0.1:${cluster.port}/${name}`;
    },
    socketUrl: (name) => `postgres://postgres@localhost:${cluster.port}/${name}?host=${encodeURIComponent(dir)}`,
    stop() {
      running.delete(cluster);
      if (pid > 0) killAndWait(pid);
      pid = 0;
      rmSync(dir, { recursive: true, force: true });
    },
  };
  running.add(cluster);
  try {
    asPostgres(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '-N']);
    cluster.port = freePort();
    // fsync off: the data is thrown away, and the tests measure the coordinator, not the disk.
    const opts = `-p ${cluster.port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50`;
    asPostgres(join(bin, 'pg_ctl'), ['-D', data, '-l', join(dir, 'server.log'), '-w', '-t', '30', '-o', opts, 'start']);
    pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
    cluster.pid = pid;
    return cluster;
  } catch (e) {
    const log = existsSync(join(dir, 'server.log')) ? readFileSync(join(dir, 'server.log'), 'utf8').slice(-2000) : '';
    cluster.stop();
    throw new Error(`cannot start PostgreSQL: ${(e as Error).message}\n${log}`);
  }
}
