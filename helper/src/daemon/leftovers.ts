// What the state directory says a helper has changed on the machine, read with the same checks
// crash recovery uses (state-file.ts, dns/split/state.ts, exitnode/state.ts,
// router/full-tunnel.ts), and the readable record of it beside the API socket
// (src-shared/wire/leftovers.ts). The state directory stays root-only, since stored maps and
// the like live there; the record carries only these facts, so that the app, run by a user
// without root, can tell that person what a crashed helper left and what to do.
import { readdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeFileAtomic } from '../../../src-shared/lib/atomic-file.js';
import { leftoverRecordPath, type Found } from '../../../src-shared/lib/helper-client/leftovers.js';
import type { Logger } from '../../../src-shared/lib/log.js';
import {
  LEFTOVER_RECORD_VERSION,
  type LeftoverExitNode,
  type LeftoverRecord,
  type Leftovers,
} from '../../../src-shared/wire/leftovers.js';
import { dnsStatePath, readDnsState } from '../dns/split/state.js';
import { exitNodeStatePath, readExitNodeState, type ExitNodeState } from '../exitnode/state.js';
import { fullTunnelStatePath, readFullTunnelState } from '../router/full-tunnel.js';
import { readState, statePath } from './state-file.js';

/** readStateDirLeftovers returns what stateDir records (nothing when it does not exist), or
 * 'unreadable' when this user may not read it (it is root-only). */
export function readStateDirLeftovers(stateDir: string): Found | 'unreadable' {
  try {
    readdirSync(stateDir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') return 'unreadable';
  }
  const helper = readState(stateDir);
  const dns = readDnsState(stateDir);
  const exit = readExitNodeState(stateDir);
  const ft = readFullTunnelState(stateDir);
  const leftovers: Leftovers = {
    adapter: helper?.adapter ?? null,
    routes: helper?.routes.length ?? 0,
    fullTunnel: ft ? { killSwitch: ft.killSwitch } : null,
    dns:
      dns === null
        ? null
        : dns.kind === 'resolv.conf'
          ? { kind: 'resolv.conf', path: dns.path, address: dns.address }
          : { kind: 'systemd-resolved', adapter: dns.adapter },
    exitNode: exit ? exitLeftovers(exit) : null,
  };
  // The pids of one helper's files agree; a file without one (0) says nothing.
  const pid = [helper?.pid, dns?.pid, exit?.pid, ft?.pid].find((p) => typeof p === 'number' && p > 0) ?? null;
  return { pid, leftovers, source: 'state-dir', where: stateDir, at: newestMtime(stateDir) };
}

// exitLeftovers copies the exit node's record, IPv6 fields only where the record has them.
function exitLeftovers(exit: ExitNodeState): LeftoverExitNode {
  return {
    table: exit.table,
    ipForward: exit.ipForward,
    ...(exit.ipv6Forward !== undefined ? { ipv6Forward: exit.ipv6Forward } : {}),
    ...(exit.acceptRa !== undefined && exit.acceptRa.length > 0 ? { acceptRa: [...exit.acceptRa] } : {}),
  };
}

// newestMtime is when the newest state file was written (Unix ms), or null when there is none.
function newestMtime(stateDir: string): number | null {
  let newest: number | null = null;
  for (const path of [
    statePath(stateDir),
    dnsStatePath(stateDir),
    exitNodeStatePath(stateDir),
    fullTunnelStatePath(stateDir),
  ]) {
    try {
      newest = Math.max(newest ?? 0, statSync(path).mtimeMs);
    } catch {
      // absent: says nothing
    }
  }
  return newest;
}

/** writeLeftoverRecord writes the record beside socketPath from what stateDir records now,
 * readable by everyone (the socket is, too: `everyone-reads`). It makes no directory: without
 * the socket's directory there is no record to keep. It returns the record written, or null. */
export function writeLeftoverRecord(
  socketPath: string,
  stateDir: string,
  pid: number | null,
  found: Found | 'unreadable' = readStateDirLeftovers(stateDir),
): LeftoverRecord | null {
  if (found === 'unreadable') return null;
  const record: LeftoverRecord = {
    version: LEFTOVER_RECORD_VERSION,
    pid: pid ?? found.pid,
    stateDir,
    updatedAt: Date.now(),
    leftovers: found.leftovers,
  };
  try {
    readdirSync(dirname(socketPath));
  } catch {
    return null;
  }
  writeFileAtomic(leftoverRecordPath(socketPath), `${JSON.stringify(record)}\n`, { mode: 0o644, exactMode: true });
  return record;
}

/** LeftoverRecorder keeps a running helper's record in step with its state files: sync after
 * every change rewrites it when what it says changed. A failure is logged once and never stops
 * the helper: the record only informs. */
export class LeftoverRecorder {
  private last = '';
  private warned = false;

  constructor(
    private readonly socketPath: string,
    private readonly stateDir: string,
    private readonly log: Logger,
  ) {}

  /** sync records this helper as the owner of what the state files say, or with ownPid false
   * whoever they name (what a crashed predecessor left that recovery could not undo). */
  sync(ownPid = true): void {
    const found = readStateDirLeftovers(this.stateDir);
    if (found === 'unreadable') return;
    const pid = ownPid ? process.pid : null;
    const key = JSON.stringify([pid, found.leftovers]);
    if (key === this.last) return;
    try {
      if (writeLeftoverRecord(this.socketPath, this.stateDir, pid, found) !== null) this.last = key;
    } catch (e) {
      if (!this.warned) {
        this.warned = true;
        this.log.warn(
          `cannot write ${leftoverRecordPath(this.socketPath)} (${(e as Error).message}): ` +
            'after a crash, only `sudo warren status` will say what this helper left behind',
        );
      }
    }
  }
}
