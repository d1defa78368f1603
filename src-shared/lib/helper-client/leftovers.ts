// Reading what a helper that no longer answers left behind, for the CLI and the app alike: the
// readable record beside the API socket (src-shared/wire/leftovers.ts), whether the helper it
// names still runs, and whether its adapter still exists. The record is believed only when it
// is a regular file owned by root or by this very user, as the socket itself (client.ts), so
// another user cannot plant a false alarm or hide a real one.
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, constants } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import {
  NO_LEFTOVERS,
  helperDownMessage,
  leftoverEffects,
  hasLeftovers,
  parseLeftoverRecord,
  type HelperDownReport,
  type LeftoverRecord,
  type Leftovers,
} from '../../wire/leftovers.js';

/** MAX_RECORD_BYTES bounds the record: a few hundred bytes in practice. */
const MAX_RECORD_BYTES = 64 * 1024;

/** leftoverRecordPath is the record beside a socket: /run/warren/warren.sock → /run/warren/warren.state.json. */
export function leftoverRecordPath(socketPath: string): string {
  return join(dirname(socketPath), `${basename(socketPath).replace(/\.sock$/, '')}.state.json`);
}

/** readLeftoverRecord returns the record beside socketPath, or null when it is absent, not to be
 * trusted (owner, type, size) or not well formed. */
export function readLeftoverRecord(
  socketPath: string,
  trustedOwners: readonly number[] = [0, ...(process.getuid ? [process.getuid()] : [])],
): LeftoverRecord | null {
  let fd: number;
  try {
    fd = openSync(leftoverRecordPath(socketPath), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return null;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || !trustedOwners.includes(st.uid) || st.size > MAX_RECORD_BYTES) return null;
    const buf = Buffer.alloc(st.size);
    let off = 0;
    while (off < buf.length) {
      const n = readSync(fd, buf, off, buf.length - off, off);
      if (n === 0) break;
      off += n;
    }
    return parseLeftoverRecord(JSON.parse(buf.subarray(0, off).toString('utf8')));
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/** processIsWarren says whether pid is alive and is a Warren helper (not a recycled pid). */
export function processIsWarren(pid: number): boolean {
  if (pid === process.pid) return false;
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes('warren') || cmdline.includes('cli/main');
  } catch {
    return false;
  }
}

/** adapterExists says whether a network interface of that name exists here (null where the
 * system does not list them in /sys/class/net). */
export function adapterExists(name: string): boolean | null {
  if (!existsSync('/sys/class/net')) return null;
  return existsSync(join('/sys/class/net', name));
}

/** Found is what a state directory or a record says: whose changes remain, and which, and
 * when it was last written (Unix ms; null if unknown). */
export interface Found {
  pid: number | null;
  leftovers: Leftovers;
  source: 'state-dir' | 'record';
  where: string;
  at: number | null;
}

/** bootTimeMs is when this Linux machine booted (btime in /proc/stat, proc(5)), or null elsewhere. */
export function bootTimeMs(): number | null {
  try {
    const m = /^btime (\d{1,15})$/m.exec(readFileSync('/proc/stat', 'utf8'));
    return m === null ? null : Number(m[1]) * 1000;
  } catch {
    return null;
  }
}

/** afterReboot is what of a record written before the last boot can still be in place: only
 * files. Routing rules, nftables tables, sysctls, the adapter and systemd-resolved's link
 * settings live in the kernel or in memory and went with the reboot; a resolv.conf line did not. */
export function afterReboot(l: Leftovers): Leftovers {
  return { ...NO_LEFTOVERS, dns: l.dns?.kind === 'resolv.conf' ? l.dns : null };
}

/** helperDownReport judges what was found (null: nothing readable) against the running system:
 * whether the recorded helper still runs and whether its adapter is still there. */
export function helperDownReport(
  found: Found | null,
  notRunning = 'the helper is not running',
  bootMs: number | null = bootTimeMs(),
): HelperDownReport {
  // What was recorded before this boot is judged by what survives a reboot, and its pid is
  // someone else's now.
  const stale = found !== null && found.at !== null && bootMs !== null && found.at < bootMs;
  const report: Omit<HelperDownReport, 'message'> = {
    running: false,
    stop: 'unknown',
    pid: found?.pid ?? null,
    source: found?.source ?? null,
    where: found?.where ?? null,
    leftovers: found === null ? null : stale ? afterReboot(found.leftovers) : found.leftovers,
    adapterPresent: null,
    effects: [],
  };
  if (report.leftovers !== null) {
    const l = report.leftovers;
    const alive = !stale && report.pid !== null && processIsWarren(report.pid);
    report.adapterPresent = l.adapter === null ? null : adapterExists(l.adapter);
    report.stop = !hasLeftovers(l) ? 'clean' : alive ? 'unanswered' : 'left-changes';
    report.effects = leftoverEffects(l, report.adapterPresent, !alive);
  }
  return { ...report, message: helperDownMessage(report, notRunning) };
}

/** helperDownFromRecord is the report an unprivileged caller can make: from the record alone. */
export function helperDownFromRecord(socketPath: string): HelperDownReport {
  const r = readLeftoverRecord(socketPath);
  return helperDownReport(r === null ? null : { ...foundInRecord(r), where: leftoverRecordPath(socketPath) });
}

/** foundInRecord is what a record says, as Found without its path. */
export function foundInRecord(r: LeftoverRecord): Omit<Found, 'where'> {
  return { pid: r.pid, leftovers: r.leftovers, source: 'record', at: r.updatedAt };
}
