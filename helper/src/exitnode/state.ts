// STATE_DIR/exitnode.json records what an exit node changed on the machine (its nftables table,
// the ip_forward value it found and, with IPv6 routes, the IPv6 forwarding value and the
// interfaces whose accept_ra it raised), written BEFORE the change, so that after a crash the
// next start undoes exactly that. It is removed after a clean undo. Files written before IPv6
// exit routes existed lack the IPv6 fields: nothing of IPv6 to restore.
import { join } from 'node:path';
import { readJsonState, removeQuietly, writeJsonState } from '../../../src-shared/lib/atomic-file.js';
import { isSafeIfname, MAX_ACCEPT_RA_INTERFACES } from './sysctl.js';

/** ExitNodeState is one applied exit node. ipForward is the value found before we set 1. */
export interface ExitNodeState {
  pid: number;
  /** table is the nft table, or with backend 'iptables' the base name of our two chains. */
  table: string;
  ipForward: '0' | '1';
  backend?: 'nft' | 'iptables';
  /** ipv6Forward is net.ipv6.conf.all.forwarding as found; absent when IPv6 was not touched. */
  ipv6Forward?: '0' | '1';
  /** acceptRa are the interfaces whose accept_ra we raised from 1 to 2 (sysctl.ts). */
  acceptRa?: string[];
}

const FILE = 'exitnode.json';

/** TABLE_NAME_RE is what an nft table name of ours looks like; anything else is refused. */
export const TABLE_NAME_RE = /^warren_exit_[A-Za-z0-9_]{1,15}$/;

/** exitNodeStatePath is the state file inside the state directory. */
export function exitNodeStatePath(stateDir: string): string {
  return join(stateDir, FILE);
}

/** readExitNodeState returns the recorded state, or null if absent or not trustworthy. */
export function readExitNodeState(stateDir: string): ExitNodeState | null {
  const v = readJsonState(exitNodeStatePath(stateDir)) as Record<string, unknown> | null;
  if (v === null || typeof v !== 'object') return null;
  const backend = v.backend === 'iptables' ? 'iptables' : 'nft';
  const nameRe = backend === 'iptables' ? /^WRN-[A-Za-z0-9_.-]{1,15}$/ : TABLE_NAME_RE;
  if (typeof v.table !== 'string' || !nameRe.test(v.table)) return null;
  if (v.ipForward !== '0' && v.ipForward !== '1') return null;
  const state: ExitNodeState = {
    pid: typeof v.pid === 'number' ? v.pid : 0,
    table: v.table,
    ipForward: v.ipForward,
    backend,
  };
  if (v.ipv6Forward !== undefined) {
    if (v.ipv6Forward !== '0' && v.ipv6Forward !== '1') return null;
    state.ipv6Forward = v.ipv6Forward;
  }
  if (v.acceptRa !== undefined) {
    // The names become /proc/sys paths on recovery: one unsafe name makes the file untrusted.
    const ra = v.acceptRa;
    if (!Array.isArray(ra) || ra.length > MAX_ACCEPT_RA_INTERFACES || !ra.every(isSafeIfname)) return null;
    state.acceptRa = [...ra];
  }
  return state;
}

/** writeExitNodeState records the state atomically (temp file, fsync, rename). */
export function writeExitNodeState(stateDir: string, state: ExitNodeState): void {
  writeJsonState(stateDir, FILE, state);
}

/** clearExitNodeState removes the state file. */
export function clearExitNodeState(stateDir: string): void {
  removeQuietly(exitNodeStatePath(stateDir));
}
