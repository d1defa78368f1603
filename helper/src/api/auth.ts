// Who may change things through the local API (DESIGN.md convention 6, tailscale ipn/ipnauth):
// root and members of the operator group. The caller's uid, gid and pid come from SO_PEERCRED;
// its supplementary groups from /proc/<pid>/status, read while the connection is open. Both
// files are read defensively and with a size bound: /etc/group can be large on some systems,
// and a /proc entry of a process that just exited simply vanishes.
import { closeSync, openSync, readSync } from 'node:fs';

/** DEFAULT_OPERATOR_GROUP is the group whose members may change things without being root. */
export const DEFAULT_OPERATOR_GROUP = 'warren';

const GROUP_FILE_MAX_BYTES = 4 * 1024 * 1024;
const PROC_STATUS_MAX_BYTES = 64 * 1024;
const MAX_GROUPS = 65_536;

/** PeerCaller is what SO_PEERCRED reports about the other end of a Unix socket. */
export interface PeerCaller {
  pid: number;
  uid: number;
  gid: number;
}

/** readBounded reads at most max bytes of a file as UTF-8; null if it cannot be read. */
function readBounded(path: string, max: number): string | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    const buf = Buffer.alloc(max);
    let off = 0;
    while (off < max) {
      const n = readSync(fd, buf, off, max - off, null);
      if (n === 0) break;
      off += n;
    }
    return buf.subarray(0, off).toString('utf8');
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/** parseGroupGid finds a group's gid in /etc/group text (name:password:gid:members), or null. */
export function parseGroupGid(text: string, name: string): number | null {
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    if (fields.length < 3 || fields[0] !== name) continue;
    const gid = fields[2]!;
    if (!/^[0-9]{1,10}$/.test(gid)) return null;
    const n = Number(gid);
    return n <= 0xffffffff ? n : null;
  }
  return null;
}

/** groupGid resolves a group name through the group file; null when there is no such group. */
export function groupGid(name: string, groupFile = '/etc/group'): number | null {
  const text = readBounded(groupFile, GROUP_FILE_MAX_BYTES);
  return text === null ? null : parseGroupGid(text, name);
}

/**
 * parseProcStatusGroups returns the supplementary groups in a /proc/<pid>/status text, or null
 * unless its Uid line names uid (real, effective, saved or filesystem): that check means a pid
 * reused by another user's process after the caller exited is not believed.
 */
export function parseProcStatusGroups(text: string, uid: number): number[] | null {
  let uidOk = false;
  let groups: number[] | null = null;
  for (const line of text.split('\n')) {
    if (line.startsWith('Uid:')) {
      uidOk = line
        .slice(4)
        .trim()
        .split(/\s+/)
        .some((f) => f === String(uid));
    } else if (line.startsWith('Groups:')) {
      const fields = line
        .slice(7)
        .trim()
        .split(/\s+/)
        .filter((f) => f !== '');
      if (fields.length > MAX_GROUPS || !fields.every((f) => /^[0-9]{1,10}$/.test(f))) return null;
      groups = fields.map(Number);
    }
  }
  return uidOk ? (groups ?? []) : null;
}

/** supplementaryGroups reads a live process's groups; null when they cannot be trusted. */
export function supplementaryGroups(caller: PeerCaller, procRoot = '/proc'): number[] | null {
  if (!Number.isInteger(caller.pid) || caller.pid <= 0) return null;
  const text = readBounded(`${procRoot}/${caller.pid}/status`, PROC_STATUS_MAX_BYTES);
  return text === null ? null : parseProcStatusGroups(text, caller.uid);
}

/** AccessCheck tells whether a caller may change things, and why not. */
export interface AccessCheck {
  privileged: boolean;
  group: string;
  groupGid: number | null;
}

/** checkAccess decides for one caller: root, or operator group as primary or supplementary group. */
export function checkAccess(
  caller: PeerCaller | null,
  group: string,
  deps: { groupFile?: string; procRoot?: string } = {},
): AccessCheck {
  const gid = groupGid(group, deps.groupFile);
  if (caller === null) return { privileged: false, group, groupGid: gid };
  if (caller.uid === 0) return { privileged: true, group, groupGid: gid };
  if (gid === null) return { privileged: false, group, groupGid: gid };
  if (caller.gid === gid) return { privileged: true, group, groupGid: gid };
  const groups = supplementaryGroups(caller, deps.procRoot);
  return { privileged: groups !== null && groups.includes(gid), group, groupGid: gid };
}

/** deniedMessage words a 403 so the person knows what to do. */
export function deniedMessage(a: AccessCheck): string {
  if (a.groupGid === null) {
    return (
      `this needs root: the operator group "${a.group}" does not exist on this system ` +
      `(an administrator can create it with \`groupadd ${a.group}\` and add you to it)`
    );
  }
  return (
    `this needs root or membership in the "${a.group}" group: ` +
    `ask an administrator to run \`usermod -aG ${a.group} YOUR_USER\`, then log in again`
  );
}
