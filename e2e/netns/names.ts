// Naming of everything an e2e run creates, and removal of what dead runs left behind.
// A name looks like `wre2e-<c><pid36>-<tag>`: <c> is a per-process counter (one per
// Topology) and <pid36> the creating process id in base 36, so cleanupStale can tell a
// leftover of a crashed run (pid gone) from a run in progress. The WireGuard conformance
// suite names its runs `wgc<c><pid36>-<tag>` instead, so its devices are told apart from
// the rest of the e2e runs at a glance; both families are cleaned up the same way.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** PREFIX starts the name of every namespace, link, socket and temp dir a run creates. */
export const PREFIX = 'wre2e-';

/** CONFORMANCE_PREFIX replaces PREFIX for the runs of the WireGuard conformance suite. */
export const CONFORMANCE_PREFIX = 'wgc';

/** IFNAMSIZ - 1: the longest Linux interface name. */
export const MAX_IFNAME = 15;

/** KEPT_LOGS_MARKER is written into a run's temp dir that WARREN_E2E_KEEP_LOGS=1 keeps. Its
 * process has ended, so without the marker the next run on the machine (anyone's) would
 * remove the logs as a dead run's leftover before they are read. */
export const KEPT_LOGS_MARKER = 'KEPT-LOGS';

const RUN_NAME = /^(?:wre2e-|wgc)([0-9a-z])([0-9a-z]+)(?:-|$)/;

let counter = 0;

/** newRunId returns a fresh run id for this process: counter char + pid in base 36. */
export function newRunId(): string {
  const c = (counter++ % 36).toString(36);
  return c + process.pid.toString(36);
}

/** runPid extracts the pid of the process that created a name, or null if it is not ours. */
export function runPid(name: string): number | null {
  const m = RUN_NAME.exec(name);
  if (!m || m[2] === undefined) return null;
  const pid = parseInt(m[2], 36);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
}

/** pidAlive reports whether a process with this pid exists and is not a zombie (a killed
 * test whose parent has not reaped it yet is as dead as it gets). */
export function pidAlive(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
}

function run(argv: string[]): string {
  const [cmd, ...args] = argv;
  if (cmd === undefined) return '';
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
  } catch {
    return '';
  }
}

/** listNamespaces returns the names of all named network namespaces. */
export function listNamespaces(): string[] {
  return run(['ip', 'netns', 'list'])
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n !== '');
}

/** killNamespacePids SIGKILLs every process still living in a namespace; deleting a
 * namespace does not stop its processes, and a lingering wireguard-go keeps its socket. */
export function killNamespacePids(ns: string): void {
  for (const line of run(['ip', 'netns', 'pids', ns]).split('\n')) {
    const pid = Number(line.trim());
    if (Number.isSafeInteger(pid) && pid > 1 && pid !== process.pid) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
}

/** deleteNamespaceSync kills what runs inside a namespace and deletes it; used by exit hooks,
 * which cannot wait for promises. */
export function deleteNamespaceSync(ns: string): void {
  killNamespacePids(ns);
  run(['ip', 'netns', 'del', ns]);
  // A scenario may give its namespace its own resolv.conf (for split DNS); it goes too.
  rmSync(join('/etc/netns', ns), { recursive: true, force: true });
}

const WG_SOCK_DIR = '/var/run/wireguard';

/** removeFiles deletes our wireguard-go sockets (and temp dirs if withTemp) that match; a temp
 * dir whose logs were kept on purpose stays. */
function removeFiles(match: (name: string) => boolean, withTemp: boolean): void {
  for (const dir of withTemp ? [WG_SOCK_DIR, tmpdir()] : [WG_SOCK_DIR]) {
    let names: string[] = [];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const n of names) {
      if (runPid(n) === null || !match(n) || existsSync(join(dir, n, KEPT_LOGS_MARKER))) continue;
      rmSync(join(dir, n), { recursive: true, force: true });
    }
  }
}

/** removeWgSocketsSync deletes the wireguard-go control sockets of one run (by its name
 * prefix, e.g. `wre2e-0abc`), which a SIGKILLed wireguard-go leaves behind. */
export function removeWgSocketsSync(runPrefix: string): void {
  removeFiles((n) => n.startsWith(`${runPrefix}-`), false);
}

/** cleanupStale removes namespaces, root-namespace links, wireguard-go sockets and temp dirs
 * (but not those whose logs were kept) left by e2e runs whose process has died. It returns the names of removed namespaces. */
export function cleanupStale(): string[] {
  const dead = (name: string): boolean => {
    const pid = runPid(name);
    return pid !== null && !pidAlive(pid);
  };
  const removed: string[] = [];
  for (const ns of listNamespaces()) {
    if (dead(ns)) {
      deleteNamespaceSync(ns);
      removed.push(ns);
    }
  }
  for (const line of run(['ip', '-o', 'link', 'show']).split('\n')) {
    const name = /^\d+:\s+([^:@\s]+)/.exec(line)?.[1];
    if (name !== undefined && dead(name)) run(['ip', 'link', 'del', name]);
  }
  removeFiles(dead, true);
  try {
    for (const d of readdirSync('/etc/netns'))
      if (dead(d)) rmSync(join('/etc/netns', d), { recursive: true, force: true });
  } catch {
    // no /etc/netns
  }
  return removed;
}
